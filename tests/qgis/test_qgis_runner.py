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


def _valid(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.dataset_mask() > 0


def test_inpaint_prints_progress_then_done_and_fills_the_hole(tmp_path, gray_with_hole, tiny_inpaint_model, one_torch_thread):
    from tests.qgis.conftest import HOLE

    out = io.StringIO()
    code = main(["inpaint", str(gray_with_hole), str(tmp_path / "f.tif"), "--model", str(tiny_inpaint_model), "--device", "cpu"], out)
    lines = out.getvalue().splitlines()
    assert code == 0 and lines[-1] == f"DONE {tmp_path / 'f.tif'}", lines
    progress = [float(line.split()[1]) for line in lines if line.startswith("PROGRESS ")]
    assert len(progress) >= 3 and progress == sorted(progress) and progress[-1] == 1.0
    assert not _valid(gray_with_hole)[HOLE].any() and _valid(tmp_path / "f.tif").all()
    with rasterio.open(tmp_path / "f.tif") as dst, rasterio.open(gray_with_hole) as src:
        assert dst.crs == src.crs and dst.transform == src.transform and dst.nodata == src.nodata
        before, after = src.read(1), dst.read(1)
    outside = np.ones(before.shape, dtype=bool)
    outside[HOLE] = False
    assert (after[outside] == before[outside]).all()  # only hole pixels change


def test_inpaint_with_a_mask_fills_only_the_masked_pixels(tmp_path, gray_with_hole, tiny_inpaint_model, one_torch_thread):
    from tests.conftest import write_tif

    with rasterio.open(gray_with_hole) as src:
        before, crs, transform = src.read(1), src.crs.to_string(), src.transform
    mask = np.zeros((1, *before.shape), dtype=np.uint8)
    mask[0, 10:13, 20:200] = 1  # a scratch
    write_tif(tmp_path / "mask.tif", mask, crs, transform)
    out = io.StringIO()
    assert main(["inpaint", str(gray_with_hole), str(tmp_path / "f.tif"), "--mask", str(tmp_path / "mask.tif"),
                 "--model", str(tiny_inpaint_model), "--device", "cpu"], out) == 0, out.getvalue()
    with rasterio.open(tmp_path / "f.tif") as dst:
        after = dst.read(1)
    changed = after != before
    assert changed[10:13, 20:200].mean() > 0.5 and not changed[mask[0] == 0].any()


@pytest.mark.parametrize("problem", ["missing", "not_a_raster", "exists"])
def test_inpaint_bad_input_is_one_error_line_and_exit_1(tmp_path, gray_with_hole, tiny_inpaint_model, problem):
    src, dst = gray_with_hole, tmp_path / "f.tif"
    if problem == "missing":
        src = tmp_path / "no_such.tif"
    elif problem == "not_a_raster":
        src = tmp_path / "notes.tif"
        src.write_text("not a raster")
    else:
        dst.write_bytes(b"old")
    out = io.StringIO()
    code = main(["inpaint", str(src), str(dst), "--model", str(tiny_inpaint_model), "--device", "cpu"], out)
    [line] = out.getvalue().splitlines()
    assert code == 1 and line.startswith("ERROR ") and (dst.name if problem == "exists" else src.name) in line
    assert dst.read_bytes() == b"old" if problem == "exists" else not dst.exists()


def test_inpaint_cancel_stops_before_writing(tmp_path, gray_with_hole, tiny_inpaint_model):
    from geocolor.inpaint import inpaint
    from geocolor.mosaic.engine import Cancelled

    calls = []
    with pytest.raises(Cancelled):
        inpaint(gray_with_hole, tmp_path / "f.tif", model=tiny_inpaint_model, device="cpu", show_progress=False,
                progress=calls.append, is_cancelled=lambda: len(calls) >= 1)
    assert len(calls) == 1 and os.listdir(tmp_path) == []


def test_inpaint_sigterm_flag_prints_cancelled_and_leaves_nothing(tmp_path, gray_with_hole, tiny_inpaint_model):
    from geocolor.qgis_runner import TERMINATED

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = io.StringIO()
    TERMINATED.set = True  # what the SIGTERM handler does
    try:
        code = main(["inpaint", str(gray_with_hole), str(out_dir / "f.tif"), "--model", str(tiny_inpaint_model), "--device", "cpu"], out)
    finally:
        TERMINATED.set = False
    assert code == 130 and out.getvalue().splitlines()[-1] == "CANCELLED" and os.listdir(out_dir) == []


def test_colorize_fill_nodata_and_style_options(tmp_path, gray_with_hole, tiny_model, tiny_inpaint_model, one_torch_thread):
    from tests.qgis.conftest import HOLE

    out = io.StringIO()
    args = ["colorize", str(gray_with_hole), str(tmp_path / "c.tif"), "--model", str(tiny_model), "--device", "cpu"]
    assert main(args + ["--fill-nodata", "--inpaint-model", str(tiny_inpaint_model)], out) == 0, out.getvalue()
    assert out.getvalue().splitlines()[-1] == f"DONE {tmp_path / 'c.tif'}"
    filled = _valid(tmp_path / "c.tif")
    assert filled[HOLE].all()  # the hole was inpainted, then colorized
    with rasterio.open(tmp_path / "c.tif") as dst, rasterio.open(gray_with_hole) as src:
        assert dst.count == 3 and dst.crs == src.crs and dst.transform == src.transform
    assert main(args, io.StringIO()) == 1  # exists now: no --overwrite
    for name, extra in (("u.tif", []), ("s.tif", ["--style", str(tmp_path / "c.tif")])):
        run = io.StringIO()
        assert main(["colorize", str(gray_with_hole), str(tmp_path / name), "--model", str(tiny_model), "--device", "cpu",
                     *extra], run) == 0, run.getvalue()
    with rasterio.open(tmp_path / "u.tif") as plain, rasterio.open(tmp_path / "s.tif") as styled:
        assert np.abs(plain.read().astype(int) - styled.read().astype(int)).mean() > 1  # the reference's palette applied
    bad = io.StringIO()
    assert main(["colorize", str(gray_with_hole), str(tmp_path / "b.tif"), "--model", str(tiny_model), "--device", "cpu",
                 "--style", "no_such_style"], bad) == 1
    assert bad.getvalue().startswith("ERROR ") and "no_such_style" in bad.getvalue()
