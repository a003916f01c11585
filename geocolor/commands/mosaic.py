"""``geocolor mosaic IN OUT``: colorize a gray raster into a colour GeoTIFF (thin shell over the API)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from geocolor.commands.options import (
    device_option,
    echo_cluster,
    engine_option,
    finite,
    in_out_pairs,
    model_option,
    overwrite_option,
    parse_bands,
    precision_option,
    scheduler_option,
    show_progress,
    threads_option,
)

if TYPE_CHECKING:
    from geocolor.mosaic.engine import MosaicOptions


@click.command("mosaic")
@click.argument("paths", metavar="IN [IN ...] OUT", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Colorize every path given (all are inputs) into DIR/<name>.tif.")
@click.option("--style", default=None, metavar="REF.tif|NAME|auto",
              help="One palette for every tile and input: a colour reference raster, a named style of the model, "
                   "or auto (several inputs: their pooled palette). Without --model: the shipped stylecolor model.")
@click.option("--tone-match/--no-tone-match", default=True, show_default=True,
              help="With --style: let the model see every input at the style's tonal range (L* distribution) "
                   "before colouring; the output keeps the input's own L*.")
@click.option("--dodge", type=click.FloatRange(min=0, max=100_000), default=0, metavar="PX", callback=lambda c, p, v: finite(v, "--dodge"),
              help="Even out slow exposure changes (vignetting, drift) over this radius in pixels before the model "
                   "sees the input (about a tenth of a frame's side); the output keeps the input's L*. 0: off.")
@model_option
@click.option("--tile", type=click.IntRange(16, 8192), default=None, help="Tile size in pixels (default: the model's).")
@click.option("--overlap", type=click.IntRange(min=0), default=32, show_default=True, help="Overlap between tiles, blended smoothly.")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True, help="Tiles per model call.")
@device_option
@engine_option
@precision_option
@threads_option
@overwrite_option
@click.option("--bands", callback=parse_bands, default=None, help="Input band(s) to use: N for gray, R,G,B for colour.")
@click.option("--cog/--no-cog", default=True, show_default=True, help="Add internal overviews (a cloud-friendly tiled GeoTIFF).")
@click.option("--strict-cog", is_flag=True, help="The exact COG layout (GDAL's COG driver), at the cost of one more pass over the output.")
@click.option("--compress", type=click.Choice(["deflate", "lzw", "zstd", "jpeg", "none"]), default="deflate", show_default=True)
@click.option("--fill-nodata", is_flag=True, help="Fill IN's nodata holes (geocolor inpaint) before colorizing.")
@click.option("--inpaint-model", type=click.Path(dir_okay=False), default=None, help="Inpainting model for --fill-nodata.")
@scheduler_option
@click.option("--split-size", type=click.IntRange(min=0), default=8192, show_default=True, metavar="PX",
              help="With --scheduler: a raster of more than PX x PX pixels is coloured in windows of about that size by "
                   "several workers, then joined (identical to one pass). 0: never split.")
@click.pass_context
def command(ctx: click.Context, paths: tuple[str, ...], out_dir: str | None, style: str | None, tone_match: bool, dodge: float,
            model: str | None,
            tile: int | None, overlap: int, batch: int, device: str, engine: str, precision: str, threads: int | None,
            overwrite: bool, bands: tuple[int, ...] | None,
            cog: bool, strict_cog: bool, compress: str, fill_nodata: bool, inpaint_model: str | None, scheduler: str | None, split_size: int) -> None:
    """Colorize the gray raster IN into the colour GeoTIFF OUT (or several INs into --out-dir).

    OUT keeps IN's size, CRS, transform and nodata mask. IN may be 8- or 16-bit, one band (gray) or
    three (taken as colour and reduced to its luminance), of any size; a plain image (PNG, JPEG scan)
    gives an output without CRS.
    """
    from geocolor.mosaic.engine import MosaicOptions, colorize

    opts = MosaicOptions(model=model, tile=tile, overlap=overlap, batch=batch, device=device, engine=engine, precision=precision,
                         threads=threads, overwrite=overwrite,
                         bands=bands, cog=cog, strict_cog=strict_cog, compress=compress, show_progress=show_progress(ctx), style=style,
                         style_tone=tone_match, dodge=dodge, fill_nodata=fill_nodata, inpaint_model=inpaint_model)
    if scheduler is not None:
        _on_cluster(ctx, scheduler, paths, out_dir, opts, split_size)
        return
    if out_dir is not None:
        from geocolor.mosaic.batch import colorize_many

        results = colorize_many(list(paths), out_dir, opts)
    elif len(paths) == 2:
        results = [colorize(paths[0], paths[1], opts)]
    else:
        raise click.UsageError("give IN OUT, or several inputs with --out-dir DIR")
    for result in results if show_progress(ctx) else []:
        click.echo(f"{result.path}: {result.width} x {result.height}, {result.tiles} tiles, "
                   f"{result.seconds:.1f} s ({result.megapixels_per_second:.2f} MP/s)", err=True)


def _on_cluster(ctx: click.Context, scheduler: str, paths: tuple[str, ...], out_dir: str | None, opts: MosaicOptions, split_size: int) -> None:
    """``--scheduler``: one task per input (or per window of a large one) on a Dask cluster."""
    from geocolor.cluster import colorize_archive, connect

    pairs = in_out_pairs(paths, out_dir)
    with connect(scheduler) as client:
        echo_cluster(client, ctx)
        result = colorize_archive(client, pairs, opts, split_size=split_size, show_progress=show_progress(ctx))
    if show_progress(ctx):
        click.echo(result.summary(), err=True)
