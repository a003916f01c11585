"""Colouring on a real Dask cluster (a scheduler and two worker processes on 127.0.0.1, real model):
the same bytes as one process, whole outputs after a worker is killed mid-write, a large raster split
across workers and joined, reruns that skip finished work, and the CLI over all of it."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from geocolor.cluster import archive_pairs, colorize_archive
from geocolor.mosaic.engine import MosaicOptions
from tests.conftest import shared

OPTS = MosaicOptions(device="cpu", threads=1)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_same_raster(a: Path, b: Path, same_file: bool = True) -> None:
    """Same georeferencing, pixels, mask and tags; ``same_file``: the same bytes on disk too."""
    import rasterio

    with rasterio.open(a) as x, rasterio.open(b) as y:
        assert (x.crs, x.transform, x.width, x.height, x.count) == (y.crs, y.transform, y.width, y.height, y.count)
        assert np.array_equal(x.read(), y.read()) and np.array_equal(x.dataset_mask(), y.dataset_mask())
        assert x.tags() == y.tags() and x.profile == y.profile and x.overviews(1) == y.overviews(1)
    assert digest(a) == digest(b) or not same_file


def test_an_archive_is_coloured_byte_identically_to_one_process_and_a_rerun_skips_it(client, archive, serial_archive, tmp_path):
    out = tmp_path / "out"
    sheets = archive[:4]
    result = colorize_archive(client, archive_pairs(sheets, out), OPTS, show_progress=False)
    assert len(result.made) == 4 and not result.skipped
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in sheets)  # nothing else, no temp files
    for sheet in sheets:
        assert_same_raster(out / sheet.name, serial_archive[sheet.name])
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = colorize_archive(client, archive_pairs(sheets, out), OPTS, show_progress=False)
    assert not again.made and len(again.skipped) == 4
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


def test_a_worker_killed_mid_write_leaves_every_output_complete_once(cluster, client, archive, serial_archive, tmp_path):
    out = tmp_path / "out"
    pairs = archive_pairs(archive, out)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = colorize_archive(client, pairs, OPTS, show_progress=False)
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = e

    pids = {w.pid for w in cluster.live()}
    runner = threading.Thread(target=run)
    runner.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and runner.is_alive() and time.monotonic() < deadline:
        for name in os.listdir(out):  # a worker writing an output: its raw temp file names its process
            m = re.search(r"\.(\d+)\.(raw|tmp)\.tif$", name)
            if m and int(m.group(1)) in pids:
                victim = int(m.group(1))
                break
        time.sleep(0.005)
    assert victim is not None, "no worker was seen writing"
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=180)
    assert not runner.is_alive() and "error" not in outcome, outcome.get("error")
    assert len(outcome["result"].made) == len(archive)  # type: ignore[attr-defined]
    assert sorted(os.listdir(out)) == sorted(p.name for p in archive)  # each output once, no attempt or temp file left
    for sheet in archive:
        assert_same_raster(out / sheet.name, serial_archive[sheet.name])
    assert any(w.pid == victim and w.poll() is not None for w in cluster.workers)


@pytest.mark.parametrize("band_width,windows,toned", [(8192, 3, False), (448, 9, False), (8192, 3, True)],
                         ids=["one-band", "three-bands", "tone-target"])  # one column band of the engine (900 px), or three
def test_a_large_raster_split_across_workers_equals_one_pass(client, uint16_nodata_utm, tmp_path, band_width, windows, toned):
    """Every window measures the tone curve on the whole raster's sample tiles: the same curve as one pass."""
    from distributed import get_task_stream

    from geocolor.models.engines import load_colorizer
    from geocolor.mosaic.engine import colorize

    tone = tuple(float(v) for v in np.linspace(15.0, 85.0, 101)) if toned else None
    opts = MosaicOptions(device="cpu", threads=1, band_width=band_width, tone_target=tone)  # real uint16 pan, nodata collar: masked output
    serial = colorize(uint16_nodata_utm, tmp_path / "serial.tif", opts, translator=load_colorizer(None, "cpu", threads=1))
    out = tmp_path / "out"
    with get_task_stream(client) as stream:
        result = colorize_archive(client, archive_pairs([uint16_nodata_utm], out), opts, split_size=300, show_progress=False)
    assert result.windows == windows and len(result.made) == 1
    windows = [t for t in stream.data if "geocolor-window" in str(t["key"])]
    assert len({t["worker"] for t in windows}) == 2  # both workers coloured windows
    assert os.listdir(out) == [uint16_nodata_utm.name]  # the parts folder is gone
    assert_same_raster(out / uint16_nodata_utm.name, serial.path, same_file=False)  # the join writes blocks in another order


