"""``geocolor info MODEL``: print a model file's metadata as JSON."""

from __future__ import annotations

import click


@click.command("info")
@click.argument("model", required=False, type=click.Path(dir_okay=False))
def command(model: str | None) -> None:
    """Show the metadata of MODEL (default: the shipped model)."""
    import json

    from geocolor.models import DEFAULT_MODEL
    from geocolor.models.io import read_model_file

    payload = read_model_file(model or DEFAULT_MODEL)
    click.echo(json.dumps(payload["metadata"], indent=2, default=str))
