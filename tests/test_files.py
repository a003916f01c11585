"""Written files honour the umask: temp files renamed into place are not left private (mode 0600)."""

from __future__ import annotations

import os
import stat

import numpy as np

from geocolor.dataset.io import write_json, write_png
from geocolor.metrics.evaluate import write_json_atomic


def test_atomic_writers_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"a": 1})
        write_png(tmp_path / "b.png", np.zeros((4, 4), np.uint8))
        write_json_atomic(tmp_path / "c.json", {"c": 1})
    finally:
        os.umask(old)
    for name in ("a.json", "b.png", "c.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
