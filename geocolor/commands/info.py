"""``geocolor info [MODEL] [--json]``: a short summary of a model file, or all its metadata as JSON."""

from __future__ import annotations

import click


@click.command("info")
@click.argument("model", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print all metadata as JSON instead of the summary.")
def command(model: str | None, as_json: bool) -> None:
    """Summarise MODEL (default: the shipped model): what it is, what trained it, its figures, its named styles."""
    import json
    from pathlib import Path

    from geocolor.models import DEFAULT_MODEL
    from geocolor.models.io import read_model_file
    from geocolor.models.summary import summary_lines

    path = Path(model or DEFAULT_MODEL)
    payload = read_model_file(path)
    if as_json:
        click.echo(json.dumps(payload["metadata"], indent=2, default=str))
        return
    click.echo("\n".join(summary_lines(str(path), path.stat().st_size, payload["metadata"])))
