"""Harvest a large AOI on a Dask cluster: the tile list cut into chunks, one politeness for the whole cluster.

This process plans the harvest (capabilities, tile selection), opens the output folder and its
journal exactly as ``geocolor.harvest.execute`` does, and splits the tiles still to fetch into
chunks. Each chunk is one task: a worker fetches its tiles on a few threads and writes each as a
GeoTIFF (atomically, as ever). The politeness settings stay global: requests per second are capped
for the whole cluster by one shared lease (``geocolor.cluster.ratelimit``), and the threads per task
are the harvest's ``workers`` divided by the cluster's task slots, so neither multiplies with the
number of workers. Results come back here, where the journal is appended (one writer), and one
manifest and VRT are written at the end. Resuming works as for a local harvest: tiles on disk are
not fetched again, and a chunk rerun after its worker died skips the tiles that worker finished.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from geocolor.cluster.progress import track
from geocolor.cluster.ratelimit import limiter_name
from geocolor.cluster.tasks import ChunkResult, FetchSettings, fetch_chunk
from geocolor.errors import GeocolorError

if TYPE_CHECKING:
    from distributed import Client, Future

    from geocolor.harvest import HarvestConfig, HarvestResult
    from geocolor.harvest.store import TileRecord

log = logging.getLogger(__name__)

MAX_CHUNK = 256  # tiles per task at most


def chunk_size(tiles: int, slots: int, max_chunk: int = MAX_CHUNK) -> int:
    """Tiles per chunk: about four chunks per task slot (so a slow worker does not hold up the end), at most ``max_chunk``."""
    return max(1, min(max_chunk, math.ceil(tiles / (4 * max(1, slots)))))


def task_slots(client: Client) -> int:
    """The cluster's task slots now (threads over all workers), at least 1."""
    return max(1, sum(int(n) for n in client.nthreads().values()))


def harvest_on_cluster(client: Client, config: HarvestConfig, *, show_progress: bool = True, max_chunk: int = MAX_CHUNK) -> HarvestResult:
    """Plan here, fetch on the cluster, write the journal, manifest and VRT here (see module docstring)."""
    from geocolor.harvest import HarvestResult, plan
    from geocolor.harvest.api import make_fetcher, split_done, write_outputs, write_spec
    from geocolor.harvest.runner import RunStats, Stopwatch
    from geocolor.harvest.store import OutputStore

    clock = Stopwatch()
    with make_fetcher(config) as fetcher:
        the_plan = plan(config, fetcher)
    url = config.url or config.xyz or ""
    store = OutputStore(config.out, the_plan.source.identity, overwrite=config.overwrite)
    known = store.open()
    stats, new = RunStats(), []
    requests = retries = 0
    failures: list[BaseException] = []
    try:
        done, jobs = split_done(the_plan, store, known)
        if done:
            log.info("resuming: %d of %d tiles already done", len(done), len(the_plan.tiles))
        slots = task_slots(client)
        size = chunk_size(len(jobs), slots, max_chunk)
        settings = FetchSettings(dict(config.headers), config.timeout, config.retry, config.deadline, config.max_bytes,
                                 threads=max(1, config.workers // slots), rate=config.rate, limiter=limiter_name(url))
        spec = write_spec(the_plan)
        chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        futures: list[Future] = [client.submit(fetch_chunk, chunk, spec, settings, key=f"geocolor-harvest-{uuid.uuid4().hex[:12]}",
                                               pure=False) for chunk in chunks]
        sizes = {str(f.key): len(c) for f, c in zip(futures, chunks)}
        for future in track(futures, "harvest", unit="tile", show=show_progress, weight=lambda f: sizes[str(f.key)],
                            total=len(the_plan.tiles), initial=len(done)):
            if future.status == "error":
                failures.append(future.exception())
                continue
            chunk: ChunkResult = future.result()
            requests, retries = requests + chunk.requests, retries + chunk.retries
            for rec, nbytes in chunk.records:
                store.append(rec)
                new.append(rec)
                stats.add(rec, nbytes)
    finally:
        store.close()
    attempted = {r.key for r in new}
    pending: list[TileRecord] = [replace(job.record, path=None) for job in jobs if job.record.key not in attempted]
    manifest, vrt = write_outputs(the_plan, done + new + pending)
    if failures:
        first = failures[0]
        raise GeocolorError(f"{len(failures)} of {len(futures)} harvest chunk(s) failed ({str(first).splitlines()[0][:200] if str(first) else type(first).__name__}); "
                            f"{len(pending)} tile(s) left pending in {manifest}: rerun the same command to fetch them")
    return HarvestResult(out=config.out, manifest=manifest, vrt=vrt, total=len(the_plan.tiles), fetched=stats.fetched,
                         skipped=len(done), counts=stats.by_status, bytes=stats.bytes, seconds=clock.seconds,
                         requests=requests, retries=retries)
