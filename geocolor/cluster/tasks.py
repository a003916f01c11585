"""What runs on the workers: one raster, one window, one join, one chunk of harvest tiles.

Every task is idempotent and writes through a name of its own: it produces its file under a hidden
attempt name beside the target (``.NAME.gc-<random>.tif``) and renames it onto the target only when
complete, so a worker killed at any moment leaves the target as it was, and the scheduler's retry of
the task elsewhere never meets a half-written file or another attempt's temp files. A task whose
target exists (and may not be replaced) returns at once: a rerun skips finished work.
Leftover attempt files of killed workers are removed by the client (``leftovers``).

Models are loaded once per worker process and kept (``translator_for``).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geocolor import raster

if TYPE_CHECKING:
    from geocolor.harvest.fetcher import RetryPolicy
    from geocolor.harvest.runner import TileJob, WriteSpec
    from geocolor.harvest.store import TileRecord
    from geocolor.inpaint.engine import InpaintOptions, InpaintResult
    from geocolor.mosaic.engine import MosaicOptions, MosaicResult
    from geocolor.mosaic.windows import Band

log = logging.getLogger(__name__)

ATTEMPT = ".gc-"  # marks attempt files and part folders: ``.<target name>.gc-...``

_MODELS: dict[tuple[str, str, str], Any] = {}
_MODELS_LOCK = threading.Lock()
_WORKER_THREADS: int | None = None  # set on each worker by ``scheduler.WorkerThreads``


def attempt_path(target: Path) -> Path:
    """A fresh hidden name beside ``target`` for one attempt at writing it."""
    return target.parent / f".{target.name}{ATTEMPT}{uuid.uuid4().hex[:12]}.tif"


def parts_dir(dst: Path, digest: str) -> Path:
    """The folder of ``dst``'s window parts for one set of options (``digest``)."""
    return dst.parent / f".{dst.name}{ATTEMPT}parts-{digest}"


def leftovers(dst: Path, keep: Path | None = None) -> list[Path]:
    """Attempt files, their temp files and part folders of ``dst`` left beside it (except ``keep``)."""
    prefix = f"{dst.name}{ATTEMPT}"
    try:
        entries = list(dst.parent.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.name.startswith(".") and p.name.lstrip(".").startswith(prefix) and p != keep]


def remove_leftovers(dst: Path, keep: Path | None = None, files_only: bool = False) -> int:
    """Delete ``leftovers(dst, keep)`` (``files_only``: not the part folders); how many there were."""
    found = [p for p in leftovers(dst, keep) if not (files_only and p.is_dir())]
    for path in found:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else raster.remove_quietly(path)
    return len(found)


def _cached(kind: str, path: Any, device: str, load: Callable[[], Any]) -> Any:
    key = (kind, str(path), device)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = load()
        return _MODELS[key]


def set_worker_threads(threads: int) -> None:
    """The threads this worker's model engine uses when a run does not say (``scheduler.WorkerThreads``)."""
    global _WORKER_THREADS
    _WORKER_THREADS = max(1, int(threads))


def _threads(asked: int | None) -> int | None:
    return asked or _WORKER_THREADS


def translator_for(options: MosaicOptions) -> Any:
    """The colorization model ``options`` name on its engine, loaded once per worker process."""
    from geocolor.models.engines import load_colorizer

    threads = _threads(options.threads)
    how = f"{options.device}/{options.engine}/{options.precision}/{threads}"
    return _cached("colorize", (options.model, options.style is not None), how,
                   lambda: load_colorizer(options.model, options.device, options.engine, options.precision, threads, style=options.style))


def _inpainter_for(options: InpaintOptions) -> Any:
    from geocolor.inpaint.engines import load_filler

    threads = _threads(options.threads)
    how = f"{options.device}/{options.engine}/{threads}"
    return _cached("inpaint", options.model, how, lambda: load_filler(options.model, options.device, options.engine, threads))


def _publish(attempt: Path, target: Path) -> None:
    try:
        os.replace(attempt, target)
    except OSError as e:
        from geocolor.errors import GeocolorIOError

        raise GeocolorIOError(f"cannot write {target}: {e.strerror or e}") from None


def colorize_task(src: str, dst: str, options: MosaicOptions) -> MosaicResult | None:
    """Colour ``src`` into ``dst``; None when ``dst`` exists and ``options.overwrite`` is off."""
    from geocolor.mosaic.engine import colorize

    target = Path(dst)
    if target.exists() and not options.overwrite:
        return None
    attempt = attempt_path(target)
    try:
        result = colorize(src, attempt, replace(options, overwrite=True, show_progress=False), translator=translator_for(options))
        _publish(attempt, target)
    finally:
        raster.remove_quietly(attempt)
    return replace(result, path=target)


