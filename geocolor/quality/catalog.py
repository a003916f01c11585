"""The leave-source-out catalogue: which real sources train, which validate, which are unseen ground.

A catalogue (``pipelines/quality/catalog.yaml``) names every source of the shared imagery with its
files (globs under ``root``), its ground sample distance, its licence and its role: ``train``,
``val`` (held out of training, used to pick checkpoints) or ``test`` (held out of training and of
checkpoint choice). Whole sources are held out, never parts of a raster that also trains, and
``check_disjoint`` refuses a catalogue where any file would be both trained on and held out.

``training_sources`` turns the train sources into the trainer's ``SourceConfig`` list, resampled to
several ground sample distances (``gsds``) so every kind of ground is seen at every scale; weights
are spread over a source's files by area, so a source's share of the batches does not depend on how
many files it is cut into.
"""

from __future__ import annotations

import glob
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geocolor.errors import ConfigError

ROLES = ("train", "val", "test")


@dataclass(frozen=True)
class CatalogSource:
    name: str
    files: tuple[str, ...]  # absolute paths, sorted
    gsd: float  # metres per pixel on the ground
    role: str
    weight: float = 1.0
    licence: str = "not stated"
    cover: str = ""


@dataclass
class Catalog:
    path: Path
    root: Path
    sources: list[CatalogSource] = field(default_factory=list)

    def by_role(self, *roles: str) -> list[CatalogSource]:
        return [s for s in self.sources if s.role in roles]

    def source(self, name: str) -> CatalogSource:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"{self.path}: no source named {name!r}; known: {', '.join(s.name for s in self.sources)}")


def _source(entry: Any, root: Path, where: str) -> CatalogSource:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a mapping")
    unknown = set(entry) - {"name", "files", "gsd", "role", "weight", "licence", "cover"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        name, patterns, gsd, role = str(entry["name"]), entry["files"], float(entry["gsd"]), str(entry["role"])
    except KeyError as e:
        raise ConfigError(f"{where} needs {e.args[0]!r}") from None
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: gsd must be a number of metres") from None
    if role not in ROLES:
        raise ConfigError(f"{where} ({name}): role must be one of {', '.join(ROLES)}, got {role!r}")
    if not (isinstance(patterns, list) and patterns) or not math.isfinite(gsd) or gsd <= 0:
        raise ConfigError(f"{where} ({name}): files must be a non-empty list and gsd a positive number")
    files: set[str] = set()
    for pattern in patterns:
        found = glob.glob(str(root / pattern))
        if not found:
            raise ConfigError(f"{where} ({name}): no file matches {root / pattern}")
        files.update(str(Path(f).resolve()) for f in found)
    weight = float(entry.get("weight", 1.0))
    if not weight > 0:
        raise ConfigError(f"{where} ({name}): weight must be positive")
    return CatalogSource(
        name, tuple(sorted(files)), gsd, role, weight, str(entry.get("licence", "not stated")), str(entry.get("cover", ""))
    )


def load_catalog(path: str | Path, root: str | Path | None = None) -> Catalog:
    """Read a catalogue; ``root`` (else the file's ``root``, relative to the file) is where its globs start."""
    import yaml

    path = Path(path)
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except OSError as e:
        raise ConfigError(f"cannot read catalogue {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(tree, dict) or not isinstance(tree.get("sources"), list):
        raise ConfigError(f"{path} must hold a mapping with a 'sources' list")
    base = Path(root) if root is not None else (path.parent / str(tree.get("root", "."))).resolve()
    if not base.is_dir():
        raise ConfigError(f"{path}: data root {base} is not a folder")
    cat = Catalog(path, base, [_source(e, base, f"{path.name}: sources[{i}]") for i, e in enumerate(tree["sources"])])
    names = [s.name for s in cat.sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: source names must be unique")
    check_disjoint(cat)
    return cat


def check_disjoint(cat: Catalog) -> None:
    """No file may train and also be held out (as val or test); no file may sit in two sources."""
    owner: dict[str, CatalogSource] = {}
    for s in cat.sources:
        for f in s.files:
            if f in owner:
                raise ConfigError(f"{f} is in both {owner[f].name} ({owner[f].role}) and {s.name} ({s.role}); a file belongs to one source")
            owner[f] = s


def scales_for(gsd: float, gsds: list[float], min_side: int, tile: int) -> list[float]:
    """Resampling factors: the native scale, then each target ground sample distance coarser than it.

    Only downsampling, and only targets at least 1.4x the native gsd (a target next to the native one
    adds nothing), and only where the resampled raster still holds a tile.
    """
    out = [1.0]
    for target in sorted(gsds):
        if target < gsd * 1.4:
            continue
        s = round(gsd / target, 4)
        if min_side * s >= tile and s not in out:
            out.append(s)
    return out


def _size(path: str) -> tuple[int, int]:
    import rasterio

    with rasterio.open(path) as ds:
        return ds.height, ds.width


def training_sources(cat: Catalog, gsds: list[float], tile: int, roles: tuple[str, ...] = ("train",)) -> list[dict[str, Any]]:
    """SourceConfig mappings for every file of the sources with ``roles``, at every target gsd.

    A source's ``weight`` is shared among its files by area (pixels at native resolution), then
    equally among a file's scales.
    """
    out: list[dict[str, Any]] = []
    for s in cat.by_role(*roles):
        sizes = {f: _size(f) for f in s.files}
        total = sum(h * w for h, w in sizes.values())
        for f, (h, w) in sizes.items():
            scales = scales_for(s.gsd, gsds, min(h, w), tile)
            share = s.weight * (h * w) / total / len(scales)
            out.append({"path": f, "weight": share, "scales": scales, "holdout": "none", "split": "train", "group": s.name})
    return out


def held_out_sources(cat: Catalog, roles: tuple[str, ...] = ("val",)) -> list[dict[str, Any]]:
    """SourceConfig mappings that put the files of ``roles`` in the trainer's held-out set only."""
    return [
        {"path": f, "weight": 1.0, "scales": [1.0], "holdout": "none", "split": "test", "group": s.name}
        for s in cat.by_role(*roles)
        for f in s.files
    ]


def provenance(cat: Catalog, roles: tuple[str, ...] = ("train",)) -> list[dict[str, Any]]:
    """What a model file records of its training data: source names, licences, gsd, file counts."""
    return [
        {"source": s.name, "role": s.role, "licence": s.licence, "gsd_m": s.gsd, "files": len(s.files), "cover": s.cover}
        for s in cat.by_role(*roles)
    ]
