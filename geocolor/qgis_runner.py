"""A line protocol over the geocolor API, for callers that run geocolor in another process (the QGIS plugin).

QGIS's own Python usually has no torch, so the plugin starts ``python -m geocolor.qgis_runner run -``
with the Python of a geocolor environment, writes one JSON request to its stdin and reads its stdout.

A request names one library call and its keyword options::

    {"command": "colorize", "options": {"src": "/abs/in.tif", "dst": "/abs/out.tif", "device": "cpu"}}

``colorize`` calls ``geocolor.mosaic.colorize(src, dst, **options)`` (options: the fields of
``MosaicOptions``), ``inpaint`` calls ``geocolor.inpaint.inpaint(src, dst, **options)`` (``InpaintOptions``),
and ``harvest`` calls ``geocolor.harvest.harvest(HarvestConfig(**options))``, where the AOI is given as
``bbox`` (four numbers, x first, in ``bbox_crs``, default EPSG:4326) or ``aoi`` (a vector file).
Option names and value types are checked against those dataclasses before anything runs: an unknown
name or a wrong type is one ERROR line. Nothing is parsed from a command line, so a value such as a
western-hemisphere bbox ``[-99.16, 47.0, -99.1, 47.05]`` can never be mistaken for a flag.

By hand: ``python -m geocolor.qgis_runner run REQUEST.json`` (``-`` reads the request from stdin), and
``python -m geocolor.qgis_runner check``, which prints ``OK <geocolor version> <backends>`` when geocolor
and an inference backend (torch, onnxruntime) import; the QGIS plugin runs it to prove a Python is an engine. The runner prints one message per line:

``PROGRESS 0.420``  fraction done (0..1), at most about every 1% ;
``INFO {json}``     facts about the run besides its result, one JSON object per line; ``colorize`` reports
                    ``{"stretch": [low, high]}``, the input values it mapped to black and white (a viewer
                    can show the input with the same contrast) ;
``DONE <path>``     the result (the output GeoTIFF, or the harvest's VRT or folder) ;
``ERROR <message>`` a one-line error a user can act on (then exit code 1) ;
``CANCELLED``       the run stopped on SIGTERM (exit code 130).

Cancel is the caller sending SIGTERM: the runner turns it into the engine's ``is_cancelled``, so the
engine stops at its next check and removes its temporary files (the output is written atomically, never half).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, TextIO

from geocolor.errors import ConfigError, GeocolorError
from geocolor.types import CancelCallback, ProgressCallback

PROTOCOL_VERSION = 2
COMMANDS = ("colorize", "harvest", "inpaint")
USAGE = "usage: python -m geocolor.qgis_runner check | run REQUEST.json (or - to read the request from stdin)"


def line_progress(out: TextIO, step: float = 0.01) -> Callable[[float], None]:
    """A progress callback printing ``PROGRESS f`` lines, skipping changes smaller than ``step``."""
    last = [-1.0]

    def report(fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction - last[0] >= step or (fraction >= 1.0 > last[0]):
            last[0] = fraction
            print(f"PROGRESS {fraction:.3f}", file=out, flush=True)

    return report


class _TermFlag:
    """Set by SIGTERM; the engine polls it as ``is_cancelled``."""

    def __init__(self) -> None:
        self.set = False

    def __call__(self) -> bool:
        return self.set

    def install(self) -> None:
        def handler(signum: int, frame: object) -> None:
            self.set = True

        signal.signal(signal.SIGTERM, handler)


TERMINATED = _TermFlag()


# -- requests -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schema:
    """The options one command takes: name -> type hint, and the names a request must give."""

    types: Mapping[str, Any]
    required: frozenset[str]


def _hints(cls: type) -> dict[str, Any]:
    """A dataclass's field types, evaluated (``PathLike`` refers to ``os.PathLike`` by name)."""
    return typing.get_type_hints(cls, localns={"os": os})


def _required(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING)


def schema(command: str) -> Schema:
    """The options of ``command``, read from the API's option dataclass (plus ``src``/``dst``, or the harvest AOI)."""
    if command == "colorize":
        from geocolor.mosaic.engine import MosaicOptions

        return Schema({"src": str, "dst": str, **_hints(MosaicOptions)}, frozenset({"src", "dst"}))
    if command == "inpaint":
        from geocolor.inpaint.engine import InpaintOptions

        return Schema({"src": str, "dst": str, **_hints(InpaintOptions)}, frozenset({"src", "dst"}))
    if command == "harvest":
        from geocolor.harvest import HarvestConfig

        hints = {name: hint for name, hint in _hints(HarvestConfig).items() if name != "aoi"}
        hints.update(zoom=str | int,  # HarvestConfig turns it into a string itself
                     bbox=str | tuple[float, float, float, float], bbox_crs=str, aoi=str)
        return Schema(hints, _required(HarvestConfig) - {"aoi"})
    raise ConfigError(f"unknown command {command!r}; use one of {', '.join(COMMANDS)}")


