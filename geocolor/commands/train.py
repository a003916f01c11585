"""``geocolor train --config FILE``: train a model; flags override the config.

Several processes: ``torchrun --nproc_per_node N -m geocolor.cli train --config FILE`` (DDP; see
``geocolor.train.distributed``).
"""

from __future__ import annotations

import os

import click

from geocolor.commands.options import show_progress


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False), help="YAML config (see pipelines/).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value, e.g. --set steps=100 --set model.ngf=32.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Shortcut for --set steps=N.")
@click.option("--out-dir", default=None, help="Shortcut for --set out_dir=DIR.")
@click.option("--name", default=None, help="Shortcut for --set name=NAME.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None)
@click.option("--resume", is_flag=True, help="Continue the run in the run folder from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Let the config's export path be replaced by the new model.")
@click.pass_context
def command(ctx: click.Context, config_path: str, overrides: tuple[str, ...], steps: int | None, out_dir: str | None,
            name: str | None, device: str | None, resume: bool, overwrite: bool) -> None:
    """Train a colorization model; writes a run folder with checkpoints, curves, samples and model files."""
    from geocolor.train.config import load_config
    from geocolor.train.trainer import train

    extra = list(overrides)
    for key, value in (("steps", steps), ("out_dir", out_dir), ("name", name), ("device", device)):
        if value is not None:
            extra.append(f"{key}={value}")
    cfg = load_config(config_path, extra)
    run_dir = train(cfg, resume=resume, show_progress=show_progress(ctx), overwrite=overwrite)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line from rank 0
        click.echo(f"run folder: {run_dir} (best model: {run_dir / 'best.pt'})", err=True)
