"""``geocolor train [CONFIG] [--data DIR]``: train a model; flags override the config.

``--data DIR`` (a ``geocolor dataset`` folder) trains on it with the default recipe, or with CONFIG's
settings, the tile size and generator depth following the chips.

Several processes: ``torchrun --nproc_per_node N -m geocolor.cli train --config FILE`` (DDP; see
``geocolor.train.distributed``).
"""

from __future__ import annotations

import os

import click

from geocolor.commands.options import DEVICES, show_progress


@click.command("train")
@click.argument("config_arg", required=False, metavar="[CONFIG]", type=click.Path(exists=True, dir_okay=False))
@click.option("--config", "config_path", default=None, type=click.Path(exists=True, dir_okay=False), help="YAML config (see pipelines/); same as CONFIG.")
@click.option("--data", "data_dir", default=None, type=click.Path(exists=True), help="A geocolor dataset folder to train on (tile size and generator follow its chips).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value, e.g. --set steps=100 --set model.ngf=32.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Shortcut for --set steps=N.")
@click.option("--out-dir", default=None, help="Shortcut for --set out_dir=DIR.")
@click.option("--name", default=None, help="Shortcut for --set name=NAME.")
@click.option("--device", type=click.Choice(DEVICES), default=None)
@click.option("--resume", is_flag=True, help="Continue the run in the run folder from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Let the config's export path be replaced by the new model.")
@click.pass_context
def command(ctx: click.Context, config_arg: str | None, config_path: str | None, data_dir: str | None,
            overrides: tuple[str, ...], steps: int | None, out_dir: str | None, name: str | None, device: str | None,
            resume: bool, overwrite: bool) -> None:
    """Train a colorization model; writes a run folder with checkpoints, curves, samples and model files."""
    from geocolor.errors import ConfigError
    from geocolor.train.config import config_from_dict, load_config, read_config_tree
    from geocolor.train.trainer import train

    if config_arg and config_path and config_arg != config_path:
        raise ConfigError(f"two configs given ({config_arg} and --config {config_path}); give one")
    path = config_arg or config_path
    extra = list(overrides)
    for key, value in (("steps", steps), ("out_dir", out_dir), ("name", name), ("device", device)):
        if value is not None:
            extra.append(f"{key}={value}")
    if data_dir:
        from geocolor.train.recipes import dataset_recipe

        cfg = config_from_dict(dataset_recipe(data_dir, read_config_tree(path) if path else None), extra)
    elif path:
        cfg = load_config(path, extra)
    else:
        raise click.UsageError("give a config (geocolor train CONFIG.yaml) or a dataset (geocolor train --data DIR)")
    run_dir = train(cfg, resume=resume, show_progress=show_progress(ctx), overwrite=overwrite)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line from rank 0
        click.echo(f"run folder: {run_dir} (best model: {run_dir / 'best.pt'})", err=True)
