"""A harvest on a real Dask cluster (two worker processes) from a real TiTiler behind a recording proxy:
every tile fetched once, one manifest, the server never sees more than the one global rate, and a
rerun (through the CLI) fetches nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from harvest_helpers import SAMPLE_AOI, caps_url, layer_name, reference_tiles, sample_config

RATE = 8.0  # requests per second for the whole cluster


def test_two_workers_fetch_every_tile_once_under_one_global_rate(cluster, client, recording_proxy, tmp_path):
    from distributed import get_task_stream

    from geocolor.cluster import harvest_on_cluster

    recording_proxy.reset()
    config = sample_config(recording_proxy.base, tmp_path / "out", zoom="15", rate=RATE, workers=4)
    with get_task_stream(client) as stream:
        result = harvest_on_cluster(client, config, show_progress=False, max_chunk=4)
    seen = recording_proxy.tile_requests()
    paths = [s.path for s in seen]
    assert len(paths) == len(set(paths)) == result.total == result.fetched == result.counts["ok"] > 10  # each tile once
    manifest = json.loads(result.manifest.read_text())
    tiles = manifest["tiles"]
    assert {(t["col"], t["row"]) for t in tiles} == reference_tiles("WebMercatorQuad", 15, config.aoi)
    assert all((config.out / t["path"]).stat().st_size == t["size"] for t in tiles) and result.vrt is not None
    chunks = [t for t in stream.data if "geocolor-harvest" in str(t["key"])]
    assert len({t["worker"] for t in chunks}) == 2  # both workers fetched
    times = np.sort([s.time for s in seen])
    assert np.diff(times).min() >= 0.8 / RATE, np.diff(times).min()  # arrivals spaced by the one global interval
    per_second = max(int(((times >= t) & (times < t + 1.0)).sum()) for t in times)
    assert per_second <= RATE + 1  # not 2 x RATE with two workers
    assert (len(times) - 1) / (times[-1] - times[0]) <= RATE * 1.05

    recording_proxy.reset()
    r = subprocess.run([sys.executable, "-m", "geocolor.cli", "harvest", "--url", caps_url(recording_proxy.base), "--layer",
                        layer_name("WebMercatorQuad"), "--aoi", str(SAMPLE_AOI), "--zoom", "15", "--out", str(config.out),
                        "--rate", str(RATE), "--scheduler", cluster.address], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert f"fetched 0 (ok 0, blank 0, missing 0), skipped {result.total} already done" in r.stderr
    assert recording_proxy.tile_requests() == [] and json.loads(result.manifest.read_text())["tiles"] == tiles
