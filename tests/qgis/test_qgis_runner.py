"""``python -m geocolor.qgis_runner``: JSON requests in, the line protocol the QGIS plugin reads out (PROGRESS / DONE / ERROR / CANCELLED)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio

from geocolor.qgis_runner import line_progress, main

SAMPLE = Path(__file__).resolve().parents[2] / "geocolor" / "data" / "sample_gray_uint16.tif"


def request(command: str, **options: object) -> str:
    return json.dumps({"command": command, "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.items()}})


def run(out: io.StringIO, command: str, **options: object) -> int:
    """``main`` on ``run -`` with the request on stdin, as the plugin starts it."""
    return main(["run", "-"], out, io.StringIO(request(command, **options)))


def test_line_progress_is_throttled_monotonic_and_ends_at_one():
    out = io.StringIO()
    report = line_progress(out, step=0.1)
    for i in range(101):
        report(i / 100)
    values = [float(line.split()[1]) for line in out.getvalue().splitlines()]
    assert values[0] == 0.0 and values[-1] == 1.0 and values == sorted(values) and len(values) == 11


def test_colorize_prints_progress_then_done(tmp_path, tiny_model):
    out = io.StringIO()
    code = run(out, "colorize", src=SAMPLE, dst=tmp_path / "o.tif", model=tiny_model, device="cpu")
    lines = out.getvalue().splitlines()
    assert code == 0 and lines[-1] == f"DONE {tmp_path / 'o.tif'}"
    assert sum(line.startswith("PROGRESS ") for line in lines) >= 3
    with rasterio.open(tmp_path / "o.tif") as dst, rasterio.open(SAMPLE) as src:
        assert dst.count == 3 and dst.crs == src.crs and dst.transform == src.transform


def test_geocolor_error_is_one_error_line_and_exit_1(tmp_path, tiny_model):
    (tmp_path / "o.tif").write_bytes(b"old")
    out = io.StringIO()
    code = run(out, "colorize", src=SAMPLE, dst=tmp_path / "o.tif", model=tiny_model)
    [line] = out.getvalue().splitlines()
    assert code == 1 and line.startswith("ERROR ") and "o.tif" in line
    assert (tmp_path / "o.tif").read_bytes() == b"old"


def test_check_reports_ok_and_version():
    from geocolor import __version__

    out = io.StringIO()
    assert main(["check"], out) == 0
    ok, version, backends = out.getvalue().split()
    assert (ok, version) == ("OK", __version__) and set(backends.split(",")) <= {"torch", "onnxruntime"}


def test_check_needs_geocolor_and_one_backend_of_the_two(monkeypatch):
    """An environment with onnxruntime and no torch (``pip install geocolor[onnx]``) is an engine; one with neither is not."""
    import importlib

    real_import_module = importlib.import_module

    def refusing(*names: str):
        def import_module(name: str, package: str | None = None):
            if name in names:
                raise ImportError(f"No module named {name!r}")
            return real_import_module(name, package)
        return import_module

    monkeypatch.setattr(importlib, "import_module", refusing("torch"))
    out = io.StringIO()
    assert main(["check"], out) == 0 and out.getvalue().split()[2] == "onnxruntime"
    monkeypatch.setattr(importlib, "import_module", refusing("torch", "onnxruntime"))
    out = io.StringIO()
    assert main(["check"], out) == 1 and out.getvalue().startswith("ERROR this Python cannot run geocolor (no inference backend")


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
    proc = subprocess.Popen([sys.executable, "-m", "geocolor.qgis_runner", "run", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(request("colorize", src=big, dst=out_dir / "o.tif", model=tiny_model, device="cpu"))
    proc.stdin.close()
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
    code = run(out, "inpaint", src=gray_with_hole, dst=tmp_path / "f.tif", model=tiny_inpaint_model, device="cpu")
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
    assert run(out, "inpaint", src=gray_with_hole, dst=tmp_path / "f.tif", mask=tmp_path / "mask.tif",
               model=tiny_inpaint_model, device="cpu") == 0, out.getvalue()
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
    code = run(out, "inpaint", src=src, dst=dst, model=tiny_inpaint_model, device="cpu")
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
        code = run(out, "inpaint", src=gray_with_hole, dst=out_dir / "f.tif", model=tiny_inpaint_model, device="cpu")
    finally:
        TERMINATED.set = False
    assert code == 130 and out.getvalue().splitlines()[-1] == "CANCELLED" and os.listdir(out_dir) == []


def test_colorize_fill_nodata_and_style_options(tmp_path, gray_with_hole, tiny_model, tiny_inpaint_model, one_torch_thread):
    from tests.qgis.conftest import HOLE

    out = io.StringIO()
    args = {"src": gray_with_hole, "dst": tmp_path / "c.tif", "model": tiny_model, "device": "cpu"}
    assert run(out, "colorize", **args, fill_nodata=True, inpaint_model=tiny_inpaint_model) == 0, out.getvalue()
    assert out.getvalue().splitlines()[-1] == f"DONE {tmp_path / 'c.tif'}"
    filled = _valid(tmp_path / "c.tif")
    assert filled[HOLE].all()  # the hole was inpainted, then colorized
    with rasterio.open(tmp_path / "c.tif") as dst, rasterio.open(gray_with_hole) as src:
        assert dst.count == 3 and dst.crs == src.crs and dst.transform == src.transform
    assert run(io.StringIO(), "colorize", **args) == 1  # exists now: no overwrite
    for name, extra in (("u.tif", {}), ("s.tif", {"style": str(tmp_path / "c.tif")})):
        done = io.StringIO()
        assert run(done, "colorize", **{**args, "dst": tmp_path / name}, **extra) == 0, done.getvalue()
    with rasterio.open(tmp_path / "u.tif") as plain, rasterio.open(tmp_path / "s.tif") as styled:
        assert np.abs(plain.read().astype(int) - styled.read().astype(int)).mean() > 1  # the reference's palette applied
    bad = io.StringIO()
    assert run(bad, "colorize", **{**args, "dst": tmp_path / "b.tif"}, style="no_such_style") == 1
    assert bad.getvalue().startswith("ERROR ") and "no_such_style" in bad.getvalue()


def _refuse_to_run(*args: object, **kwargs: object) -> None:
    raise AssertionError("a bad request must be refused before the API is called")


@pytest.mark.parametrize(("options", "expected"), [
    ({"src": "a.tif", "dst": "b.tif", "no_such_option": 1}, "colorize: unknown option(s) 'no_such_option'; known options: "),
    ({"src": "a.tif", "dst": "b.tif", "dodge": "40"}, "colorize option 'dodge' must be a number, got \"40\""),
    ({"src": "a.tif", "dst": "b.tif", "overwrite": 1}, "colorize option 'overwrite' must be true or false, got 1"),
    ({"src": "a.tif", "dst": "b.tif", "bands": [1, "x"]}, "colorize option 'bands' must be a list of whole numbers or null"),
    ({"src": "a.tif", "dst": "b.tif", "device": "mps"}, "colorize: device 'mps' is not one of auto, cpu, cuda"),
    ({"src": "a.tif"}, "colorize: missing option(s) 'dst'"),
])
def test_a_bad_option_is_one_error_line_before_anything_runs(monkeypatch, options, expected):
    import geocolor.mosaic

    monkeypatch.setattr(geocolor.mosaic, "colorize", _refuse_to_run)
    out = io.StringIO()
    code = main(["run", "-"], out, io.StringIO(json.dumps({"command": "colorize", "options": options})))
    [line] = out.getvalue().splitlines()
    assert code == 1 and line.startswith("ERROR " + expected), line


@pytest.mark.parametrize(("text", "expected"), [
    ('{"command": "mosaic", "options": {}}', "unknown command 'mosaic'; use one of colorize, harvest, inpaint"),
    ('{"command": "inpaint", "options": {}, "extra": 1}', "unknown request key(s) 'extra'"),
    ('{"command": "inpaint", "options": [1]}', "inpaint: 'options' must be a JSON object"),
    ("colorize a.tif b.tif", "the request is not valid JSON"),
    ('{"command": "harvest", "options": {"out": "o", "zoom": "3", "url": "http://h/c.xml", "layer": "l", "retry": {}}}',
     "harvest option 'retry' cannot be given in a request"),
    ('{"command": "harvest", "options": {"out": "o", "zoom": "3", "url": "http://h/c.xml", "layer": "l"}}',
     "harvest: give the area as 'bbox'"),
    ('{"command": "inpaint", "options": {"src": "a.tif", "dst": "b.tif", "method": 2}}',
     "inpaint option 'method' must be a string, got 2"),
])
def test_a_bad_request_is_one_error_line(text, expected):
    out = io.StringIO()
    code = main(["run", "-"], out, io.StringIO(text))
    [line] = out.getvalue().splitlines()
    assert code == 1 and line.startswith("ERROR " + expected), line


def test_usage_errors_say_how_to_call_it(tmp_path):
    out = io.StringIO()
    assert main(["colorize", "a.tif", "b.tif"], out) == 2  # the argument form of earlier versions
    [line] = out.getvalue().splitlines()
    assert line.startswith("ERROR usage:") and "update the QGIS plugin" in line
    out = io.StringIO()
    assert main(["run", str(tmp_path / "missing.json")], out) == 1
    assert out.getvalue().startswith("ERROR cannot read the request") and "missing.json" in out.getvalue()


def test_harvest_bbox_starting_with_a_minus_reaches_the_harvest_intact(tmp_path, monkeypatch):
    """By hand, from a request file: a western-hemisphere bbox (x < 0 first) is a value, never an option."""
    import geocolor.harvest
    from geocolor.harvest import HarvestConfig

    seen: list[HarvestConfig] = []

    def fake_harvest(config: HarvestConfig, progress=None, is_cancelled=None):
        seen.append(config)
        progress(1.0)
        return SimpleNamespace(cancelled=False, failed=0, vrt=config.out / "tiles.vrt", out=config.out)

    monkeypatch.setattr(geocolor.harvest, "harvest", fake_harvest)
    path = tmp_path / "request.json"
    path.write_text(request("harvest", url="http://h/caps.xml", layer="ortho", bbox=[-99.16, 47.0, -99.1, 47.05],
                            bbox_crs="EPSG:4326", zoom="15", out=tmp_path / "h", tms=None, overwrite=False))
    out = io.StringIO()
    assert main(["run", str(path)], out) == 0, out.getvalue()
    assert out.getvalue().splitlines() == ["PROGRESS 1.000", f"DONE {tmp_path / 'h' / 'tiles.vrt'}"]
    [config] = seen
    assert config.aoi.bounds == pytest.approx((-99.16, 47.0, -99.1, 47.05)) and config.aoi.crs.to_epsg() == 4326
    assert (config.url, config.layer, config.zoom, config.out, config.tms) == ("http://h/caps.xml", "ortho", "15", tmp_path / "h", None)
    text = request("harvest", url="http://h/caps.xml", layer="ortho", bbox="-99.16,47.0,-99.1,47.05", zoom=15, out=tmp_path / "h")
    assert main(["run", "-"], io.StringIO(), io.StringIO(text)) == 0  # a bbox string and a numeric zoom work too
    assert seen[1].aoi.bounds == pytest.approx(seen[0].aoi.bounds) and seen[1].zoom == "15"


def test_harvest_failures_and_cancel_keep_the_protocol(tmp_path, monkeypatch):
    import geocolor.harvest

    outcome = SimpleNamespace(cancelled=False, failed=2, vrt=None, out=tmp_path, summary=lambda: "2 of 9 tiles failed")
    monkeypatch.setattr(geocolor.harvest, "harvest", lambda config, progress=None, is_cancelled=None: outcome)
    text = request("harvest", xyz="http://h/{z}/{x}/{y}.png", bbox=[1, 2, 3, 4], zoom="3", out=tmp_path)
    out = io.StringIO()
    assert main(["run", "-"], out, io.StringIO(text)) == 1
    assert out.getvalue().splitlines() == ["ERROR 2 of 9 tiles failed; run it again to fetch the failed tiles"]
    outcome.cancelled = True
    out = io.StringIO()
    assert main(["run", "-"], out, io.StringIO(text)) == 130 and out.getvalue().splitlines() == ["CANCELLED"]
