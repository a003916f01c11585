"""The harvest library API: plan (what tiles), execute (fetch them), harvest (both).

>>> from geocolor.aoi import aoi_from_file
>>> from geocolor.harvest import HarvestConfig, harvest
>>> cfg = HarvestConfig(out="tiles", aoi=aoi_from_file("sample_shapefiles/naip_aoi.shp"), zoom="15",
...                     url="http://host/WMTSCapabilities.xml", layer="ortho")      # doctest: +SKIP
>>> result = harvest(cfg, progress=lambda f: print(f"{f:.0%}"))                   # doctest: +SKIP

Planning reads the capabilities, picks layer, style, format, TMS and zoom, and selects the tiles
overlapping the AOI polygon; an AOI that meets no tile raises :class:`EmptyAOIError`. Executing
resumes from the output folder, fetches what is not done yet, and (re)writes manifest and VRT.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from geocolor.aoi import crs_label
from geocolor.files import write_json_atomic, write_text_atomic
from geocolor.harvest.config import HarvestConfig
from geocolor.harvest.errors import EmptyAOIError, HarvestError
from geocolor.harvest.fetcher import Fetcher
from geocolor.harvest.grids import TileKey, clip_aoi, estimate_tiles, select_tiles
from geocolor.harvest.manifest import build_manifest, build_vrt
from geocolor.harvest.runner import Stopwatch, TileCallback, TileJob, WriteSpec, make_reporter, run_jobs
from geocolor.harvest.sources import Source, resolve
from geocolor.harvest.store import MANIFEST, VRT, OutputStore, TileRecord
from geocolor.harvest.tiles import TileStatus, file_checksum
from geocolor.types import CancelCallback, ProgressCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HarvestPlan:
    """A resolved harvest: the source at its zoom and the tiles the AOI needs, in row-major order."""

    config: HarvestConfig
    source: Source
    tiles: list[TileKey]


@dataclass
class HarvestResult:
    """What a harvest did. ``counts`` are of the tiles fetched in this run, by status."""

    out: Path
    manifest: Path
    vrt: Path | None
    total: int
    fetched: int
    skipped: int
    counts: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0
    requests: int = 0
    retries: int = 0
    cancelled: bool = False

    @property
    def failed(self) -> int:
        """Tiles still to be fetched by a re-run (request failures and error answers)."""
        return self.counts.get("failed", 0) + self.counts.get("error", 0)

    @property
    def tiles_per_second(self) -> float:
        return self.fetched / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: fetched, skipped, failed, bytes, tiles/s."""
        c = self.counts
        return (
            f"{self.total} tiles: fetched {self.fetched} (ok {c.get('ok', 0)}, blank {c.get('blank', 0)}, "
            f"missing {c.get('missing', 0)}), skipped {self.skipped} already done, failed {self.failed}; "
            f"{self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s ({self.tiles_per_second:.1f} tiles/s), "
            f"{self.retries} retries" + ("; CANCELLED" if self.cancelled else "")
        )


def make_fetcher(config: HarvestConfig) -> Fetcher:
    """The polite HTTP client a harvest of ``config`` uses."""
    return Fetcher(headers=config.headers, timeout=config.timeout, retry=config.retry, rate=config.rate,
                   max_connections=config.workers, deadline=config.deadline, max_bytes=config.max_bytes)


def plan(config: HarvestConfig, fetcher: Fetcher | None = None) -> HarvestPlan:
    """Resolve the source and select the tiles overlapping the AOI polygon."""
    own = fetcher is None
    fetcher = fetcher or make_fetcher(config)
    try:
        source = resolve(config, fetcher)
    finally:
        if own:
            fetcher.close()
    check_tile_count(config, source.grid, estimate_tiles(source.grid, clip_aoi(config.aoi, source.coverage)
                                                           if source.coverage is not None else config.aoi), exact=False)
    tiles = select_tiles(source.grid, config.aoi, source.coverage)
    check_tile_count(config, source.grid, len(tiles), exact=True)
    if not tiles:
        grid = source.grid
        raise EmptyAOIError(
            f"the AOI ({crs_label(config.aoi.crs)} bounds {_fmt(config.aoi.bounds)}) meets no tile of "
            f"{source.description.get('layer', source.kind)} at zoom {grid.matrix_id} "
            f"(the layer covers {crs_label(grid.crs)} {_fmt(grid.extent())}); check the AOI, its CRS and --tms"
        )
    log.info("%d tiles overlap the AOI at zoom %s", len(tiles), source.grid.matrix_id)
    return HarvestPlan(config, source, tiles)


def check_tile_count(config: HarvestConfig, grid: Any, count: int, exact: bool) -> None:
    """Refuse a harvest of more than ``config.max_tiles`` tiles, saying how many and which zoom would fit.

    The cheap estimate (from the AOI's bounds) refuses at once only when it is far above the limit (an
    AOI polygon may fill little of its bounds); the exact count after selection has the last word.
    """
    limit = config.max_tiles
    if not limit or count <= (limit if exact else 20 * limit):
        return
    coarser = max(1, math.ceil(math.log(count / limit, 4)))  # each zoom level quarters the count
    zoom = grid.matrix_id
    fit = f"zoom {int(zoom) - coarser}" if str(zoom).isdigit() and int(zoom) >= coarser else f"{coarser} zoom level(s) coarser"
    raise HarvestError(
        f"{'' if exact else 'about '}{count} tiles at zoom {zoom} is more than --max-tiles {limit}; "
        f"{fit} would fit (about {count // 4 ** coarser} tiles), or cut the AOI, or raise --max-tiles"
    )


def _fmt(bounds: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in bounds) + ")"


