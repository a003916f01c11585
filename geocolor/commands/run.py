"""``geocolor run PIPELINE.yaml``: run a chain of steps from one file (thin shell over ``geocolor.pipeline``)."""

from __future__ import annotations

import click

from geocolor.commands.options import show_progress


@click.command("run")
@click.argument("pipeline", type=click.Path(exists=True, dir_okay=False))
@click.option("--check", is_flag=True, help="Only read and check the pipeline file; run nothing.")
@click.pass_context
def command(ctx: click.Context, pipeline: str, check: bool) -> None:
    """Run PIPELINE.yaml: its steps in order, each step's output feeding the next; finished steps are skipped."""
    from geocolor.pipeline import load_pipeline, run_pipeline

    if check:
        pipe = load_pipeline(pipeline)
        click.echo(f"{pipe.name}: {len(pipe.steps)} steps ({', '.join(f'{s.id}: {s.kind}' for s in pipe.steps)}); workdir {pipe.workdir}")
        return
    say = (lambda line: click.echo(line, err=True)) if show_progress(ctx) else None
    reports = run_pipeline(pipeline, progress=say)
    ran = [r for r in reports if not r.skipped]
    click.echo(f"{len(reports)} steps: {len(ran)} ran, {len(reports) - len(ran)} skipped; last output {reports[-1].output}", err=True)
