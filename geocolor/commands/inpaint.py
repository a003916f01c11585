"""``geocolor inpaint IN OUT`` (or ``IN... --out-dir DIR``): fill rasters' nodata holes or masked damage (thin shell over the API)."""

from __future__ import annotations

import click

from geocolor.commands.options import (
    device_option,
    echo_cluster,
    engine_option,
    in_out_pairs,
    overwrite_option,
    scheduler_option,
    show_progress,
    threads_option,
)
from geocolor.inpaint.selfcheck import METHODS


@click.command("inpaint")
@click.argument("paths", metavar="IN [IN ...] OUT", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Fill every path given (all are inputs) into DIR/<name>.tif.")
@click.option("--mask", type=click.Path(dir_okay=False), default=None,
              help="Raster of IN's size; non-zero pixels are filled. Default: IN's nodata / alpha / mask.")
@click.option("--model", type=click.Path(dir_okay=False), default=None, help="Inpainting model file (.pt, or an exported .onnx). Default: the shipped one.")
@click.option("--tile", type=click.IntRange(16, 8192), default=None, help="Window size in pixels (default: the model's).")
@click.option("--max-hole", type=click.FloatRange(0.01, 0.44), default=0.25, show_default=True,
              help="Widest hole filled, as a fraction of the tile; wider holes are left as they are and reported. Thin scratches of any length are filled.")
@click.option("--thin", type=click.FloatRange(0, 16), default=3.0, show_default=True,
              help="Holes whose every pixel lies within this many px of a known one (scratches, dust) are filled by "
                   "biharmonic interpolation, which beats the network there; 0: the network fills everything.")
@click.option("--method", type=click.Choice(METHODS), default="auto", show_default=True,
              help="How wider holes are filled: auto checks, hole by hole, which of the network and biharmonic "
                   "interpolation rebuilds a hidden ring of known pixels around the hole better, and uses it (or a "
                   "blend weighted by the two errors).")
@device_option
@engine_option
@threads_option
@overwrite_option
@click.option("--cog/--no-cog", default=True, show_default=True, help="Write a Cloud Optimized GeoTIFF with overviews.")
@scheduler_option
@click.pass_context
def command(ctx: click.Context, paths: tuple[str, ...], out_dir: str | None, mask: str | None, model: str | None, tile: int | None, max_hole: float,
            thin: float, method: str, device: str, engine: str, threads: int | None, overwrite: bool, cog: bool,
            scheduler: str | None) -> None:
    """Fill the holes of IN into OUT: IN's nodata pixels, or where --mask is non-zero.

    Only hole pixels change; OUT keeps IN's bands, data type, nodata, CRS and transform. Holes wider
    than --max-hole of the tile are left unfilled and counted in the summary line.
    """
    from dataclasses import replace

    from geocolor.inpaint.engine import InpaintOptions, inpaint

    opts = InpaintOptions(tile=tile, max_hole=max_hole, thin=thin, method=method, device=device, engine=engine, threads=threads,
                          overwrite=overwrite, cog=cog, show_progress=show_progress(ctx))
    pairs = in_out_pairs(paths, out_dir)
    if scheduler is not None:
        from geocolor.cluster import connect, inpaint_archive

        with connect(scheduler) as client:
            echo_cluster(client, ctx)
            done = inpaint_archive(client, pairs, replace(opts, mask=mask, model=model), show_progress=show_progress(ctx))
        results = done.made
    else:
        results = [inpaint(src, dst, mask=mask, model=model, options=opts) for src, dst in pairs]
    for result in results:
        if show_progress(ctx) or result.unfilled_pixels:
            click.echo(result.summary(), err=True)
