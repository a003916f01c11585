"""Fetch many tiles concurrently: a thread pool fed through a bounded window, results handled in order of arrival.

Worker threads fetch, classify and write their tile; the calling thread alone journals results,
counts them, and reports progress, so the journal needs no lock and callbacks (a QGIS task's
``setProgress``, a tqdm bar) run on one thread. At most ``2 x workers`` tiles are queued at a time,
so a country-sized AOI does not turn into a million pending futures. Cancellation (the
``is_cancelled`` callback, or Ctrl-C) stops queueing, interrupts retry waits, and lets the tiles
being written finish: no tile is left half-written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geocolor.harvest.errors import FetchError
from geocolor.harvest.fetcher import Fetcher
from geocolor.harvest.store import OutputStore, TileRecord
from geocolor.harvest.tiles import TileStatus, classify, write_geotiff
from geocolor.types import CancelCallback, ProgressCallback

log = logging.getLogger(__name__)

TileCallback = Callable[[TileRecord], None]


@dataclass(frozen=True)
class TileJob:
    """One tile to fetch: its planned record (status not yet known) and where its file goes."""

    record: TileRecord
    path: Path


@dataclass
class WriteSpec:
    """What every worker needs to turn an answer into a GeoTIFF."""

    crs: Any  # rasterio CRS
    width: int
    height: int
    grid_name: str
    error_checksums: frozenset[str] = frozenset()


@dataclass
class RunStats:
    """Counts of one run (tiles fetched now, by status) and its traffic."""

    fetched: int = 0
    bytes: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in TileStatus})

    def add(self, record: TileRecord, nbytes: int) -> None:
        self.fetched += 1
        self.bytes += nbytes
        self.by_status[record.status.value] += 1
        if record.status in (TileStatus.ERROR, TileStatus.FAILED):
            bad = self.by_status["error"] + self.by_status["failed"]
            level = logging.WARNING if bad == 1 else logging.INFO  # the first says why; the rest only with -v
            more = " (further failures are logged at INFO level, -v)" if bad == 1 else ""
            log.log(level, "tile %s %s: %s%s", record.key.name, record.status.value, record.message, more)


def fetch_one(job: TileJob, fetcher: Fetcher, spec: WriteSpec) -> tuple[TileRecord | None, int]:
    """Fetch, judge and (when it holds data) write one tile; None when the harvest was cancelled first."""
    rec = job.record
    try:
        resp = fetcher.get(rec.url)
    except FetchError as e:
        if fetcher.cancelled.is_set():
            return None, 0
        return _with(rec, TileStatus.FAILED, message=str(e)), 0
    judged = classify(resp, spec.width, spec.height, spec.error_checksums)
    if judged.status is not TileStatus.OK or judged.rgba is None:
        return _with(rec, judged.status, message=judged.message), len(resp.content)
    tags = {"GEOCOLOR_SOURCE_URL": rec.url, "GEOCOLOR_TILE": f"{spec.grid_name}/{rec.key.name}"}
    digest, size = write_geotiff(job.path, judged.rgba, spec.crs, rec.bounds, tags)  # GeocolorIOError on failure
    return _with(rec, TileStatus.OK, path=rec.path, sha256=digest, size=size), len(resp.content)


def _with(rec: TileRecord, status: TileStatus, **changes: Any) -> TileRecord:
    return TileRecord(rec.key, status, rec.url, rec.bounds, **{"path": None, "sha256": None, "size": None, **changes})


def run_jobs(
    jobs: list[TileJob],
    fetcher: Fetcher,
    spec: WriteSpec,
    store: OutputStore,
    workers: int,
    report: Callable[[TileRecord], None],
    is_cancelled: CancelCallback | None = None,
) -> tuple[list[TileRecord], RunStats, bool]:
    """Run ``jobs`` on ``workers`` threads; the new records, the counts, and whether it was cancelled."""
    stats, records = RunStats(), []
    queue: Iterator[TileJob] = iter(jobs)
    pending: set[Future[tuple[TileRecord | None, int]]] = set()
    cancelled = False
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="geocolor-harvest")
    try:
        while True:
            cancelled = cancelled or bool(is_cancelled and is_cancelled())
            if cancelled:
                fetcher.cancel()
            while not cancelled and len(pending) < 2 * workers and (job := next(queue, None)) is not None:
                pending.add(pool.submit(fetch_one, job, fetcher, spec))
            if not pending:
                break
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in done:
                rec, nbytes = future.result()
                if rec is not None:
                    store.append(rec)
                    records.append(rec)
                    stats.add(rec, nbytes)
                    report(rec)
    finally:
        if pending:  # an exception (Ctrl-C, a disk error) is on its way out: stop the other workers
            fetcher.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
    return records, stats, cancelled


def make_reporter(total: int, already: int, progress: ProgressCallback | None, on_tile: TileCallback | None) -> Callable[[TileRecord], None]:
    """A per-tile callback feeding ``progress`` (fraction of all tiles done) and ``on_tile``."""
    done = already

    def report(rec: TileRecord) -> None:
        nonlocal done
        done += 1
        if on_tile is not None:
            on_tile(rec)
        if progress is not None:
            progress(done / total if total else 1.0)

    return report


class Stopwatch:
    """Seconds since creation."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
