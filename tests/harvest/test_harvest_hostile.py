"""A hostile or broken tile server cannot take memory, time or secrets: endless and dripping bodies,
decompression bombs, HTML error pages, redirect loops and redirects to another origin, between
geocolor and a real TiTiler server."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from harvest_helpers import REPO, SAMPLE_AOI, FaultProxy, caps_url, layer_name, sample_config
from test_harvest_faults import Assign

from geocolor.harvest import RetryPolicy, harvest


def _cap_memory() -> None:  # the child may not grow past 4 GB of address space, whatever the server sends
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def test_endless_dripping_bomb_and_html_answers_fail_fast_in_bounded_memory(proxy: FaultProxy, tmp_path: Path) -> None:
    faults = Assign(["endless", "drip", "bomb", "html"])  # always, on four tiles
    proxy.reset(faults)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "geocolor.cli", "-q", "harvest", "--url", caps_url(proxy.base), "--layer",
            layer_name("WebMercatorQuad"), "--aoi", str(SAMPLE_AOI), "--zoom", "14", "--out", str(out), "--rate", "0",
            "--max-bytes", "2000000", "--deadline", "4", "--timeout", "2", "--retries", "1"]
    start = time.monotonic()
    r = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300, preexec_fn=_cap_memory)
    took = time.monotonic() - start
    assert r.returncode == 1 and "tile(s) failed" in r.stderr, r.stderr  # one line, not a traceback
    assert "Traceback" not in r.stderr and took < 120
    tiles = json.loads((out / "manifest.json").read_text())["tiles"]
    by_fault = {f: next(t for t in tiles if p in t["url"]) for p, f in faults.by_path.items()}
    assert by_fault["endless"]["status"] == "failed" and "passed 2000000 bytes" in by_fault["endless"]["message"]
    assert by_fault["drip"]["status"] == "failed" and "after 4 s" in by_fault["drip"]["message"]
    assert by_fault["bomb"]["status"] == "error" and "11000 x 11000" in by_fault["bomb"]["message"]
    assert by_fault["html"]["status"] == "error"
    assert sum(t["status"] == "ok" for t in tiles) == 4
    for path, fault in faults.by_path.items():
        if fault in ("endless", "drip"):
            assert proxy.attempts(path) == 1  # a refused body is final: not fetched again and again


def test_redirect_loop_is_one_clear_failure(proxy: FaultProxy, tmp_path: Path) -> None:
    faults = Assign(["loop"])
    proxy.reset(faults)
    config = sample_config(proxy.base, tmp_path / "out", zoom="14", retry=RetryPolicy(attempts=2, backoff=0.01))
    result = harvest(config)
    (path,) = [p for p, f in faults.by_path.items() if f == "loop"]
    tiles = json.loads((config.out / "manifest.json").read_text())["tiles"]
    looped = next(t for t in tiles if path in t["url"])
    assert result.failed == 1 and looped["status"] == "failed" and "more than 5 redirects" in looped["message"]
    assert proxy.attempts(path) == 6  # the first request and five redirects, then stop


def test_api_key_never_follows_a_redirect_to_another_origin(proxy: FaultProxy, tmp_path: Path) -> None:
    faults = Assign(["away", "away"])
    proxy.reset(faults)
    config = sample_config(proxy.base, tmp_path / "out", zoom="14", headers={"X-Api-Key": "s3cret"})
    result = harvest(config)
    assert result.failed == 0 and result.counts["ok"] == 8  # the redirected tiles still arrive
    with proxy.lock:
        seen = list(proxy.seen)
    moved = [s for s in seen if "moved=1" in s.path]
    assert len(moved) == 2 and all(s.headers["host"].startswith("localhost") for s in moved)
    assert all("x-api-key" not in s.headers for s in moved)  # not sent to the other origin
    assert all(s.headers.get("x-api-key") == "s3cret" for s in seen if "moved=1" not in s.path)
