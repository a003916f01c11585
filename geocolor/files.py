"""Atomic file output shared by every writer: a file appears whole, with ordinary permissions, or not at all.

A writer writes to a temporary file beside the target (same folder, so the same file system) and
renames it over the target with ``os.replace``, which is atomic; a crash or an exception leaves the
target as it was. ``atomic_path`` is the one mechanism::

    with atomic_path(out / "model.pt", fsync=True) as tmp:
        torch.save(payload, tmp)        # anything that writes a file at ``tmp``

``write_bytes_atomic``, ``write_text_atomic`` and ``write_json_atomic`` cover the common cases.

Temp files are named ``.NAME.XXXXXXXX.tmp`` (``XXXXXXXX`` random; ``suffix`` changes the ending) and
get the permissions a plainly created file would have (``0o666`` less the umask), not ``mkstemp``'s
private ``0o600``. A writing or renaming failure becomes a one-line ``GeocolorIOError`` naming the
target (still an ``OSError``); other exceptions pass through unchanged. Either way the temp file is
removed.

The colour and inpainting GeoTIFFs have their own temp protocol (a raw file, then a COG, then the
rename; ``geocolor.raster.finalize``), named per process so a later run can remove a killed run's
temp files.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from geocolor.errors import GeocolorError, GeocolorIOError
from geocolor.types import PathLike

TEMP_SUFFIX = ".tmp"


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux ``/proc``).

    Elsewhere it is read by setting and restoring it under a lock (with a strict mask in between),
    so writer threads never see a permissive umask.
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        umask = os.umask(0o077)
        os.umask(umask)
    return umask


def make_readable(path: PathLike) -> None:
    """Give a temp file the permissions a normally created file would have (``mkstemp`` makes it 0600)."""
    os.chmod(path, 0o666 & ~current_umask())


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


@contextmanager
def atomic_path(path: PathLike, *, suffix: str = TEMP_SUFFIX, fsync: bool = False) -> Iterator[Path]:
    """Yield a temp path beside ``path``; when the block ends normally it is renamed onto ``path``.

    The temp file exists (empty) when the block starts; the block may overwrite or replace it. On any
    exception it is removed and ``path`` is left untouched. ``fsync=True`` flushes the file to disk
    before the rename (for files a crash must not lose: model files, harvest tiles). The parent
    folder is created if needed.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    except OSError as e:
        raise GeocolorIOError(f"cannot write {target}: {e.strerror or e}") from e
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            _fsync(tmp)
        make_readable(tmp)
        os.replace(tmp, target)
    except GeocolorError:
        tmp.unlink(missing_ok=True)
        raise
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise GeocolorIOError(f"cannot write {target}: {e.strerror or e}") from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: PathLike, data: bytes, *, suffix: str = TEMP_SUFFIX, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` through a temp file and a rename (see ``atomic_path``)."""
    with atomic_path(path, suffix=suffix, fsync=fsync) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: PathLike, text: str, *, suffix: str = TEMP_SUFFIX, fsync: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temp file and a rename (see ``atomic_path``)."""
    write_bytes_atomic(path, text.encode("utf-8"), suffix=suffix, fsync=fsync)


def write_json_atomic(path: PathLike, obj: Any, *, indent: int = 2, sort_keys: bool = False, allow_nan: bool = False,
                      suffix: str = TEMP_SUFFIX, fsync: bool = False) -> None:
    """Write ``obj`` as JSON (and a final newline) to ``path`` through a temp file and a rename.

    The JSON is made before any file is touched, so an object that cannot be written (``NaN`` or
    infinity while ``allow_nan`` is false: ``ValueError``; a non-JSON type: ``TypeError``) leaves
    ``path`` as it was.
    """
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, allow_nan=allow_nan) + "\n"
    write_text_atomic(path, text, suffix=suffix, fsync=fsync)
