"""``python -m geocolor.qgis_runner``: the line protocol the QGIS plugin reads (PROGRESS / DONE / ERROR / CANCELLED)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geocolor.qgis_runner import line_progress, main

SAMPLE = Path(__file__).resolve().parents[2] / "geocolor" / "data" / "sample_gray_uint16.tif"


def test_line_progress_is_throttled_monotonic_and_ends_at_one():
    out = io.StringIO()
    report = line_progress(out, step=0.1)
    for i in range(101):
        report(i / 100)
    values = [float(line.split()[1]) for line in out.getvalue().splitlines()]
    assert values[0] == 0.0 and values[-1] == 1.0 and values == sorted(values) and len(values) == 11


def test_colorize_prints_progress_then_done(tmp_path, tiny_model):
    out = io.StringIO()
    code = main(["colorize", str(SAMPLE), str(tmp_path / "o.tif"), "--model", str(tiny_model), "--device", "cpu"], out)
    lines = out.getvalue().splitlines()
    assert code == 0 and lines[-1] == f"DONE {tmp_path / 'o.tif'}"
    assert sum(line.startswith("PROGRESS ") for line in lines) >= 3
    with rasterio.open(tmp_path / "o.tif") as dst, rasterio.open(SAMPLE) as src:
        assert dst.count == 3 and dst.crs == src.crs and dst.transform == src.transform


def test_geocolor_error_is_one_error_line_and_exit_1(tmp_path, tiny_model):
    (tmp_path / "o.tif").write_bytes(b"old")
    out = io.StringIO()
    code = main(["colorize", str(SAMPLE), str(tmp_path / "o.tif"), "--model", str(tiny_model)], out)
    [line] = out.getvalue().splitlines()
    assert code == 1 and line.startswith("ERROR ") and "o.tif" in line
    assert (tmp_path / "o.tif").read_bytes() == b"old"


def test_check_reports_ok_and_version():
    from geocolor import __version__

    out = io.StringIO()
    assert main(["check"], out) == 0 and out.getvalue().strip() == f"OK {__version__}"


@pytest.mark.slow
def test_sigterm_cancels_cleanly(tmp_path, tiny_model):
    big = tmp_path / "in" / "big.tif"  # 9x the sample, so the run is still going when SIGTERM lands
    big.parent.mkdir()
    with rasterio.open(SAMPLE) as src:
        profile = {**src.profile, "width": src.width * 3, "height": src.height * 3}
        data = src.read()
    with rasterio.open(big, "w", **profile) as dst:
        dst.write(np.tile(data, (1, 3, 3)))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "geocolor.qgis_runner", "colorize", str(big), str(out_dir / "o.tif"),
                             "--model", str(tiny_model), "--device", "cpu"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("PROGRESS"), first
    os.kill(proc.pid, signal.SIGTERM)
    started = time.monotonic()
    rest = proc.stdout.read()
    assert proc.wait(timeout=30) == 130 and time.monotonic() - started < 30
    assert rest.strip().splitlines()[-1] == "CANCELLED"
    assert os.listdir(out_dir) == []