def test_cli_on_the_cluster_and_a_path_without_scheduler_that_never_imports_dask(cluster, archive, serial_archive, tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "geocolor.cli", "mosaic", str(archive[0]), str(archive[1]), "--out-dir", str(out),
                        "--scheduler", cluster.address, "--device", "cpu", "--threads", "1"],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert f"dask cluster {cluster.address}: 2 worker(s)" in r.stderr and "2 raster(s) written" in r.stderr
    for sheet in archive[:2]:
        assert_same_raster(out / sheet.name, serial_archive[sheet.name])
    bad = subprocess.run([sys.executable, "-m", "geocolor.cli", "mosaic", str(archive[0]), str(tmp_path / "x.tif"),
                          "--scheduler", "nowhere"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == ["Error: --scheduler 'nowhere': give local, local:N or a "
                                                                      "scheduler address such as tcp://host:8786"]


NO_DASK = """
import sys
from geocolor import cli
sys.argv = ["geocolor", "-q", "mosaic", sys.argv[1], sys.argv[2], "--model", sys.argv[3], "--device", "cpu"]
try:
    cli.main()
except SystemExit as e:
    assert not e.code, e.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed", "geocolor") and
                (m.split(".")[0] != "geocolor" or m.startswith("geocolor.cluster")))
print("LOADED", loaded)
"""


def test_without_scheduler_nothing_imports_dask(archive, tiny_model, tmp_path):
    r = subprocess.run([sys.executable, "-c", NO_DASK, str(archive[0]), str(tmp_path / "o.tif"), str(tiny_model)],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert "LOADED []" in r.stdout and (tmp_path / "o.tif").exists()


def test_inpaint_on_the_cluster_fills_every_sheet_as_one_process_does(cluster, archive, tmp_path):
    """``geocolor inpaint IN... --out-dir DIR --scheduler``: each sheet's holes filled on a worker, equal to a serial fill."""
    import rasterio

    from geocolor.inpaint.engine import InpaintOptions, inpaint

    holed = tmp_path / "holed"
    holed.mkdir()
    sheets = []
    for i, sheet in enumerate(archive[:2]):
        with rasterio.open(sheet) as ds:
            profile, data = ds.profile, ds.read()
        data[data == 0] = 1  # a real 0 would read as nodata
        data[:, 40 + 10 * i : 64 + 10 * i, 50:80] = 0  # a 24 x 30 px hole
        with rasterio.open(holed / sheet.name, "w", **{**profile, "nodata": 0}) as out:
            out.write(data)
        sheets.append(holed / sheet.name)
    serial = tmp_path / "serial"
    serial.mkdir()
    for sheet in sheets:
        inpaint(sheet, serial / sheet.name, options=InpaintOptions(device="cpu", threads=1, show_progress=False))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "geocolor.cli", "inpaint", *map(str, sheets), "--out-dir", str(out),
                        "--scheduler", cluster.address, "--device", "cpu", "--threads", "1"],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert f"dask cluster {cluster.address}: 2 worker(s)" in r.stderr
    assert sorted(os.listdir(out)) == sorted(s.name for s in sheets)
    for sheet in sheets:
        assert_same_raster(out / sheet.name, serial / sheet.name)
        with rasterio.open(sheet) as before, rasterio.open(out / sheet.name) as after:
            assert (before.dataset_mask() == 0).sum() > 0 and (after.dataset_mask() == 0).sum() == 0  # the hole is filled


def test_adapt_colours_its_scans_on_the_cluster_as_one_process_does(cluster, archive, tmp_path):
    """``adapt --scheduler``: the fine-tuning runs here, the scans are coloured on the workers, tone-matched as
    serially (``scans_tone``), and the base model's outputs beside them."""
    from geocolor.adapt import adapt
    from geocolor.adapt.api import AdaptOptions, scan_info, scans_tone
    from geocolor.mosaic.engine import colorize

    scans = archive[:2]
    opts = AdaptOptions(from_rasters=[shared("naip/m_4709963_se_14_1_20200831.tif")], minutes=0.05, threads=1, batch_size=2,
                        eval_every=5, buffer_m=200, device="cpu", show_progress=False, scheduler=cluster.address)
    result = adapt(scans, tmp_path / "adapt", opts)
    tone = scans_tone([scan_info(s) for s in scans], 256)
    assert tone is not None
    for sheet in scans:
        serial = colorize(sheet, tmp_path / f"serial_{sheet.name}", MosaicOptions(model=result.model, device="cpu", threads=1,
                                                                                 tone_target=tone, show_progress=False))
        assert_same_raster(tmp_path / "adapt" / sheet.name, serial.path)
        assert (tmp_path / "adapt" / "base" / sheet.name).exists()