def window_task(src: str, part: str, cols: Band, rows: Band, options: MosaicOptions) -> str:
    """Colour one window of ``src`` into the part file ``part`` (kept when it exists: parts are resumable)."""
    from geocolor.mosaic.parts import colorize_window

    target = Path(part)
    if target.exists():
        return part
    target.parent.mkdir(parents=True, exist_ok=True)
    attempt = attempt_path(target)
    try:
        colorize_window(src, attempt, cols, rows, replace(options, show_progress=False), translator=translator_for(options))
        _publish(attempt, target)
    finally:
        raster.remove_quietly(attempt)
    return part


def join_task(src: str, dst: str, parts: list[tuple[str, tuple[int, int, int, int]]], options: MosaicOptions,
              *_done: str) -> MosaicResult | None:
    """Join the window ``parts`` of ``src`` into ``dst`` (``_done``: the window tasks' results, awaited), then
    delete their folder; None when ``dst`` exists and ``options.overwrite`` is off."""
    from geocolor.mosaic.parts import join_windows

    target = Path(dst)
    folder = Path(parts[0][0]).parent
    if target.exists() and not options.overwrite:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    attempt = attempt_path(target)
    try:
        result = join_windows(src, parts, attempt, options)
        _publish(attempt, target)
    finally:
        raster.remove_quietly(attempt)
    shutil.rmtree(folder, ignore_errors=True)
    return replace(result, path=target)


def inpaint_task(src: str, dst: str, options: InpaintOptions) -> InpaintResult | None:
    """Fill the holes of ``src`` into ``dst``; None when ``dst`` exists and ``options.overwrite`` is off."""
    from geocolor.inpaint.engine import inpaint

    target = Path(dst)
    if target.exists() and not options.overwrite:
        return None
    attempt = attempt_path(target)
    try:
        result = inpaint(src, attempt, options=replace(options, overwrite=True, show_progress=False),
                         inpainter=_inpainter_for(options))
        _publish(attempt, target)
    finally:
        raster.remove_quietly(attempt)
    return replace(result, path=target)


@dataclass(frozen=True)
class FetchSettings:
    """How a chunk task fetches: the harvest's HTTP settings, its share of the concurrency, the shared rate."""

    headers: dict[str, str]
    timeout: float
    retry: RetryPolicy
    deadline: float
    max_bytes: int
    threads: int
    rate: float | None  # requests per second over the whole cluster (None: no cap)
    limiter: str  # name of the cluster-wide rate limit (one per server)


@dataclass
class ChunkResult:
    """What one chunk task did: each tile's record and response size, and its HTTP traffic."""

    records: list[tuple[TileRecord, int]] = field(default_factory=list)
    requests: int = 0
    retries: int = 0


def fetch_chunk(jobs: list[TileJob], spec: WriteSpec, settings: FetchSettings) -> ChunkResult:
    """Fetch one chunk of tiles on ``settings.threads`` threads under the cluster-wide rate limit.

    A tile whose file exists (written by an earlier attempt of this chunk on a worker that died) is
    not fetched again.
    """
    from geocolor.cluster.ratelimit import ClusterRateLimiter
    from geocolor.harvest.fetcher import Fetcher
    from geocolor.harvest.runner import fetch_one
    from geocolor.harvest.store import TileRecord
    from geocolor.harvest.tiles import TileStatus, file_checksum

    result = ChunkResult()
    todo = []
    for job in jobs:
        if job.path.exists():
            digest, size = file_checksum(job.path)
            rec = job.record
            result.records.append((TileRecord(rec.key, TileStatus.OK, rec.url, rec.bounds, rec.path, digest, size), 0))
        else:
            todo.append(job)
    limiter = ClusterRateLimiter(settings.limiter, settings.rate) if settings.rate else None
    with Fetcher(headers=settings.headers, timeout=settings.timeout, retry=settings.retry, max_connections=settings.threads,
                 deadline=settings.deadline, max_bytes=settings.max_bytes, limiter=limiter) as fetcher:
        if limiter is not None:
            limiter.cancel = fetcher.cancelled
        with ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="geocolor-harvest") as pool:
            for fetched, nbytes in pool.map(lambda job: fetch_one(job, fetcher, spec), todo):
                if fetched is not None:
                    result.records.append((fetched, nbytes))
        result.requests, result.retries = fetcher.requests, fetcher.retries
    return result
