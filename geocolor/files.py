"""File helpers shared by every writer: temp files that get the permissions a plain file would."""

from __future__ import annotations

import os

from geocolor.types import PathLike


def make_readable(path: PathLike) -> None:
    """Give a temp file the permissions a normally created file would have (``mkstemp`` makes it 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
