"""``geocolor harvest``: fetch WMTS/XYZ tiles inside an AOI as georeferenced GeoTIFFs (thin shell over the API)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from geocolor.aoi import AOI
    from geocolor.harvest import HarvestPlan, HarvestResult
    from geocolor.harvest.fetcher import Fetcher


def _aoi(bbox: str | None, bbox_crs: str, aoi: str | None, aoi_layer: str | None) -> AOI:
    from geocolor.aoi import aoi_from_bbox, aoi_from_file

    if (bbox is None) == (aoi is None):
        raise click.UsageError("give the area as --bbox MINX,MINY,MAXX,MAXY (with --bbox-crs) or as --aoi FILE, one of them")
    return aoi_from_file(aoi, aoi_layer) if aoi else aoi_from_bbox(bbox or "", bbox_crs)


def _list_layers(url: str, headers: dict[str, str], timeout: float, deadline: float, max_bytes: int) -> None:
    from geocolor.harvest.capabilities import describe, read_capabilities
    from geocolor.harvest.fetcher import Fetcher

    with Fetcher(headers=headers, timeout=timeout, deadline=deadline, max_bytes=max_bytes) as fetcher:
        for line in describe(read_capabilities(url, fetcher)):
            click.echo(line)


@click.command("harvest")
@click.option("--url", help="WMTS capabilities URL (WMTSCapabilities.xml or a GetCapabilities request).")
@click.option("--layer", help="Layer identifier in the capabilities (see --list).")
@click.option("--xyz", help="XYZ tile URL template with {z}, {x} and {y} (or {-y}), instead of --url/--layer.")
@click.option("--bbox", help="AOI as MINX,MINY,MAXX,MAXY (x/longitude first) in --bbox-crs.")
@click.option("--bbox-crs", default="EPSG:4326", show_default=True, help="CRS of --bbox.")
@click.option("--aoi", type=click.Path(exists=True, dir_okay=False), help="AOI polygon(s): shapefile, GeoPackage, GeoJSON, ...")
@click.option("--aoi-layer", default=None, help="Layer of a multi-layer --aoi file (default: the first).")
@click.option("--zoom", help="Tile matrix (zoom) identifier of the TMS, e.g. 16.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder: tiles/, manifest.json, tiles.vrt.")
@click.option("--tms", help="Tile matrix set identifier (default: the layer's best one for the AOI).")
@click.option("--style", help="WMTS style (default: the layer's default style).")
@click.option("--format", "fmt", help="Tile format, e.g. image/png or jpeg (default: the most lossless offered).")
@click.option("--dimension", multiple=True, metavar="NAME=VALUE", help="WMTS dimension value, e.g. Time=2020 (repeatable).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True, help="Concurrent requests.")
@click.option("--rate", type=click.FloatRange(min=0), default=20.0, show_default=True, help="Max requests per second (0: no cap).")
@click.option("--header", "-H", multiple=True, metavar="'NAME: VALUE'", help="Extra HTTP header, e.g. an API key (repeatable).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds of silence allowed per request.")
@click.option("--deadline", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds a tile may take in all, retries included.")
@click.option("--max-bytes", type=click.IntRange(min=1024), default=64 * 1024 * 1024, show_default=True,
              help="Largest response body accepted.")
@click.option("--retries", type=click.IntRange(0, 20), default=5, show_default=True, help="Retries per tile (backoff + jitter).")
@click.option("--max-tiles", type=click.IntRange(min=0), default=100_000, show_default=True,
              help="Refuse a harvest of more tiles than this (0: no limit); the error says which zoom fits.")
@click.option("--tile-size", type=click.IntRange(min=1), default=256, show_default=True, help="XYZ tile size in pixels.")
@click.option("--error-checksum", multiple=True, metavar="SHA256", help="SHA-256 of the server's error image (repeatable).")
@click.option("--overwrite", is_flag=True, help="Discard a previous harvest in --out and start again.")
@click.option("--list", "list_only", is_flag=True, help="List the layers, formats and tile matrix sets of --url and exit.")
@click.option("--scheduler", default=None, metavar="ADDRESS|local[:N]",
              help="Fetch on a Dask cluster (a scheduler address, or local:N): the tiles are split into chunks across "
                   "workers; --rate and --workers stay limits for the whole cluster. --out must be on storage every worker sees.")
@click.pass_context
def command(ctx: click.Context, url: str | None, layer: str | None, xyz: str | None, bbox: str | None, bbox_crs: str,
            aoi: str | None, aoi_layer: str | None, zoom: str | None, out: str | None, tms: str | None, style: str | None,
            fmt: str | None, dimension: tuple[str, ...], workers: int, rate: float, header: tuple[str, ...], timeout: float,
            deadline: float, max_bytes: int, retries: int, max_tiles: int, tile_size: int, error_checksum: tuple[str, ...],
            overwrite: bool, list_only: bool, scheduler: str | None) -> None:
    """Harvest every tile that overlaps an AOI polygon, as georeferenced GeoTIFFs, a manifest and a VRT.

    Re-running the same command resumes: tiles already on disk are not fetched again.
    """
    from geocolor.harvest import HarvestConfig, HarvestError, RetryPolicy, plan
    from geocolor.harvest.api import make_fetcher
    from geocolor.harvest.config import check_url, parse_assignment, parse_header

    verbose = (ctx.obj or {}).get("verbose", 0)
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    headers = dict(parse_header(h) for h in header)
    if list_only:
        if not url:
            raise click.UsageError("--list needs --url")
        check_url(url, "--url")
        _list_layers(url, headers, timeout, deadline, max_bytes)
        return
    if not zoom or not out:
        raise click.UsageError("--zoom and --out are required")
    config = HarvestConfig(
        out=Path(out), aoi=_aoi(bbox, bbox_crs, aoi, aoi_layer), zoom=zoom, url=url, layer=layer, xyz=xyz, tms=tms, style=style,
        format=fmt, dimensions=dict(parse_assignment(d) for d in dimension), workers=workers, rate=rate or None,
        headers=headers, timeout=timeout, deadline=deadline, max_bytes=max_bytes, retry=RetryPolicy(attempts=retries + 1),
        tile_size=tile_size, max_tiles=max_tiles,
        overwrite=overwrite, error_checksums=frozenset(c.lower() for c in error_checksum),
    )
    quiet = (ctx.obj or {}).get("quiet", False)
    if scheduler is not None:
        from geocolor.cluster import connect, harvest_on_cluster
        from geocolor.commands.options import echo_cluster

        with connect(scheduler) as client:
            echo_cluster(client, ctx)
            result = harvest_on_cluster(client, config, show_progress=not quiet)
    else:
        with make_fetcher(config) as fetcher:
            the_plan = plan(config, fetcher)
            result = _execute_with_bar(the_plan, fetcher, quiet)
    if not quiet:
        click.echo(result.summary(), err=True)
        click.echo(f"manifest: {result.manifest}" + (f"\nvrt: {result.vrt}" if result.vrt else ""), err=True)
    if result.failed:
        raise HarvestError(f"{result.failed} tile(s) failed (listed in {result.manifest}); re-run the same command to retry them")


def _execute_with_bar(the_plan: HarvestPlan, fetcher: Fetcher, quiet: bool) -> HarvestResult:
    from tqdm import tqdm

    from geocolor.harvest import execute

    bars: list[tqdm] = []  # made on the first progress report, so an early error shows no bar

    def progress(fraction: float) -> None:
        done = round(fraction * len(the_plan.tiles))
        if not bars:  # the first report counts the tiles already on disk: the rate shown is of new ones
            bars.append(tqdm(total=len(the_plan.tiles), initial=done, unit="tile", disable=quiet, file=sys.stderr, dynamic_ncols=True))
        bars[0].update(done - bars[0].n)

    try:
        return execute(the_plan, progress=progress, fetcher=fetcher)
    finally:
        for bar in bars:
            bar.close()
