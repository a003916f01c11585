"""``geocolor evaluate``: metrics JSON and an offline HTML report for one or more models.

A thin shell over ``geocolor.metrics.evaluate.run``: ``--data`` is a built dataset (its ``--split``),
or a folder of plain images; ``--pair OUTPUT TRUTH`` scores a colorized GeoTIFF against its truth;
``--inputs`` (a gray raster or a folder, no truth) with ``--reference`` (real colour of the same area)
evaluates unpaired models and real historical photos as distributions.
"""

from __future__ import annotations

import click

from geocolor.commands.options import DEVICES


@click.command("evaluate")
@click.option("--model", "models", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Model file; repeat to compare models [the shipped model unless --pair].")
@click.option("--data", type=click.Path(exists=True, file_okay=False), help="Dataset folder (geocolor dataset) or a folder of images.")
@click.option("--split", default="test", show_default=True, help="Dataset split to evaluate.")
@click.option("--pair", nargs=2, type=click.Path(exists=True, dir_okay=False), metavar="OUTPUT TRUTH",
              help="Score a colorized GeoTIFF against its colour truth (same grid).")
@click.option("--inputs", "inputs_path", type=click.Path(exists=True),
              help="Gray inputs with no truth: a raster (cut into chips) or a folder of images (unpaired mode).")
@click.option("--reference", type=click.Path(exists=True),
              help="Real colour chips of the same area (a 3-band 8-bit raster or a folder) to compare outputs with.")
@click.option("--chip-size", default=256, show_default=True, type=click.IntRange(min=16), help="Chip size for rasters (--pair, --inputs, --reference).")
@click.option("--max-chips", type=click.IntRange(min=2), help="Use at most N evenly spread chips of --inputs and of --reference [all].")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for metrics.json, report.html and PNGs.")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False), help="Training run folder: adds its curves to the report.")
@click.option("--weights-dir", type=click.Path(file_okay=False),
              help="Folder with metric network weights: inception-2015-12-05.pt (FID/KID/IS); alexnet-owt-7be5be79.pth "
                   "and lpips_alex.pth (LPIPS) [$GEOCOLOR_WEIGHTS_DIR, torch hub cache]. Nothing is downloaded.")
@click.option("--lpips-net", default="alex", show_default=True, type=click.Choice(["alex", "vgg"]),
              help="LPIPS backbone (vgg needs vgg16-397923af.pth and lpips_vgg.pth).")
@click.option("-k", "--worst-best", "k", default=4, show_default=True, type=click.IntRange(min=1), help="Worst/best chips shown per model.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICES))
def command(models: tuple[str, ...], data: str | None, split: str, pair: tuple[str, str] | None, inputs_path: str | None,
            reference: str | None, chip_size: int, max_chips: int | None, out: str, run_dir: str | None,
            weights_dir: str | None, lpips_net: str, k: int, device: str) -> None:
    """Evaluate models on a dataset split, an output/truth GeoTIFF pair, or unpaired gray inputs: metrics.json + report.html in OUT."""
    from pathlib import Path

    from geocolor.metrics import inputs
    from geocolor.metrics.evaluate import run
    from geocolor.models import DEFAULT_MODEL

    if sum(x is not None for x in (data, pair, inputs_path)) != 1:
        raise click.BadParameter("give exactly one of --data DIR, --pair OUTPUT TRUTH or --inputs GRAY", param_hint="--data/--pair/--inputs")
    if inputs_path is not None:
        evalset = inputs.load_unpaired(inputs_path, reference, size=chip_size, max_chips=max_chips)
    elif pair is not None:
        evalset = inputs.load_pair(pair[0], pair[1], size=chip_size)
    elif (Path(data) / "manifest.csv").is_file():  # type: ignore[arg-type]
        evalset = inputs.load_dataset(data, split)  # type: ignore[arg-type]
    else:
        evalset = inputs.load_images(data)  # type: ignore[arg-type]
    if reference is not None and inputs_path is None:
        evalset.reference = inputs.load_colour_reference(reference, size=chip_size, max_chips=max_chips)
        evalset.reference_source = reference
    paths = list(models) or ([] if pair is not None else [str(DEFAULT_MODEL)])
    figures = run(evalset, paths, out, weights_dir=weights_dir, run_dir=run_dir, k=k, device=device, lpips_net=lpips_net)
    _echo_summary(figures, Path(out))


def _echo_summary(figures: dict, out: object) -> None:
    for name, d in figures["methods"].items():
        s = d["summary"]
        parts = [f"{m} {s[m]:.3f}" for m in ("psnr", "ssim", "delta_e2000", "lpips", "colourfulness", "colourfulness_diff") if m in s]
        click.echo(f"{name:>12}: " + ", ".join(parts))
    for key, entry in figures["distribution"].items():
        vals = ", ".join(f"{m} {v:.4g}" for m, v in entry.get("values", {}).items())
        click.echo(f"{key.upper():>17}: {entry['status']}" + (f" ({vals})" if vals else ""))
    click.echo(f"report: {out}/report.html")
