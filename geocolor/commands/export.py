"""``geocolor export --model M --onnx FILE``: a model file as ONNX, for the onnx engine (thin shell over the API)."""

from __future__ import annotations

import click

from geocolor.commands.options import overwrite_option, show_progress


@click.command("export")
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="geocolor model file (.pt), colorization or inpainting. Default: the shipped colorization model.")
@click.option("--onnx", "onnx", type=click.Path(dir_okay=False), required=True, help="The ONNX file to write (.onnx).")
@overwrite_option
@click.pass_context
def command(ctx: click.Context, model: str | None, onnx: str, overwrite: bool) -> None:
    """Export MODEL to an ONNX file that `geocolor mosaic --engine onnx` (or inpaint) runs without torch.

    The ONNX file carries the model's metadata and checksums. The exported graph is checked against
    the torch model on real imagery before the file is written.
    """
    from geocolor.export import export_onnx

    result = export_onnx(model, onnx, overwrite=overwrite)
    if show_progress(ctx):
        check = "not checked (onnxruntime missing)" if result.max_difference is None else f"max difference {result.max_difference:.2g}"
        click.echo(f"{result.path}: {result.graph}, {result.size_bytes / 1e6:.1f} MB, {check}, {result.seconds:.1f} s", err=True)
