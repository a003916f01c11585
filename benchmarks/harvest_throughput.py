"""Harvest throughput: geocolor vs GDAL's WMTS driver, same local TiTiler server, same AOI. Not a test.

    python benchmarks/harvest_throughput.py [--zoom 17] [--workers 8] [--server-workers 2] [--repeat 3]

Starts TiTiler (uvicorn) on 127.0.0.1 serving the shared NAIP GeoTIFF as WMTS (WebMercatorQuad) and
harvests the bounding box of ``sample_shapefiles/naip_aoi.shp`` (a box, so that both sides fetch the
same tiles) three ways, alternating, each on a cold start (new folder, no cache):

* geocolor: ``geocolor.harvest.harvest`` (no rate cap) -> one GeoTIFF per tile + manifest + VRT;
* GDAL: ``WMTS:<caps>,layer=..,tilematrixset=WebMercatorQuad,zoom_level=Z`` opened with rasterio, the
  AOI window read and written to a tiled GeoTIFF (what ``gdal_translate -projwin`` does), with
  ``zoom_level`` set (else GDAL opens the finest level) and its ``gdalwmscache/`` kept in a temp folder;
* ceiling: the same tile URLs fetched by plain threads, nothing decoded or written: the server's own limit.

Prints tiles/s and MP/s for each (median of ``--repeat``) and the geocolor/GDAL ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import shapely

REPO = Path(__file__).resolve().parent.parent
NAIP = Path(os.environ.get("GEOCOLOR_SHARED_DATA", REPO.parent / "shared" / "data")) / "naip" / "m_4709963_se_14_1_20200831.tif"
AOI_FILE = REPO / "sample_shapefiles" / "naip_aoi.shp"
TMS = "WebMercatorQuad"


def start_titiler(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "uvicorn", "titiler.application.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("TiTiler did not start")


def run_geocolor(caps: str, zoom: int, workers: int, tmp: Path) -> int:
    from geocolor.aoi import AOI, aoi_from_file
    from geocolor.harvest import HarvestConfig, harvest

    aoi = aoi_from_file(AOI_FILE)
    box = AOI(shapely.box(*aoi.bounds), aoi.crs)
    config = HarvestConfig(out=tmp / "geocolor", aoi=box, zoom=str(zoom), url=caps, layer=f"{NAIP}_{TMS}_default",
                           workers=workers, rate=None)
    result = harvest(config)
    if result.failed:
        raise SystemExit(f"geocolor: {result.failed} tiles failed")
    return result.fetched


def run_gdal(caps: str, zoom: int, tmp: Path) -> int:
    import rasterio
    from rasterio.windows import from_bounds

    from geocolor.aoi import AOI, aoi_from_file

    aoi = aoi_from_file(AOI_FILE)
    bounds = AOI(shapely.box(*aoi.bounds), aoi.crs).to_crs("EPSG:3857").bounds
    conn = f"WMTS:{caps},layer={NAIP}_{TMS}_default,tilematrixset={TMS},zoom_level={zoom}"
    cwd = os.getcwd()
    os.chdir(tmp)  # GDAL leaves gdalwmscache/ in the working directory
    try:
        with rasterio.Env(GDAL_DEFAULT_WMS_CACHE_PATH=str(tmp / "gdalwmscache")), rasterio.open(conn) as ds:
            win = from_bounds(*bounds, ds.transform).round_offsets().round_lengths()
            data = ds.read(window=win)
            profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
                       "dtype": "uint8", "crs": ds.crs, "transform": ds.window_transform(win), "tiled": True,
                       "compress": "DEFLATE", "photometric": "RGB", "alpha": "YES"}
            with rasterio.open(tmp / "gdal.tif", "w", **profile) as dst:
                dst.write(data)
            col0, row0 = int(win.col_off) // 256, int(win.row_off) // 256
            col1, row1 = (int(win.col_off + win.width) - 1) // 256, (int(win.row_off + win.height) - 1) // 256
            return (col1 - col0 + 1) * (row1 - row0 + 1)  # tiles under the window, as the driver fetches them
    finally:
        os.chdir(cwd)


def tile_urls(tmp: Path) -> list[str]:
    manifest = json.loads((tmp / "geocolor" / "manifest.json").read_text())
    return [t["url"] for t in manifest["tiles"]]


def run_ceiling(urls: list[str], workers: int) -> int:
    import httpx

    with httpx.Client(limits=httpx.Limits(max_connections=workers), timeout=120.0) as client, ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda u: client.get(u).raise_for_status(), urls))
    return len(urls)


def timed(fn, *args) -> tuple[int, float]:  # noqa: ANN001
    start = time.perf_counter()
    tiles = fn(*args)
    return tiles, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoom", type=int, default=17)
    ap.add_argument("--workers", type=int, default=8, help="geocolor workers (and ceiling threads)")
    ap.add_argument("--server-workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import owslib.wmts  # noqa: F401

    import geocolor.harvest.api  # noqa: F401  (imports outside the timings: GDAL is loaded already too)

    proc, base = start_titiler(args.server_workers)
    caps = f"{base}/cog/WMTSCapabilities.xml?url={NAIP}&bidx=1&bidx=2&bidx=3"
    runs_of: dict[str, list[tuple[int, float]]] = {"geocolor": [], "gdal": [], "ceiling": []}
    try:
        urls: list[str] = []
        for i in range(args.repeat):
            tmp = Path(tempfile.mkdtemp(prefix="geocolor-bench-"))
            try:
                runs = {"geocolor": (run_geocolor, caps, args.zoom, args.workers, tmp), "gdal": (run_gdal, caps, args.zoom, tmp)}
                for name in (["geocolor", "gdal"] if i % 2 == 0 else ["gdal", "geocolor"]):
                    runs_of[name].append(timed(*runs[name]))
                urls = urls or tile_urls(tmp)
                runs_of["ceiling"].append(timed(run_ceiling, urls, args.workers))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    report(runs_of, args)


def report(runs_of: dict[str, list[tuple[int, float]]], args: argparse.Namespace) -> None:
    """Median run of each (the three alternate, so a busy moment hits all alike); best in the JSON line."""
    import statistics

    medians = {k: (v[0][0], statistics.median(s for _, s in v)) for k, v in runs_of.items()}
    rates = {k: (n / s, n * 256 * 256 / 1e6 / s, n, s) for k, (n, s) in medians.items()}
    print(f"AOI bbox of {AOI_FILE.name}, {TMS} zoom {args.zoom}, TiTiler x{args.server_workers} on {os.cpu_count()} CPUs, "
          f"geocolor workers {args.workers}, median of {args.repeat}")
    for name, (tps, mps, n, s) in rates.items():
        print(f"  {name:9s} {n:5d} tiles in {s:6.2f} s  {tps:7.1f} tiles/s  {mps:6.2f} MP/s")
    ratio = rates["geocolor"][0] / rates["gdal"][0]
    print(f"  geocolor / GDAL = {ratio:.2f}x   (geocolor at {rates['geocolor'][0] / rates['ceiling'][0]:.0%} of the server ceiling)")
    print(json.dumps({k: {"tiles": v[2], "median_s": round(v[3], 3), "tiles_per_s": round(v[0], 2),
                          "all_s": [round(s, 3) for _, s in runs_of[k]]} for k, v in rates.items()} | {"ratio": round(ratio, 2)}))


if __name__ == "__main__":
    main()
