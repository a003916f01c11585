"""``geocolor adapt SCAN... --out-dir DIR``: fine-tune on the scans' own ground, then colour them (thin shell)."""

from __future__ import annotations

import click

from geocolor.commands.options import device_option, finite, overwrite_option, scheduler_option, show_progress


@click.command("adapt")
@click.argument("scans", metavar="SCAN...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), help="Folder for the coloured scans, the model and the report.")
@click.option("--from", "from_rasters", multiple=True, type=click.Path(dir_okay=False),
              help="A modern colour raster of the scans' ground (repeatable); instead of a harvest.")
@click.option("--wmts", default=None, help="WMTS capabilities URL of a modern colour orthophoto layer (with --layer).")
@click.option("--layer", default=None, help="The WMTS layer.")
@click.option("--xyz", default=None, help="XYZ tile URL template of a modern colour orthophoto.")
@click.option("--zoom", default=None, help="Harvest zoom (default: the one matching the scans' ground resolution).")
@click.option("--bbox", default=None, help="MINX,MINY,MAXX,MAXY to harvest (default: the scans' footprint).")
@click.option("--bbox-crs", default="EPSG:4326", show_default=True)
@click.option("--aoi", type=click.Path(dir_okay=False), default=None, help="A vector file of the area to harvest.")
@click.option("--buffer", "buffer_m", type=click.FloatRange(0, 100_000), default=500.0, show_default=True,
              help="Metres of modern imagery around the scans' footprint.")
@click.option("--minutes", type=click.FloatRange(0.05, 24 * 60), default=15.0, show_default=True,
              help="Training time for the fine-tuning (a rerun resumes until it is spent).")
@click.option("--model", type=click.Path(dir_okay=False), default=None, help="Base model (default: the shipped one).")
@click.option("--threads", type=click.IntRange(0, 256), default=0, help="Torch threads (0: torch's default).")
@click.option("--restraint", type=click.FloatRange(0, 100), default=1.0, show_default=True,
              help="Weight of the fine-tuning's penalty on colour above the modern imagery's (0: plain L1).")
@click.option("--false-colour-max", type=click.FloatRange(0, 1), default=None,
              help="Keep only fine-tuned weights whose held-out false-colour rate is at most this (e.g. 0.05).")
@click.option("--tone-match/--no-tone-match", default=True, show_default=True,
              help="With several scans: before the adapted model colours a scan, match its tone (L* distribution) to "
                   "the scans' pooled tone, the tone its training chips were given; the output keeps the scan's own L*.")
@device_option
@overwrite_option
@scheduler_option
@click.pass_context
def command(ctx: click.Context, scans: tuple[str, ...], out_dir: str, from_rasters: tuple[str, ...], wmts: str | None,
            layer: str | None, xyz: str | None, zoom: str | None, bbox: str | None, bbox_crs: str, aoi: str | None,
            buffer_m: float, minutes: float, model: str | None, threads: int, restraint: float, false_colour_max: float | None,
            tone_match: bool, device: str, overwrite: bool, scheduler: str | None) -> None:
    """Colour SCAN... with a model fine-tuned on the modern colour imagery of their own ground.

    The modern imagery comes from --from rasters or a --wmts/--xyz harvest over the scans' footprint;
    the gray training inputs are degraded by a film model fitted to the scans. Writes DIR/<scan>.tif
    (COG, CRS intact), DIR/base/<scan>.tif (the base model, for comparison), DIR/adapted.pt and
    DIR/adapt_report.html. A rerun skips finished stages and resumes the fine-tuning.
    """
    from geocolor.adapt import AdaptOptions, adapt

    opts = AdaptOptions(from_rasters=list(from_rasters), wmts=wmts, layer=layer, xyz=xyz, zoom=zoom, bbox=bbox,
                        bbox_crs=bbox_crs, aoi=aoi, buffer_m=finite(buffer_m, "--buffer"), minutes=finite(minutes, "--minutes"),
                        model=model, device=device, threads=threads, restraint=finite(restraint, "--restraint"),
                        false_colour_max=false_colour_max, tone_match=tone_match, overwrite=overwrite, show_progress=show_progress(ctx), scheduler=scheduler)
    result = adapt(list(scans), out_dir, opts)
    click.echo(result.summary(), err=True)