def prepare(request: object) -> tuple[str, dict[str, Any]]:
    """``(command, keyword options)`` of a decoded request, every name and value checked; else ``ConfigError``."""
    if not isinstance(request, dict):
        raise ConfigError('the request must be a JSON object {"command": ..., "options": {...}}')
    extra = sorted(set(request) - {"command", "options"})
    if extra:
        raise ConfigError(f"unknown request key(s) {', '.join(map(repr, extra))}; a request has only 'command' and 'options'")
    command, options = request.get("command"), request.get("options", {})
    if not isinstance(command, str):
        raise ConfigError(f"the request needs a 'command': one of {', '.join(COMMANDS)}")
    if not isinstance(options, dict):
        raise ConfigError(f"{command}: 'options' must be a JSON object of option names and values")
    spec = schema(command)
    unknown = sorted(set(options) - set(spec.types))
    if unknown:
        raise ConfigError(f"{command}: unknown option(s) {', '.join(map(repr, unknown))}; "
                          f"known options: {', '.join(sorted(spec.types))}")
    missing = sorted(spec.required - set(options))
    if missing:
        raise ConfigError(f"{command}: missing option(s) {', '.join(map(repr, missing))}")
    values = {name: convert(value, spec.types[name], f"{command} option {name!r}") for name, value in options.items()}
    if "device" in values:
        _check_device(values["device"], command)
    if command == "harvest" and ("bbox" in values) == ("aoi" in values):
        raise ConfigError("harvest: give the area as 'bbox' (with 'bbox_crs') or as 'aoi' (a vector file), one of the two")
    return command, values


def _check_device(device: str, command: str) -> None:
    from geocolor.commands.options import DEVICES

    if device not in DEVICES:
        raise ConfigError(f"{command}: device {device!r} is not one of {', '.join(DEVICES)}")


_NONE = type(None)


def convert(value: Any, hint: Any, what: str) -> Any:
    """``value`` (decoded JSON) as the type ``hint`` asks for (a list becomes a tuple or frozenset), else ConfigError."""
    ok, converted = _convert(value, hint)
    if ok:
        return converted
    if ok is None:
        raise ConfigError(f"{what} cannot be given in a request")
    raise ConfigError(f"{what} must be {_describe(hint)}, got {json.dumps(value)}")


def _convert(value: Any, hint: Any) -> tuple[bool | None, Any]:
    """(True, converted), (False, None) when ``value`` does not fit, or (None, None) when no JSON value can."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True, value
    if origin in (typing.Union, types.UnionType):
        results = [_convert(value, arm) for arm in args]
        fitting = [converted for ok, converted in results if ok]
        if fitting:
            return True, fitting[0]
        return (False if any(ok is False for ok, _ in results) else None), None
    if hint is _NONE:
        return value is None, None
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
        return fits, float(value) if fits else None
    if hint in (str, Path) or origin is os.PathLike:
        return isinstance(value, str), value
    if origin is tuple:
        return _convert_tuple(value, args)
    if origin is frozenset:
        members = [_convert(v, args[0]) for v in value] if isinstance(value, list) else [(False, None)]
        return all(ok for ok, _ in members), frozenset(v for _, v in members)
    if origin in (Mapping, dict):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return False, None
        entries = {k: _convert(v, args[1]) for k, v in value.items()}
        return all(ok for ok, _ in entries.values()), {k: v for k, (_, v) in entries.items()}
    return None, None


def _convert_tuple(value: Any, args: tuple[Any, ...]) -> tuple[bool, Any]:
    if not isinstance(value, list):
        return False, None
    item_hints = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
    if len(item_hints) != len(value):
        return False, None
    items = [_convert(v, h) for v, h in zip(value, item_hints)]
    return all(ok for ok, _ in items), tuple(v for _, v in items)


def _describe(hint: Any) -> str:
    """What a value of ``hint`` looks like in JSON, in words."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_describe(arm) for arm in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0]).removeprefix('a ')}s"
        return f"a list of {len(args)} {_describe(args[0]).removeprefix('a ')}s"
    if origin is frozenset:
        return f"a list of {_describe(args[0]).removeprefix('a ')}s"
    if origin in (Mapping, dict):
        return f"an object of {_describe(args[1]).removeprefix('a ')}s"
    words = {_NONE: "null", bool: "true or false", int: "a whole number", float: "a number"}
    return words.get(hint, "a string")


def read_request(source: str, stdin: TextIO | None = None) -> object:
    """The decoded JSON request in file ``source`` (``-``: ``stdin``); ConfigError when it cannot be read."""
    try:
        if source == "-":
            text = (stdin or sys.stdin).read()
        else:
            with open(source, encoding="utf-8") as f:
                text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read the request {source}: {e.strerror or e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"the request is not valid JSON ({e})") from None


