"""The ``geocolor`` command: one click group whose subcommands live in ``geocolor.commands``.

Subcommands are imported only when invoked, so ``geocolor --help`` stays instant; each command
module imports its heavy dependencies inside the command body. Errors geocolor raises on purpose
(``GeocolorError``) become one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from geocolor import __version__

# name -> (module, help line). Help lines live here so --help needs no import.
COMMANDS: dict[str, tuple[str, str]] = {
    "mosaic": ("geocolor.commands.mosaic", "Colorize a gray GeoTIFF (any size) into a colour GeoTIFF."),
    "train": ("geocolor.commands.train", "Train a colorization model from a YAML config."),
    "info": ("geocolor.commands.info", "Show a model file's metadata (architecture, data, figures)."),
    "dataset": ("geocolor.commands.dataset", "Cut colour rasters into film-like gray/colour training chips, split by geography."),
    "harvest": ("geocolor.commands.harvest", "Fetch WMTS/XYZ tiles inside an AOI polygon as georeferenced GeoTIFFs + VRT."),
    "evaluate": ("geocolor.commands.evaluate", "Score models on a dataset split against gray/mean-colour baselines; JSON + HTML report."),
    "inpaint": ("geocolor.commands.inpaint", "Fill nodata holes and masked damage (scratches, dust, missing frames) with a GAN."),
    "sweep": ("geocolor.commands.sweep", "Train several configs (resumable) and tabulate their held-out results."),
    "run": ("geocolor.commands.run", "Run a chain of steps (harvest, dataset, train, evaluate, mosaic, adapt) from one YAML file."),
    "adapt": ("geocolor.commands.adapt", "Fine-tune on the modern imagery of the scans' own ground, then colour the scans."),
    "export": ("geocolor.commands.export", "Export a model file to ONNX, for the onnx engine (runs without torch)."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name][0])
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geocolor")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bars.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Colorize historical aerial photographs and keep them georeferenced."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    ctx.obj = {"quiet": quiet, "verbose": verbose}


def main() -> None:
    from geocolor.errors import GeocolorError

    try:
        rv = cli.main(standalone_mode=False)
        if isinstance(rv, int):
            sys.exit(rv)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except GeocolorError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(1)
    except UnicodeEncodeError as e:  # a file name that is not valid UTF-8 (GDAL and JSON need UTF-8)
        import os

        shown = repr(os.fsencode(e.object))[2:-1] if isinstance(e.object, str) else repr(e.object)
        click.echo(f"Error: the name '{shown}' is not valid UTF-8; rename the file (GDAL reads UTF-8 paths only)", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted; no output was left half-written.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
