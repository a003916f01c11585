"""Faults between geocolor and a real TiTiler server, injected by a proxy: nothing is lost, 4xx are not
retried, bad answers are recorded as such, the rate cap and headers hold, and a harvest killed with
SIGKILL (or cancelled) and then re-run ends exactly as a clean run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import rasterio
from harvest_helpers import REPO, SAMPLE_AOI, FaultProxy, caps_url, layer_name, sample_config

from geocolor.harvest import RetryPolicy, harvest


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


class Assign:
    """Give each new tile path the next fault of a list, for the given attempts (thread-safe)."""

    def __init__(self, faults: list[str], attempts: set[int] | None = None) -> None:
        self.faults, self.attempts, self.by_path = list(faults), attempts, {}
        self.lock = threading.Lock()

    def __call__(self, path: str, attempt: int) -> str | None:
        with self.lock:
            if path not in self.by_path:
                self.by_path[path] = self.faults[len(self.by_path) % len(self.faults)] if self.faults else None
                if self.attempts is None and len(self.by_path) > len(self.faults):
                    self.by_path[path] = None  # "always" faults go to the first few tiles only
        if self.attempts is not None and attempt not in self.attempts:
            return None
        return self.by_path[path]


def test_transient_faults_lose_nothing(proxy: FaultProxy, proxy_clean_run, tmp_path: Path) -> None:
    ref_config, ref = proxy_clean_run
    faults = Assign(["500", "429", "drop", "slow", "truncate", "503"], attempts={1})
    proxy.reset(faults)
    patient = RetryPolicy(attempts=8, backoff=0.05, max_backoff=0.5)  # a loaded machine may time out a few more
    config = sample_config(proxy.base, tmp_path / "out", zoom="14", timeout=3.0, retry=patient)  # "slow" times out
    result = harvest(config)
    assert result.failed == 0 and result.counts["ok"] == ref.total and result.retries >= ref.total
    assert manifest(config.out) == manifest(ref_config.out)  # same tiles, same bytes: nothing lost or corrupted
    for path, fault in faults.by_path.items():
        times = [s.time for s in proxy.tile_requests() if s.path == path]
        assert len(times) >= 2, (fault, path)  # a fault, then (at least) one more try
        if fault == "429":
            assert times[1] - times[0] >= 0.95  # Retry-After: 1 honoured although backoff is 0.05 s


def test_4xx_not_retried_and_bad_answers_recorded(proxy: FaultProxy, tmp_path: Path) -> None:
    faults = Assign(["403", "404", "blank", "xml"])  # always, on four tiles
    proxy.reset(faults)
    config = sample_config(proxy.base, tmp_path / "out", zoom="14")
    result = harvest(config)
    m = manifest(config.out)
    by_status = {t["status"]: t for t in m["tiles"]}
    assert m["counts"] == {"total": 8, "ok": 4, "blank": 1, "missing": 1, "error": 1, "failed": 1, "pending": 0}
    assert result.failed == 2
    for fault, status in [("403", "failed"), ("404", "missing"), ("blank", "blank"), ("xml", "error")]:
        path = next(p for p, f in faults.by_path.items() if f == fault)
        assert proxy.attempts(path) == 1  # never retried
        assert by_status[status]["path"] is None and path in by_status[status]["url"]
    assert "TileOutOfRange" in by_status["error"]["message"]
    assert len(list(config.out.rglob("*.tif"))) == 4
    proxy.reset()
    again = harvest(config)  # failed and error tiles are fetched again; blank and missing are final
    assert again.fetched == 2 and again.skipped == 6 and again.failed == 0
    assert manifest(config.out)["counts"]["ok"] == 6


def test_rate_cap_user_agent_and_headers(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.reset()
    config = sample_config(proxy.base, tmp_path / "out", zoom="14", rate=5.0, headers={"X-Api-Key": "s3cret"})
    harvest(config)
    with proxy.lock:
        seen = list(proxy.seen)
    tiles = sorted(s.time for s in seen if "/tiles/" in s.path)
    assert len(tiles) == 8 and tiles[-1] - tiles[0] >= 7 / 5.0 * 0.9
    assert all(s.headers["user-agent"].startswith("geocolor/") and s.headers["x-api-key"] == "s3cret" for s in seen)


def tifs(out: Path) -> list[Path]:
    return sorted((out / "tiles").rglob("*.tif")) if (out / "tiles").exists() else []


def test_sigkill_then_rerun_equals_clean_run(proxy: FaultProxy, proxy_clean_run, tmp_path: Path) -> None:
    ref_config, ref = proxy_clean_run
    proxy.reset(delay_s=0.5)
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "geocolor.cli", "-q", "harvest", "--url", caps_url(proxy.base), "--layer",
            layer_name("WebMercatorQuad"), "--aoi", str(SAMPLE_AOI), "--zoom", "14", "--out", str(out),
            "--workers", "2", "--rate", "0"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while len(tifs(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    done = tifs(out)
    assert 3 <= len(done) < ref.total  # killed mid-run
    for path in done:  # no corrupt tile: every file that exists is complete
        with rasterio.open(path) as ds:
            assert ds.count == 4 and ds.read().shape == (4, 256, 256)
    proxy.reset()
    result = harvest(sample_config(proxy.base, out, zoom="14"))
    assert result.skipped >= len(done) and result.fetched == ref.total - result.skipped
    assert manifest(out) == manifest(ref_config.out)
    assert not list(out.rglob("*.part"))


def test_cancel_keeps_what_is_done(proxy: FaultProxy, proxy_clean_run, tmp_path: Path) -> None:
    ref_config, ref = proxy_clean_run
    proxy.reset(delay_s=0.3)
    finished: list[object] = []
    fractions: list[float] = []
    config = sample_config(proxy.base, tmp_path / "out", zoom="14", workers=2)
    result = harvest(config, progress=fractions.append, is_cancelled=lambda: len(finished) >= 2, on_tile=finished.append)
    assert result.cancelled and 2 <= result.fetched < ref.total
    assert fractions == sorted(fractions) and fractions[-1] < 1.0
    assert manifest(config.out)["counts"]["pending"] == ref.total - result.fetched
    proxy.reset()
    again = harvest(config, progress=fractions.append)
    assert again.skipped == result.fetched and fractions[-1] == 1.0
    assert manifest(config.out) == manifest(ref_config.out)


def test_gives_up_after_the_retry_budget(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.reset(Assign(["503"]))  # one tile always 503
    config = sample_config(proxy.base, tmp_path / "out", zoom="14", retry=RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02))
    result = harvest(config)
    failed = [t for t in manifest(config.out)["tiles"] if t["status"] == "failed"]
    assert result.failed == 1 and len(failed) == 1 and "gave up after 3 attempts (HTTP 503)" in failed[0]["message"]


def test_a_tile_damaged_on_disk_is_fetched_again_on_resume(proxy: FaultProxy, proxy_clean_run, tmp_path: Path) -> None:
    ref_config, ref = proxy_clean_run
    proxy.reset()
    config = sample_config(proxy.base, tmp_path / "out", zoom="14")
    harvest(config)
    victim = tifs(config.out)[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # truncated after the harvest
    result = harvest(config)
    assert result.fetched == 1 and result.skipped == ref.total - 1
    assert manifest(config.out) == manifest(ref_config.out)  # the same bytes as a clean run, not a new checksum
    with rasterio.open(victim) as ds:
        assert ds.read().shape == (4, 256, 256)
