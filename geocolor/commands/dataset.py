"""``geocolor dataset SRC... OUT``: training chips from colour rasters; ``geocolor dataset preview SRC PNG``.

A thin shell over ``geocolor.dataset.build_dataset``: flags (and an optional YAML ``--config``) become
a ``DatasetConfig``; a flag given on the command line wins over the file. ``dataset`` is a click
group whose default command is the build, so ``geocolor dataset SRC OUT`` and
``geocolor dataset preview SRC PNG`` both work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from geocolor.commands.options import overwrite_option, show_progress

# CLI flag -> dotted key in DatasetConfig. Flags default to None, meaning "the config's value".
_KEYS = {
    "size": "size", "stride": "stride", "bands": "bands", "gray": "gray", "degrade": "degrade", "seed": "seed",
    "split": "split", "block_size": "block_size", "split_gap": "split_gap", "split_crs": "split_crs",
    "layout": "layouts", "max_nodata": "filters.max_nodata", "min_std": "filters.min_std",
    "max_white": "filters.max_white", "dedupe": "filters.dedupe", "unpaired_a": "unpaired_a",
    "unpaired_a_only": "unpaired_a_only", "preview": "preview",
}


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options the build and the preview share."""
    options = [
        click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="YAML dataset config (keys of DatasetConfig); flags override it."),
        click.option("--size", type=click.IntRange(min=8), default=None, help="Chip size in pixels [256]."),
        click.option("--bands", default=None, help="Colour bands R,G,B [the red/green/blue bands, else 1,2,3]."),
        click.option("--gray", default=None, help="Gray conversion: lstar, bt601, film, band:N or weights:R,G,B [lstar]."),
        click.option("--degrade", type=click.Choice(["film", "none"]), default=None, help="Film degradation of the gray input [film]."),
        click.option("--film", "film", multiple=True, metavar="KEY=VALUE",
                     help="Film model setting, e.g. --film grain.amount=0.02,0.05 --film scan.p=0."),
        click.option("--seed", type=int, default=None, help="Seed of the split and the degradation [0]."),
        overwrite_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for p in parents:
        node = tree.setdefault(p, {})
        if not isinstance(node, dict):
            raise click.BadParameter(f"{p} is not a section of the dataset config")
        tree = node
    tree[last] = value


def _config(src: list[str], out: str, params: dict[str, Any]) -> Any:
    from geocolor.dataset.config import config_from_dict, load_config_file

    tree = load_config_file(params.pop("config_path")) if params.get("config_path") else {}
    params.pop("config_path", None)
    tree["src"], tree["out"], tree["overwrite"] = src, out, bool(params.pop("overwrite", False))
    for item in params.pop("film", ()):
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} must look like effect.key=value, e.g. grain.amount=0.02,0.05", param_hint="--film")
        _set(tree, f"film.{key.strip()}", value.strip())
    for name, value in params.items():
        if value is not None and value != ():
            _set(tree, _KEYS[name], list(value) if isinstance(value, tuple) else value)
    return config_from_dict(tree)


class DatasetGroup(click.Group):
    """A group whose default command is ``build``: anything that is not a subcommand name goes to it."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in self.commands:
            return super().resolve_command(ctx, args)
        return "build", self.commands["build"], args

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        build = self.commands["build"]
        build.format_help(click.Context(build, info_name=ctx.info_name, parent=ctx.parent), formatter)
        with formatter.section("Also"):
            formatter.write_dl([("preview SRC PNG", "a PNG grid of clean gray / degraded gray / colour chips from SRC, "
                                                    "to try settings without building (see `geocolor dataset preview --help`)")])


@click.group("dataset", cls=DatasetGroup, context_settings={"ignore_unknown_options": True})
def command() -> None:
    """Training chips from colour rasters: gray input that looks like old film, colour target, split by geography."""


@command.command("build", hidden=True)
@click.argument("src", nargs=-1, required=True, metavar="SRC...")
@click.argument("out", metavar="OUT")
@_common
@click.option("--stride", type=click.IntRange(min=1), default=None, help="Step between chips in pixels [the size].")
@click.option("--split", default=None, help="Train,val,test fractions of the area [0.8,0.1,0.1].")
@click.option("--block-size", type=float, default=None, help="Side of a split block in metres [10 chip widths].")
@click.option("--split-gap", type=float, default=None, help="Metres a val/test chip keeps from other splits [half a chip].")
@click.option("--split-crs", default=None, help="CRS of the block grid [the first source's; UTM if geographic].")
@click.option("--layout", default=None, help="Layouts to write, from paired,unpaired,manifest [all three].")
@click.option("--max-nodata", type=click.FloatRange(0, 1, max_open=True), default=None, help="Skip chips with more nodata than this [0.05].")
@click.option("--min-std", type=float, default=None, help="Skip flat chips: gray std (0-255) below this [2].")
@click.option("--max-white", type=click.FloatRange(0, 1), default=None, help="Skip chips more cloud-white than this [0.5].")
@click.option("--dedupe/--no-dedupe", default=None, help="Skip duplicate chips [on].")
@click.option("--unpaired-a", multiple=True, type=click.Path(exists=True), help="Real gray historical photos (folder or raster) for domain A.")
@click.option("--unpaired-a-only", is_flag=True, default=None, help="Domain A holds only the real photos, not degraded modern gray.")
@click.option("--preview", type=click.IntRange(min=0), default=None, help="Rows in preview.png; 0 for none [8].")
@click.pass_context
def build(ctx: click.Context, src: tuple[str, ...], out: str, **params: Any) -> None:
    """Cut the colour rasters SRC (files, VRTs or folders of GeoTIFF tiles) into training chips in OUT.

    OUT gets paired/ (pix2pix A|B), unpaired/ (trainA, trainB, ...), chips/ with manifest.csv, stats.json,
    stats.png and preview.png. Whole blocks of ground go to one split. Re-running is a no-op; an
    interrupted run resumes.
    """
    from geocolor.dataset.build import build_dataset

    if not params.get("unpaired_a_only"):
        params["unpaired_a_only"] = None  # an absent flag must not override the config file
    result = build_dataset(_config(list(src), out, _normalise(params)), show_progress=show_progress(ctx))
    total = sum(result.counts.values())
    state = "up to date" if result.up_to_date else "written"
    click.echo(f"{result.root}: {total} chips {state} ({', '.join(f'{k} {v}' for k, v in result.counts.items())}); "
               f"manifest {result.manifest}", err=True)


def _floats(text: str, hint: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"give comma-separated numbers, got {text!r}", param_hint=hint) from None


def _normalise(params: dict[str, Any]) -> dict[str, Any]:
    """Comma-separated flag values -> lists."""
    if params.get("split"):
        params["split"] = _floats(params["split"], "--split")
    if params.get("bands"):
        params["bands"] = [int(v) for v in _floats(params["bands"], "--bands")]
    if params.get("layout"):
        params["layout"] = [v.strip() for v in params["layout"].split(",")]
    return params


@command.command("preview")
@click.argument("src", metavar="SRC")
@click.argument("png", metavar="PNG")
@_common
@click.option("--rows", type=click.IntRange(min=1), default=8, show_default=True, help="Chips in the grid.")
def preview(src: str, png: str, rows: int, **params: Any) -> None:
    """Write a PNG grid (clean gray | degraded gray | colour) of chips from SRC, building nothing."""
    from geocolor.dataset.preview import source_preview

    path = source_preview(_config([src], png, _normalise(params)), png, rows)
    click.echo(f"{path}: {rows} rows", err=True)
