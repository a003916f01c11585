"""The output folder of a harvest, and how a harvest resumes from it.

Layout of ``OUT/``::

    tiles/<zoom>/<col>/<row>.tif   one georeferenced RGBA GeoTIFF per tile with data
    harvest-journal.jsonl          append-only log: a header naming the source, then one line per tile done
    manifest.json                  every tile of the AOI with its status, bounds, CRS, URL and checksum
    tiles.vrt                      a mosaic of the tiles that QGIS/GDAL open as one layer

What survives a crash is what is on disk: a tile file exists only once complete (see
:mod:`geocolor.harvest.tiles`), and the journal remembers the tiles that have no file (blank,
missing). A torn last journal line is ignored. Manifest and VRT are rebuilt at the end of every run,
so a run killed at any moment and then re-run ends exactly as an uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from geocolor.aoi import Bounds
from geocolor.errors import GeocolorIOError, OutputExistsError
from geocolor.harvest.grids import TileKey
from geocolor.harvest.tiles import TEMP_SUFFIX, TileStatus

log = logging.getLogger(__name__)

TILES_DIR = "tiles"
JOURNAL = "harvest-journal.jsonl"
MANIFEST = "manifest.json"
VRT = "tiles.vrt"


@dataclass
class TileRecord:
    """What became of one tile. ``path`` (relative to OUT), ``sha256`` and ``size`` are set for ``ok``."""

    key: TileKey
    status: TileStatus
    url: str
    bounds: Bounds
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(matrix=self.key.matrix, col=self.key.col, row=self.key.row, status=self.status.value, bounds=list(self.bounds))
        del d["key"]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TileRecord:
        return cls(
            key=TileKey(str(d["matrix"]), int(d["col"]), int(d["row"])), status=TileStatus(d["status"]), url=d["url"],
            bounds=tuple(d["bounds"]), path=d.get("path"), sha256=d.get("sha256"), size=d.get("size"),
            message=d.get("message", ""),
        )


def safe_part(text: str) -> str:
    """A tile matrix identifier made safe as one path component (``EPSG:3857:16`` -> ``EPSG_3857_16``).

    Separators become ``_``, and an id of dots only (``..``, ``.``) has its dots replaced, so a hostile
    capabilities document cannot send tiles outside the harvest folder.
    """
    part = re.sub(r"[^\w.\-]", "_", text) or "_"
    return part.replace(".", "_") if set(part) == {"."} else part


class OutputStore:
    """The harvest folder: where tiles go, the journal, and the guard against mixing sources."""

    def __init__(self, root: Path, identity: dict[str, Any], overwrite: bool = False) -> None:
        self.root = Path(root)
        self.identity = identity
        self.overwrite = overwrite
        self._journal: IO[str] | None = None

    def tile_relpath(self, key: TileKey) -> str:
        return f"{TILES_DIR}/{safe_part(key.matrix)}/{key.col}/{key.row}.tif"

    def tile_path(self, key: TileKey) -> Path:
        return self.root / self.tile_relpath(key)

    def open(self) -> dict[TileKey, TileRecord]:
        """Check the folder is ours for this source (or clear it on overwrite), tidy it, read the journal."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GeocolorIOError(f"cannot use {self.root} as the output folder: {e.strerror or e}") from e
        journal = self.root / JOURNAL
        header, records = read_journal(journal) if journal.exists() else (None, {})
        ours = [self.root / n for n in (TILES_DIR, MANIFEST, VRT, JOURNAL) if (self.root / n).exists()]
        if header is None and not records and ours == [journal]:
            journal.unlink()  # a run killed before its header was complete
            ours = []
        if ours and header != self.identity:
            if not self.overwrite:
                why = "holds tiles from another source or zoom" if header else f"already holds {ours[0].name}"
                raise OutputExistsError(f"{self.root} {why}; use another --out or --overwrite")
            self._clear(ours)
            header, records = None, {}
        elif ours and self.overwrite:
            self._clear(ours)
            header, records = None, {}
        removed = remove_temp_files(self.root / TILES_DIR)
        if removed:
            log.info("removed %d unfinished temporary tile file(s) left by an interrupted run", removed)
        self._journal = open(journal, "a+", encoding="utf-8")
        self._journal.seek(0, os.SEEK_END)
        if self._journal.tell() and not _ends_with_newline(journal):
            self._journal.write("\n")  # seal a torn last line
        if header is None:
            self._write({"type": "header", "identity": self.identity})
        return records

    def _clear(self, paths: list[Path]) -> None:
        log.info("--overwrite: removing the previous harvest in %s", self.root)
        for p in paths:
            shutil.rmtree(p) if p.is_dir() else p.unlink()

    def append(self, record: TileRecord) -> None:
        """Journal one finished tile (the main thread calls this; lines are flushed one by one)."""
        self._write({"type": "tile", **record.to_json()})

    def _write(self, obj: dict[str, Any]) -> None:
        if self._journal is None:
            raise RuntimeError("OutputStore.open() first")
        self._journal.write(json.dumps(obj, sort_keys=True) + "\n")
        self._journal.flush()

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def read_journal(path: Path) -> tuple[dict[str, Any] | None, dict[TileKey, TileRecord]]:
    """The header's identity and the last record of each tile; torn or foreign lines are skipped."""
    header: dict[str, Any] | None = None
    records: dict[TileKey, TileRecord] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                obj = json.loads(line)
                if obj.get("type") == "header" and header is None:
                    header = obj["identity"]
                elif obj.get("type") == "tile":
                    rec = TileRecord.from_json(obj)
                    records[rec.key] = rec
            except (ValueError, KeyError, TypeError, AttributeError):
                log.debug("skipping unreadable journal line in %s", path)
    return header, records


def remove_temp_files(folder: Path) -> int:
    """Delete the temporary files of tiles whose writing was interrupted; how many there were."""
    if not folder.is_dir():
        return 0
    count = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                os.unlink(os.path.join(dirpath, name))
                count += 1
    return count
