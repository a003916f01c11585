"""``geocolor evaluate``: metrics JSON and an offline HTML report for one or more models.

A thin shell over ``geocolor.metrics.evaluate.run``: ``--data`` is a built dataset (its ``--split``),
or a folder of plain images; ``--pair OUTPUT TRUTH`` scores a colorized GeoTIFF against its truth.
"""

from __future__ import annotations

import click


@click.command("evaluate")
@click.option("--model", "models", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Model file; repeat to compare models [the shipped model unless --pair].")
@click.option("--data", type=click.Path(exists=True, file_okay=False), help="Dataset folder (geocolor dataset) or a folder of images.")
@click.option("--split", default="test", show_default=True, help="Dataset split to evaluate.")
@click.option("--pair", nargs=2, type=click.Path(exists=True, dir_okay=False), metavar="OUTPUT TRUTH",
              help="Score a colorized GeoTIFF against its colour truth (same grid).")
@click.option("--chip-size", default=256, show_default=True, type=click.IntRange(min=16), help="Chip size in --pair mode.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for metrics.json, report.html and PNGs.")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False), help="Training run folder: adds its curves to the report.")
@click.option("--weights-dir", type=click.Path(file_okay=False),
              help="Folder with metric network weights (inception-2015-12-05.pt) [$GEOCOLOR_WEIGHTS_DIR, torch hub cache].")
@click.option("-k", "--worst-best", "k", default=4, show_default=True, type=click.IntRange(min=1), help="Worst/best chips shown per model.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
def command(models: tuple[str, ...], data: str | None, split: str, pair: tuple[str, str] | None, chip_size: int, out: str,
            run_dir: str | None, weights_dir: str | None, k: int, device: str) -> None:
    """Evaluate models on a dataset split (or an output/truth GeoTIFF pair): metrics.json + report.html in OUT."""
    from pathlib import Path

    from geocolor.metrics import inputs
    from geocolor.metrics.evaluate import run
    from geocolor.models import DEFAULT_MODEL

    if (data is None) == (pair is None):
        raise click.BadParameter("give exactly one of --data DIR or --pair OUTPUT TRUTH", param_hint="--data/--pair")
    if pair is not None:
        evalset = inputs.load_pair(pair[0], pair[1], size=chip_size)
    elif (Path(data) / "manifest.csv").is_file():  # type: ignore[arg-type]
        evalset = inputs.load_dataset(data, split)  # type: ignore[arg-type]
    else:
        evalset = inputs.load_images(data)  # type: ignore[arg-type]
    paths = list(models) or ([] if pair is not None else [str(DEFAULT_MODEL)])
    figures = run(evalset, paths, out, weights_dir=weights_dir, run_dir=run_dir, k=k, device=device)
    _echo_summary(figures, Path(out))


def _echo_summary(figures: dict, out: object) -> None:
    for name, d in figures["methods"].items():
        s = d["summary"]
        parts = [f"{m} {s[m]:.3f}" for m in ("psnr", "ssim", "delta_e2000", "colourfulness_diff") if m in s]
        click.echo(f"{name:>12}: " + ", ".join(parts))
    for key, entry in figures["distribution"].items():
        click.echo(f"{key.upper():>12}: {entry['status']}")
    click.echo(f"report: {out}/report.html")