# -- running ------------------------------------------------------------------------------------------
def execute(request: object, progress: ProgressCallback | None = None, is_cancelled: CancelCallback | None = None,
            info: Callable[[dict[str, Any]], None] | None = None) -> str:
    """Run one request (see the module docstring) with the library API; return the result's path.

    ``info`` receives the facts an ``INFO`` line carries (for ``colorize``: the input stretch it used).

    Raises ``ConfigError`` for a bad request, ``geocolor.mosaic.engine.Cancelled`` when ``is_cancelled``
    stopped it, and the API's own ``GeocolorError`` otherwise.
    """
    command, options = prepare(request)
    if command != "harvest":
        options.setdefault("show_progress", False)  # progress goes to the caller, not to a bar on stderr
    if command == "colorize":
        from geocolor.mosaic import colorize

        src, dst = options.pop("src"), options.pop("dst")
        path = str(colorize(src, dst, progress=progress, is_cancelled=is_cancelled, **options).path)
        if info is not None:
            try:
                info({"stretch": input_stretch(src, options)})
            except GeocolorError:  # the result stands; the viewer keeps its own contrast
                pass
        return path
    if command == "inpaint":
        from geocolor.inpaint import inpaint

        src, dst = options.pop("src"), options.pop("dst")
        return str(inpaint(src, dst, progress=progress, is_cancelled=is_cancelled, **options).path)
    return _harvest(options, progress, is_cancelled)


def _harvest(options: dict[str, Any], progress: ProgressCallback | None, is_cancelled: CancelCallback | None) -> str:
    from geocolor.aoi import aoi_from_bbox, aoi_from_file
    from geocolor.harvest import HarvestConfig, harvest
    from geocolor.mosaic.engine import Cancelled

    if "aoi" in options:
        area = aoi_from_file(options.pop("aoi"))
        options.pop("bbox_crs", None)
    else:
        area = aoi_from_bbox(options.pop("bbox"), options.pop("bbox_crs", "EPSG:4326"))
    result = harvest(HarvestConfig(aoi=area, **options), progress=progress, is_cancelled=is_cancelled)
    if result.cancelled:
        raise Cancelled("harvest cancelled")
    if result.failed:
        raise GeocolorError(f"{result.summary()}; run it again to fetch the failed tiles")
    return str(result.vrt or result.out)


def input_stretch(src: str, options: Mapping[str, Any]) -> list[float]:
    """The input values ``colorize`` maps to black and white: its own ``plan_input`` with the request's bands and percentiles."""
    from geocolor.mosaic.engine import MosaicOptions
    from geocolor.raster import open_raster, plan_input

    defaults = MosaicOptions()
    with open_raster(src) as ds:
        plan = plan_input(ds, options.get("bands", defaults.bands), options.get("percentiles", defaults.percentiles))
    return [plan.lo, plan.hi]


BACKENDS = ("torch", "onnxruntime")


def _check() -> str:
    """``OK <version> <backends>`` when geocolor and at least one inference backend import (fail here, not half-way)."""
    import importlib

    from geocolor import __version__

    found, failures = [], []
    for name in BACKENDS:
        try:
            importlib.import_module(name)
        except ImportError as e:
            failures.append(f"{name}: {e}")
        else:
            found.append(name)
    if not found:
        raise ImportError("no inference backend imports (" + "; ".join(failures) + ")")
    return f"OK {__version__} {','.join(found)}"


def _print_info(facts: Mapping[str, Any], out: TextIO) -> None:
    print("INFO " + json.dumps(facts, ensure_ascii=True), file=out, flush=True)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, stdin: TextIO | None = None) -> int:
    """Run ``check`` or ``run SOURCE``; return the exit code (0 done, 1 an ERROR line, 2 bad usage, 130 cancelled)."""
    out = out or sys.stdout
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__, file=out)
        return 0
    if args != ["check"] and (len(args) != 2 or args[0] != "run"):
        hint = " (this geocolor expects a JSON request: update the QGIS plugin)" if args and args[0] in COMMANDS else ""
        print(f"ERROR {USAGE}{hint}", file=out, flush=True)
        return 2
    try:
        from geocolor.mosaic.engine import Cancelled

        try:
            line = _check() if args == ["check"] else "DONE " + execute(read_request(args[1], stdin), line_progress(out), TERMINATED,
                                                                         lambda facts: _print_info(facts, out))
        except Cancelled:
            print("CANCELLED", file=out, flush=True)
            return 130
    except GeocolorError as e:
        print("ERROR " + " ".join(str(e).split()), file=out, flush=True)
        return 1
    except ImportError as e:
        print(f"ERROR this Python cannot run geocolor ({e}); install it with: pip install -e . (see README)", file=out, flush=True)
        return 1
    print(line, file=out, flush=True)
    return 0


if __name__ == "__main__":
    TERMINATED.install()
    sys.exit(main())
