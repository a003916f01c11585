"""Options shared by several subcommands, defined once."""

from __future__ import annotations

import click

model_option = click.option(
    "--model", "model", type=click.Path(dir_okay=False), default=None,
    help="geocolor model file (.pt). Default: the shipped model.",
)
# Where a model can run: one list for every command here and for the QGIS plugin, whose own copy
# (``geocolor_qgis.engine.DEVICES``, QGIS's Python may lack geocolor) a test keeps equal to this one.
DEVICES = ("auto", "cpu", "cuda")

device_option = click.option(
    "--device", type=click.Choice(list(DEVICES)), default="auto", show_default=True,
    help="Where the model runs; auto picks a CUDA GPU when there is one.",
)
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")


def parse_bands(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if not value:
        return None
    try:
        bands = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("give band numbers like 1 or 1,2,3") from None
    if len(bands) not in (1, 3):
        raise click.BadParameter("give one gray band or three colour bands")
    return bands


def show_progress(ctx: click.Context) -> bool:
    return not (ctx.obj or {}).get("quiet", False)


def finite(value: float, name: str) -> float:
    """A float option's value, refused when it is NaN (click's ranges let NaN through)."""
    if value != value:
        raise click.BadParameter(f"{name} must be a number, not NaN")
    return value
