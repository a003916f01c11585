"""``geocolor sweep CONFIG... --out DIR``: train several configs (resumably) and tabulate their results."""

from __future__ import annotations

import click

from geocolor.commands.options import DEVICES, show_progress


@click.command("sweep")
@click.argument("configs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the runs and results.csv / results.md.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a value in every config, e.g. --set steps=200.")
@click.option("--sort", "sort_by", type=click.Choice(["delta_e2000", "psnr", "ssim", "colourfulness_diff"]), default="delta_e2000",
              show_default=True, help="Held-out metric the table is sorted by (best first).")
@click.option("--device", type=click.Choice(DEVICES), default=None, help="Device for every run (else each config's).")
@click.pass_context
def command(ctx: click.Context, configs: tuple[str, ...], out: str, overrides: tuple[str, ...], sort_by: str,
            device: str | None) -> None:
    """Train each config into OUT/<name> (finished runs are skipped, partial ones resumed), then write
    OUT/results.csv and OUT/results.md with each run's held-out figures and the baselines."""
    from pathlib import Path

    from geocolor.errors import TrainingError
    from geocolor.train.sweep import run_sweep

    overrides = (*overrides, f"device={device}") if device else overrides
    rows = run_sweep(configs, out, overrides, sort_by=sort_by, show_progress=show_progress(ctx))
    click.echo(f"results: {Path(out) / 'results.md'} ({len(rows)} runs)", err=True)
    failed = [r["run"] for r in rows if str(r["status"]).startswith("failed")]
    if failed:
        raise TrainingError(f"{len(failed)} of {len(rows)} runs failed ({', '.join(failed)}); see the status column of results.md")
