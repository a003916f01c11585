"""Options shared by several subcommands, defined once."""

from __future__ import annotations

from pathlib import Path

import click

model_option = click.option(
    "--model", "model", type=click.Path(dir_okay=False), default=None,
    help="geocolor model file (.pt, or an exported .onnx). Default: the shipped model.",
)
# Where a model can run: one list for every command here and for the QGIS plugin, whose own copy
# (``geocolor_qgis.engine.DEVICES``, QGIS's Python may lack geocolor) a test keeps equal to this one.
DEVICES = ("auto", "cpu", "cuda")

device_option = click.option(
    "--device", type=click.Choice(list(DEVICES)), default="auto", show_default=True,
    help="Where the model runs; auto picks a CUDA GPU when there is one.",
)
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")

# inference engines (geocolor.models.engines): the lists live there, torch-free
engine_option = click.option(
    "--engine", type=click.Choice(["auto", "torch", "onnx"]), default="auto", show_default=True,
    help="torch (.pt), onnx (onnxruntime: the .onnx beside the model, or an .onnx --model), "
         "or auto: onnx for an .onnx model, else torch when installed, else onnx.",
)
precision_option = click.option(
    "--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto", show_default=True,
    help="torch engine: auto uses bf16 (CPU with bf16 units) or fp16 (CUDA) autocast when its colours stay "
         "within 0.5 CIEDE2000 of fp32 on a real calibration tile, else fp32.",
)
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None,
    help="Threads the engine computes with.  [default: the physical core count]",
)
# Dask (geocolor.cluster): imported only when the option is given
scheduler_option = click.option(
    "--scheduler", default=None, metavar="ADDRESS|local[:N]",
    help="Run on a Dask cluster: a scheduler address (tcp://host:8786) or local:N for N local worker processes. "
         "Inputs and outputs must be on storage every worker sees at the same paths; a rerun skips finished outputs.",
)


def echo_cluster(client: object, ctx: click.Context) -> None:
    """Say which cluster runs the work and where its dashboard is (unless ``-q``)."""
    from geocolor.cluster import describe

    if show_progress(ctx):
        click.echo(describe(client), err=True)  # type: ignore[arg-type]


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


def in_out_pairs(paths: tuple[str, ...], out_dir: str | None) -> list[tuple[Path, Path]]:
    """``IN OUT``, or ``IN... --out-dir DIR`` (``DIR/<input stem>.tif`` each), as (input, output) pairs."""
    from geocolor.mosaic.batch import archive_pairs

    if out_dir is not None:
        return archive_pairs(list(paths), out_dir)
    if len(paths) == 2:
        return [(Path(paths[0]), Path(paths[1]))]
    raise click.UsageError("give IN OUT, or several inputs with --out-dir DIR")
