"""The dataset folder's own bookkeeping: settings (``dataset.json``) and a resume journal.

``dataset.json`` records the settings and a fingerprint of the sources. Running the same command
again finds the same settings and either does nothing (the dataset is complete) or resumes. Different
settings are refused unless ``overwrite`` is given, and ``overwrite`` only ever deletes what geocolor
wrote: a non-empty folder that is not a geocolor dataset is never touched.

``.journal.jsonl`` has one line per processed chip window (kept with its manifest record, or the
reason it was skipped), appended as the build goes. A resumed build skips every window already in
the journal whose files are all on disk, so an interrupted build continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from geocolor import __version__
from geocolor.dataset.io import read_json, write_json
from geocolor.errors import OutputExistsError

log = logging.getLogger(__name__)

STATE = "dataset.json"
JOURNAL = ".journal.jsonl"
FORMAT = "geocolor-dataset"
# Everything build_dataset may write in OUT; overwrite removes only these.
OWNED = ("paired", "unpaired", "chips", "manifest.csv", "stats.json", "stats.png", "preview.png", STATE, JOURNAL)


def fingerprint(files: list[str]) -> str:
    """A digest of the source files' paths, sizes and modification times."""
    h = hashlib.sha1()
    for f in sorted(files):
        st = os.stat(f)
        h.update(f"{os.path.abspath(f)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _first_difference(old: Any, new: Any, where: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return _first_difference(old.get(key), new.get(key), f"{where}.{key}".lstrip("."))
    return f"{where or 'settings'}: {old!r} then, {new!r} now"


def inspect(root: Path, settings: dict[str, Any], digest: str, overwrite: bool) -> str:
    """What to do with OUT, writing nothing: ``"fresh"``, ``"replace"`` (overwrite), ``"resume"`` or ``"done"``.

    Raises ``OutputExistsError`` for a folder that is not a geocolor dataset, or one built with other
    settings when ``overwrite`` is not given.
    """
    if root.exists() and not root.is_dir():
        raise OutputExistsError(f"{root} exists and is not a folder; choose another output folder")
    if not root.is_dir() or not any(root.iterdir()):
        return "fresh"
    if not (root / STATE).is_file():
        raise OutputExistsError(f"{root} is not empty and is not a geocolor dataset; choose another (or an empty) folder")
    state = read_json(root / STATE)
    if overwrite:
        return "replace"
    if state.get("settings") == settings and state.get("sources") == digest:
        return "done" if state.get("complete") else "resume"
    why = _first_difference(state.get("settings"), settings) if state.get("sources") == digest else "the source files changed"
    raise OutputExistsError(f"{root} holds a dataset built with different settings ({why}); pass --overwrite or choose another folder")


def start(root: Path, mode: str, settings: dict[str, Any], digest: str) -> None:
    """Make OUT ready for writing (clearing the old dataset for ``"replace"``) and mark it incomplete."""
    if mode == "replace":
        clear(root)
    root.mkdir(parents=True, exist_ok=True)
    write_state(root, settings, digest, complete=False)


def clear(root: Path) -> None:
    """Remove what geocolor wrote in ``root`` (and nothing else)."""
    for name in OWNED:
        p = root / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    log.info("removed the previous dataset in %s", root)


def write_state(root: Path, settings: dict[str, Any], digest: str, complete: bool, **extra: Any) -> None:
    write_json(root / STATE, {"format": FORMAT, "geocolor": __version__, "complete": complete,
                              "settings": settings, "sources": digest, **extra})


class Journal:
    """Append-only record of processed chip windows (JSON lines); a torn last line is ignored."""

    def __init__(self, root: Path) -> None:
        self.path = root / JOURNAL
        self._file: Any = None

    def load(self) -> dict[str, dict[str, Any]]:
        entries: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return entries
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                entries[rec["id"]] = rec
        return entries

    def append(self, record: dict[str, Any]) -> None:
        if self._file is None:
            torn = False
            if self.path.exists() and self.path.stat().st_size > 0:
                with open(self.path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    torn = f.read(1) != b"\n"
            self._file = open(self.path, "a", encoding="utf-8")  # closed in close()
            if torn:
                self._file.write("\n")
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
