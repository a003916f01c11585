"""Build the installable QGIS plugin zip: ``python -m geocolor.plugin_zip [OUT.zip]``.

The zip holds one top-level folder, ``geocolor_qgis/``, as QGIS's "Install from ZIP" expects, with the
plugin's sources, ``metadata.txt`` and icon; caches and editor leftovers are skipped. The default output
is ``dist/geocolor_qgis-<version>.zip`` (the version from ``metadata.txt``).
"""

from __future__ import annotations

import argparse
import configparser
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

PLUGIN_NAME = "geocolor_qgis"
PLUGIN_DIR = Path(__file__).resolve().parent.parent / "qgis_plugin" / PLUGIN_NAME
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".orig", ".rej", ".swp"}


def plugin_version(plugin_dir: Path = PLUGIN_DIR) -> str:
    """``version`` of ``[general]`` in the plugin's ``metadata.txt``."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(plugin_dir / "metadata.txt", encoding="utf-8")
    return parser.get("general", "version")


def plugin_files(plugin_dir: Path = PLUGIN_DIR) -> list[Path]:
    """The files that go into the zip, sorted, relative to ``plugin_dir``."""
    files = []
    for path in sorted(plugin_dir.rglob("*")):
        rel = path.relative_to(plugin_dir)
        if path.is_file() and not SKIP_DIRS.intersection(rel.parts) and path.suffix not in SKIP_SUFFIXES:
            files.append(rel)
    return files


def build_zip(out: Path | None = None, plugin_dir: Path = PLUGIN_DIR) -> Path:
    """Write the plugin zip to ``out`` (default ``dist/geocolor_qgis-<version>.zip``); return its path."""
    if not (plugin_dir / "metadata.txt").exists():
        raise FileNotFoundError(f"{plugin_dir / 'metadata.txt'} not found; run this from a geocolor source checkout")
    out = out or plugin_dir.parent.parent / "dist" / f"{PLUGIN_NAME}-{plugin_version(plugin_dir)}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in plugin_files(plugin_dir):
            archive.write(plugin_dir / rel, f"{PLUGIN_NAME}/{rel.as_posix()}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m geocolor.plugin_zip", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="output zip (default: dist/geocolor_qgis-<version>.zip)")
    path = build_zip(parser.parse_args(argv).out)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
