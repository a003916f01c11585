"""A failed, cancelled or killed run never leaves a half-written OUT, nor replaces an old one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import rasterio

from geocolor.errors import GeocolorError
from geocolor.models import load
from geocolor.mosaic.engine import Cancelled, colorize


class ExplodingTranslator:
    """Wraps a real translator and fails on the n-th call, like a crash mid-run."""

    def __init__(self, inner, fail_at: int) -> None:
        self.inner, self.calls, self.fail_at = inner, 0, fail_at

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def predict_array(self, x):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("simulated crash")
        return self.inner.predict_array(x)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_crash_mid_run_leaves_no_output_and_keeps_old_one(gray_uint8_twd97, tiny_model, tmp_path):
    out = tmp_path / "out.tif"
    with pytest.raises(RuntimeError, match="simulated crash"):
        colorize(gray_uint8_twd97, out, translator=ExplodingTranslator(load(tiny_model), 3), batch=1, show_progress=False)
    assert not out.exists() and leftovers(tmp_path) == []
    out.write_bytes(b"old result")
    with pytest.raises(RuntimeError):
        colorize(gray_uint8_twd97, out, translator=ExplodingTranslator(load(tiny_model), 3), batch=1,
                 overwrite=True, show_progress=False)
    assert out.read_bytes() == b"old result" and leftovers(tmp_path) == []


def test_cancel_stops_cleanly(gray_uint8_twd97, tiny_model, tmp_path):
    out = tmp_path / "out.tif"
    seen = []
    with pytest.raises(Cancelled):
        colorize(gray_uint8_twd97, out, model=tiny_model, show_progress=False,
                 progress=seen.append, is_cancelled=lambda: len(seen) >= 1)
    assert isinstance(Cancelled("x"), GeocolorError)
    assert not out.exists() and leftovers(tmp_path) == []


def test_progress_reaches_one(gray_uint8_twd97, tiny_model, tmp_path):
    seen: list[float] = []
    colorize(gray_uint8_twd97, tmp_path / "o.tif", model=tiny_model, show_progress=False, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.slow
def test_sigkill_mid_run_leaves_no_output(tiny_model, tmp_path):
    src = tmp_path / "big.tif"
    data = np.random.default_rng(0).integers(0, 255, (1, 2048, 2048), dtype=np.uint8)
    with rasterio.open(src, "w", driver="GTiff", width=2048, height=2048, count=1, dtype="uint8",
                       crs="EPSG:32631", transform=rasterio.transform.from_origin(600000, 5700000, 0.5, 0.5)) as d:
        d.write(data)
    out = tmp_path / "out.tif"
    proc = subprocess.Popen([sys.executable, "-m", "geocolor.cli", "-q", "mosaic", str(src), str(out),
                             "--model", str(tiny_model), "--batch", "1"])
    deadline = time.time() + 120
    while time.time() < deadline and not any(p.name.endswith((".raw.tif", ".tmp.tif")) for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.poll() is None, "the run ended before it could be killed; make the input bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".out.tif.")]
    assert left, "a killed run cannot clean up after itself"
    small = tmp_path / "small.tif"
    with rasterio.open(src) as s_ds, rasterio.open(small, "w", **{**s_ds.profile, "width": 256, "height": 256}) as d:
        d.write(s_ds.read(window=((0, 256), (0, 256))))
    r = subprocess.run([sys.executable, "-m", "geocolor.cli", "-q", "mosaic", str(small), str(out), "--model", str(tiny_model)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [], "the next run removed the dead run's temp files"
