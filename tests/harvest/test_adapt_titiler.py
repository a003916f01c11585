"""``geocolor adapt`` end to end against a real TiTiler on loopback (through the recording proxy):
harvest over the scans' footprint at the zoom of their resolution, film fit, fine-tuning, colouring,
report; a run killed during the fine-tuning resumes and fetches no tile twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import rasterio
from harvest_helpers import caps_url, layer_name

from geocolor.errors import ConfigError, InputError
from tests.conftest import shared

REPO = Path(__file__).resolve().parents[2]


def make_scan(path: Path) -> Path:
    """A 300 x 300 px gray, film-like crop of NAIP 2009 (5 m), EPSG:26914, nodata 0."""
    from scipy import ndimage

    from geocolor.color import lightness_to_gray, rgb_to_lab

    with rasterio.open(shared("naip/m_4709963_se_14_1_20090818.tif")) as ds:
        win = ((200, 500), (300, 600))
        rgb = ds.read([1, 2, 3], window=win).transpose(1, 2, 0)
        transform, crs = ds.window_transform(win), ds.crs
    g = np.asarray(lightness_to_gray(rgb_to_lab(rgb.astype(np.float32) / 255)[..., 0]))
    g = ndimage.gaussian_filter(np.clip(0.1 + 0.8 * g, 0, 1), 0.8)
    data = np.clip(np.rint(g * 255), 1, 255).astype(np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=300, height=300, count=1, dtype="uint8", crs=crs,
                       transform=transform, nodata=0) as out:
        out.write(data[None])
    return path


def adapt_args(scan: Path, out: Path, base: str, minutes: float) -> list[str]:
    return [str(scan), "--out-dir", str(out), "--wmts", caps_url(base), "--layer", layer_name("WebMercatorQuad"),
            "--buffer", "2500", "--minutes", str(minutes), "--threads", "1"]


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> Path:
    return make_scan(tmp_path_factory.mktemp("scan") / "scan1978.tif")


@pytest.fixture(scope="module")
def dark_scan(scan: Path) -> Path:
    """The same ground printed darker and flatter: another sheet of the same flight, developed differently."""
    with rasterio.open(scan) as ds:
        profile, g = ds.profile, ds.read(1).astype(float) / 255
    path = scan.with_name("scan1978_dark.tif")
    with rasterio.open(path, "w", **profile) as out:
        out.write(np.clip(np.rint(255 * (0.08 + 0.55 * g ** 1.5)), 1, 255).astype(np.uint8)[None])
    return path


def test_adapt_harvests_fits_finetunes_and_colours_the_scans(proxy, scan, dark_scan, tmp_path):
    from geocolor.adapt import adapt
    from geocolor.adapt.api import AdaptOptions

    proxy.reset()
    out = tmp_path / "adapt"
    opts = AdaptOptions(wmts=caps_url(proxy.base), layer=layer_name("WebMercatorQuad"), buffer_m=2500, minutes=0.15,
                        threads=1, batch_size=2, eval_every=5, show_progress=False)
    result = adapt([scan, dark_scan], out, opts)
    assert len(proxy.tile_requests()) > 0
    manifest = json.loads((out / "modern" / "harvest" / "manifest.json").read_text())
    assert manifest["zoom"] == "14"  # 5 m scans at 47 N: web mercator zoom 14 (6.5 m)
    with rasterio.open(scan) as src, rasterio.open(out / "scan1978.tif") as dst:
        assert (dst.crs, dst.transform, dst.width, dst.height, dst.count) == (src.crs, src.transform, 300, 300, 3)
        lum_in = src.read(1).astype(float)
        rgb = dst.read().transpose(1, 2, 0)
        assert "GEOCOLOR_TONE" in dst.tags()  # the adapted model saw the scan with the scans' pooled tone
    for name in ("scan1978", "scan1978_dark"):
        with rasterio.open(out / f"{name}.tif") as adapted, rasterio.open(out / "base" / f"{name}.tif") as before:
            assert "GEOCOLOR_TONE" in adapted.tags() and "GEOCOLOR_TONE" not in before.tags()  # the base model sees it as it is
    from geocolor.color import gray_to_lightness, rgb_to_lab

    lum_out = rgb_to_lab(rgb.astype(np.float32) / 255)[..., 0]
    assert np.abs(lum_out - gray_to_lightness(lum_in / 255)).mean() < 1.5, "the scan's own lightness is kept"
    assert (out / "base" / "scan1978.tif").exists() and (out / "adapted.pt").exists()
    fit = json.loads((out / "film_fit.json").read_text())
    assert fit["blur_sigma"] > 0 and len(fit["curve"]) > 100
    html = (out / "adapt_report.html").read_text()
    assert "scan1978.tif" in html and (out / "report" / "scan1978_adapted.jpg").exists()
    assert result.heldout_base and result.heldout_adapted, "held-out modern chips were scored before and after"
    assert result.heldout_adapted["delta_e2000"] <= result.heldout_base["delta_e2000"] + 1e-9  # best is kept
    proxy.reset()
    again = adapt([scan, dark_scan], out, opts)  # everything is there: nothing is fetched or trained again
    assert proxy.tile_requests() == [] and again.steps == result.steps
    # other fine-tuning options, or other scans, in the same folder: refused in one line before anything is overwritten
    with pytest.raises(ConfigError, match=r"trained with another recipe \(loss.lambda_chroma: 1.0 -> 2.5\)"):
        adapt([scan, dark_scan], out, replace(opts, restraint=2.5))
    with pytest.raises(InputError, match="holds an adaptation to other scans"):
        adapt([scan], out, opts)
    # colouring without tone matching redoes the adapted outputs only (the base ones never were tone-matched)
    plain = adapt([scan, dark_scan], out, replace(opts, tone_match=False))
    assert plain.steps == result.steps
    with rasterio.open(out / "scan1978_dark.tif") as adapted:
        assert "GEOCOLOR_TONE" not in adapted.tags()
    # more minutes: the finished fine-tuning continues from its checkpoint
    longer = adapt([scan, dark_scan], out, replace(opts, minutes=0.3))
    assert longer.steps > result.steps and proxy.tile_requests() == []


def test_adapt_killed_during_finetuning_resumes_and_fetches_no_tile_twice(proxy, scan, tmp_path):
    proxy.reset()
    out = tmp_path / "adapt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    code = ("import sys; from geocolor.adapt import adapt; from geocolor.adapt.api import AdaptOptions; "
            f"adapt([sys.argv[1]], sys.argv[2], AdaptOptions(wmts={caps_url(proxy.base)!r}, layer={layer_name('WebMercatorQuad')!r}, "
            "buffer_m=2500, minutes=1.0, threads=1, batch_size=2, eval_every=3, show_progress=False))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(scan), str(out)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = out / "run" / "adapt" / "checkpoint.pt"
    deadline = time.monotonic() + 240
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ckpt.exists(), proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "no checkpoint in time"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    import torch

    killed_at = torch.load(ckpt, weights_only=True)["step"]
    fetched = len(proxy.tile_requests())
    assert fetched > 0 and not (out / "run" / "adapt" / "done.json").exists()
    from geocolor.adapt import adapt
    from geocolor.adapt.api import AdaptOptions

    result = adapt([scan], out, AdaptOptions(wmts=caps_url(proxy.base), layer=layer_name("WebMercatorQuad"), buffer_m=2500,
                                             minutes=0.05, threads=1, batch_size=2, eval_every=3, show_progress=False))
    assert len(proxy.tile_requests()) == fetched, "no tile was fetched twice"
    assert result.steps > killed_at, "the fine-tuning resumed from its checkpoint"
    assert (out / "scan1978.tif").exists()


def test_adapt_refuses_what_it_cannot_do_in_one_line(scan, tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "geocolor.cli", "adapt", str(scan), "--out-dir", str(tmp_path / "o"), *args],
                              capture_output=True, text=True, timeout=300, cwd=REPO)

    r = run()
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith("Error: give exactly one source of modern imagery")
    r = run("--from", str(tmp_path / "missing.tif"))
    assert r.returncode == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = run("--wmts", "http://127.0.0.1:9/caps.xml")
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1] == "Error: --wmts needs --layer"