def execute(
    the_plan: HarvestPlan,
    progress: ProgressCallback | None = None,
    is_cancelled: CancelCallback | None = None,
    on_tile: TileCallback | None = None,
    fetcher: Fetcher | None = None,
) -> HarvestResult:
    """Fetch the planned tiles not already done, then write manifest and VRT."""
    config, source = the_plan.config, the_plan.source
    clock = Stopwatch()
    store = OutputStore(config.out, source.identity, overwrite=config.overwrite)
    known = store.open()
    try:
        done, jobs = split_done(the_plan, store, known)
        if done:
            log.info("resuming: %d of %d tiles already done", len(done), len(the_plan.tiles))
        report = make_reporter(len(the_plan.tiles), len(done), progress, on_tile)
        if progress is not None:
            progress(len(done) / len(the_plan.tiles) if the_plan.tiles else 1.0)
        own = fetcher is None
        fetcher = fetcher or make_fetcher(config)
        try:
            new, stats, cancelled = run_jobs(jobs, fetcher, write_spec(the_plan), store, config.workers, report, is_cancelled)
        finally:
            if own:
                fetcher.close()
    finally:
        store.close()
    attempted = {r.key for r in new}
    pending = [replace(job.record, path=None) for job in jobs if job.record.key not in attempted]
    manifest, vrt = write_outputs(the_plan, done + new + pending)
    return HarvestResult(
        out=config.out, manifest=manifest, vrt=vrt, total=len(the_plan.tiles), fetched=stats.fetched, skipped=len(done),
        counts=stats.by_status, bytes=stats.bytes, seconds=clock.seconds, requests=fetcher.requests,
        retries=fetcher.retries, cancelled=cancelled,
    )


def harvest(
    config: HarvestConfig,
    progress: ProgressCallback | None = None,
    is_cancelled: CancelCallback | None = None,
    on_tile: TileCallback | None = None,
) -> HarvestResult:
    """Plan and execute a harvest with one polite HTTP client; see :class:`HarvestConfig`."""
    with make_fetcher(config) as fetcher:
        return execute(plan(config, fetcher), progress, is_cancelled, on_tile, fetcher)


def split_done(the_plan: HarvestPlan, store: OutputStore, known: dict[TileKey, TileRecord]) -> tuple[list[TileRecord], list[TileJob]]:
    """Tiles already complete (a file on disk, or a final blank/missing answer) and jobs for the rest."""
    done: list[TileRecord] = []
    jobs: list[TileJob] = []
    grid, url_for = the_plan.source.grid, the_plan.source.url_for
    for key in the_plan.tiles:
        planned = TileRecord(key, TileStatus.PENDING, url_for(key), grid.tile_bounds(key.col, key.row), path=store.tile_relpath(key))
        path = store.tile_path(key)
        prev = known.get(key)
        if path.exists() and _damaged(path, prev):
            log.warning("tile %s on disk differs from the manifest (%s); fetching it again", key.name, path)
            path.unlink()
            jobs.append(TileJob(planned, path))
        elif path.exists():
            done.append(_on_disk(planned, path, prev))
        elif prev is not None and prev.status in (TileStatus.BLANK, TileStatus.MISSING):
            done.append(TileRecord(key, prev.status, planned.url, planned.bounds, message=prev.message))
        else:
            jobs.append(TileJob(planned, path))
    return done, jobs


def _damaged(path: Path, prev: TileRecord | None) -> bool:
    """A recorded tile whose file no longer has the recorded size (truncated or replaced since)."""
    return prev is not None and prev.status is TileStatus.OK and prev.size is not None and prev.size != path.stat().st_size


def _on_disk(planned: TileRecord, path: Path, prev: TileRecord | None) -> TileRecord:
    if prev is not None and prev.status is TileStatus.OK and prev.sha256 and prev.size == path.stat().st_size:
        digest, size = prev.sha256, prev.size
    else:  # written, then killed before the journal line: trust the atomic rename, re-hash the file
        digest, size = file_checksum(path)
    return TileRecord(planned.key, TileStatus.OK, planned.url, planned.bounds, planned.path, digest, size)


def write_spec(the_plan: HarvestPlan) -> WriteSpec:
    from rasterio.crs import CRS

    grid, config = the_plan.source.grid, the_plan.config
    auth = grid.crs.to_authority(min_confidence=90)
    crs = CRS.from_user_input(f"{auth[0]}:{auth[1]}") if auth else CRS.from_wkt(grid.crs.to_wkt())
    return WriteSpec(crs, grid.tile_width, grid.tile_height, grid.name, config.error_checksums)


def write_outputs(the_plan: HarvestPlan, records: list[TileRecord]) -> tuple[Path, Path | None]:
    """(Re)write ``manifest.json`` and ``tiles.vrt`` (the VRT only when some tile holds data)."""
    out, source = the_plan.config.out, the_plan.source
    grid = source.grid
    spec = write_spec(the_plan)
    north_first = grid.crs.axis_info[0].direction.lower() in ("north", "south")
    vrt_text = build_vrt(records, spec.crs.to_wkt(), north_first, (grid.tile_width, grid.tile_height))
    vrt_path = out / VRT if vrt_text else None
    if vrt_path is not None and vrt_text is not None:
        write_text_atomic(vrt_path, vrt_text, fsync=True)
    elif (out / VRT).exists():
        (out / VRT).unlink()
    manifest = out / MANIFEST
    write_json_atomic(manifest, build_manifest(source, the_plan.config.aoi, records, VRT if vrt_path else None),
                      indent=1, sort_keys=True, fsync=True)
    return manifest, vrt_path
