"""How to talk to the geocolor engine. Pure Python: no QGIS import, unit-tested alone.

QGIS's Python rarely has geocolor's dependencies, so the engine runs either **in-process** (``import
geocolor`` and its backend work in this Python) or as a **subprocess** of a geocolor environment's Python
running ``python -m geocolor.qgis_runner`` (see that module for the line protocol). An :class:`Engine`
says which; ``discovery.find_engine`` picks one and ``installer`` makes one when there is none.
``run_colorize`` runs a :class:`ColorizeParams` (``run_inpaint`` an :class:`InpaintParams`, ``run_harvest`` a
:class:`HarvestParams`) with progress and cancel callbacks either way: each parameter object is one JSON request
(``to_json``), which ``geocolor.qgis_runner.execute`` checks and runs, in this Python or in the runner's.
Facts the engine reports besides the result (``INFO`` lines, e.g. the input stretch it used) go to an
``info`` callback.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from .process import ProcessCancelled, engine_environment, follow, pump_lines

Progress = Callable[[float], None]
IsCancelled = Callable[[], bool]
Info = Callable[[dict[str, Any]], None]

# Where the model may run: the same list as ``geocolor.commands.options.DEVICES`` (the CLI's --device),
# repeated here because QGIS's Python may not have geocolor; a test keeps the two equal.
DEVICES = ("auto", "cpu", "cuda")

INPROCESS = "in-process"
SUBPROCESS = "subprocess"
INSTALL_ACTION = "Install the geocolor engine"
SETUP_HINT = (
    f"geocolor engine not found: use '{INSTALL_ACTION}' (Raster > geocolor) to set one up in the QGIS profile, "
    "or give the Python of an environment with geocolor (`pip install geocolor[onnx]` or `pip install -e .` of a "
    "checkout) in the Colorize dialog's 'geocolor Python' field or in $GEOCOLOR_PYTHON"
)


class EngineError(Exception):
    """The engine failed; the message is one line for the message bar."""


class EngineCancelled(EngineError):
    """The user cancelled; nothing was written."""


class EngineNotFound(EngineError):
    """No engine anywhere: the plugin offers to install one."""


class _Params:
    """Shared by the parameter objects: each is one request to ``geocolor.qgis_runner`` (see that module).

    ``request()`` is ``{"command": ..., "options": {...}}``: the fields by name, the file paths among them
    made absolute (the runner's working directory differs). The runner checks the option names and types
    against the library's own option dataclasses, so nothing here repeats them.
    """

    command: ClassVar[str]
    paths: ClassVar[tuple[str, ...]] = ()  # fields holding a file or folder path

    def options(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        for name in self.paths:
            values[name] = os.path.abspath(values[name]) if values[name] else None
        return values

    def request(self) -> dict[str, Any]:
        return {"command": self.command, "options": self.options()}

    def to_json(self) -> str:
        """The request as JSON text; ASCII only (``\\u`` escapes), so no console or pipe encoding can mangle a path."""
        return json.dumps(self.request(), ensure_ascii=True)


@dataclass(frozen=True)
class ColorizeParams(_Params):
    """One colorize run, as the dialog or a Processing algorithm fills it in."""

    command: ClassVar[str] = "colorize"
    paths: ClassVar[tuple[str, ...]] = ("src", "dst", "model", "inpaint_model")

    src: str
    dst: str
    model: str | None = None
    device: str = "auto"
    overwrite: bool = False
    fill_nodata: bool = False  # inpaint the input's nodata holes first
    inpaint_model: str | None = None  # for fill_nodata; None: the shipped inpainting model
    style: str | None = None  # a colour reference raster or a named style of the model
    dodge: float = 0.0  # > 0: even out slow exposure changes over this radius (pixels) before the model sees the input

    def options(self) -> dict[str, Any]:
        return {**super().options(), "style": _style_arg(self.style) if self.style else None, "dodge": float(self.dodge)}


def _style_arg(style: str) -> str:
    """A style that names an existing file is passed as an absolute path (the runner's cwd differs); a name as is."""
    return os.path.abspath(style) if os.path.exists(style) else style


@dataclass(frozen=True)
class InpaintParams(_Params):
    """One inpaint run: fill ``src``'s nodata holes (or ``mask``'s non-zero pixels) into ``dst``."""

    command: ClassVar[str] = "inpaint"
    paths: ClassVar[tuple[str, ...]] = ("src", "dst", "mask", "model")

    src: str
    dst: str
    mask: str | None = None
    model: str | None = None
    device: str = "auto"
    overwrite: bool = False
    method: str = "auto"  # auto (per-hole self-check), network or biharmonic


@dataclass(frozen=True)
class HarvestParams(_Params):
    """One WMTS harvest: capabilities URL, layer, bbox (x first) in ``bbox_crs``, zoom, output folder."""

    command: ClassVar[str] = "harvest"
    paths: ClassVar[tuple[str, ...]] = ("out",)

    url: str
    layer: str
    bbox: tuple[float, float, float, float]
    bbox_crs: str
    zoom: str
    out: str
    tms: str | None = None
    overwrite: bool = False

    def options(self) -> dict[str, Any]:
        return {**super().options(), "bbox": [float(v) for v in self.bbox]}


@dataclass(frozen=True)
class Engine:
    """How to run geocolor: ``mode`` is INPROCESS or SUBPROCESS (then ``python`` is the interpreter).

    ``clean_env``: start it without QGIS's ``PYTHONHOME`` / ``PYTHONPATH`` (set for Pythons the plugin found
    itself; a Python the user configured gets the environment as it is).
    """

    mode: str
    python: str | None = None
    found_by: str = ""
    clean_env: bool = False

    def describe(self) -> str:
        where = f"{self.mode} ({self.python})" if self.python else self.mode
        return f"{where}: {self.found_by}" if self.found_by else where

    def environment(self) -> dict[str, str]:
        """The environment a subprocess engine runs in."""
        if self.clean_env:
            return engine_environment()
        return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}


def parse_line(line: str) -> tuple[str, Any] | None:
    """One runner stdout line as ("progress", fraction), ("done", path), ("error", message) or ("info", dict); else None."""
    kind, _, rest = line.strip().partition(" ")
    if kind == "PROGRESS":
        try:
            return "progress", min(max(float(rest), 0.0), 1.0)
        except ValueError:
            return None
    if kind == "INFO":
        try:
            facts = json.loads(rest)
        except json.JSONDecodeError:
            return None
        return ("info", facts) if isinstance(facts, dict) else None
    if kind in ("DONE", "ERROR", "OK"):
        return kind.lower(), rest
    return None


def run_runner(
    python: str,
    args: Sequence[str],
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
    *,
    stdin: str | None = None,
    info: Info | None = None,
    env: dict[str, str] | None = None,
    poll: float = 0.1,
    popen: Callable[..., subprocess.Popen[str]] = subprocess.Popen,
) -> str:
    """Run ``python -m geocolor.qgis_runner ARGS`` (``stdin`` written to it); return the DONE/OK value. Terminate it on cancel.

    ``env``: its environment (default: this process's); ``info`` receives each INFO line's facts.
    """
    argv = [python, "-m", "geocolor.qgis_runner", *args]
    env = env if env is not None else {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    try:
        # a neutral working directory: ``-m`` puts it on sys.path, and QGIS's own one is arbitrary
        proc = popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", env=env,
                     cwd=tempfile.gettempdir())
    except OSError as e:
        raise EngineError(f"cannot start the geocolor Python {python!r}: {e.strerror or e}") from None
    if stdin is not None:
        _send(proc, stdin)
    errors: list[str] = []
    stderr_reader = threading.Thread(target=pump_lines, args=(proc.stderr, lambda e: errors.append(e or "")), daemon=True)
    stderr_reader.start()
    result: str | None = None
    error: str | None = None
    try:
        for line in follow(proc, is_cancelled, _stop, poll):
            message = parse_line(line)
            if message is None:
                continue
            kind, value = message
            if kind == "progress" and progress:
                progress(float(value))
            elif kind == "info" and info:
                info(value)
            elif kind in ("done", "ok"):
                result = str(value)
            elif kind == "error":
                error = str(value)
    except ProcessCancelled:
        raise EngineCancelled("cancelled") from None
    code = proc.wait()
    stderr_reader.join(timeout=5)
    _close(proc)
    if error:
        raise EngineError(error)
    if code != 0 or result is None:
        raise EngineError(_failure(python, code, [e.strip() for e in errors if e.strip()]))
    return result


def _send(proc: subprocess.Popen[str], text: str) -> None:
    """Write the request to the runner's stdin and close it; a runner that died at start is reported by its exit."""
    if proc.stdin is None:
        return
    try:
        proc.stdin.write(text)
        proc.stdin.close()
    except OSError:
        pass


def _failure(python: str, code: int, stderr: list[str]) -> str:
    """The one-line message for a runner that stopped without an ERROR line, from its stderr's last line."""
    last = stderr[-1] if stderr else ""
    if "No module named" in last and "geocolor" in last:
        return f"{python} has no geocolor installed: " + SETUP_HINT.split(": ", 1)[1]
    if "invalid choice: 'run'" in last:
        return f"the geocolor of {python} is older than this plugin; update it (git pull, then pip install -e .)"
    return f"the geocolor engine stopped (exit code {code}): {last or 'no message'}"


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM (the runner then cancels the engine cleanly), SIGKILL if it does not stop within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _close(proc)


def _close(proc: subprocess.Popen[str]) -> None:
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def run_params(engine: Engine, params: _Params, progress: Progress | None = None,
               is_cancelled: IsCancelled | None = None, info: Info | None = None) -> str:
    """Run one parameter object's request with ``engine``; return the result's path. Raise EngineError / EngineCancelled.

    A subprocess engine gets the request as JSON on its stdin (``qgis_runner run -``): unlike a command-line
    argument, stdin passes no shell, batch-file wrapper or Windows command-line quoting, and has no length limit.
    """
    if engine.mode == SUBPROCESS:
        return run_runner(str(engine.python), ["run", "-"], progress, is_cancelled, stdin=params.to_json(), info=info,
                          env=engine.environment())
    from geocolor.errors import GeocolorError
    from geocolor.mosaic.engine import Cancelled
    from geocolor.qgis_runner import execute

    try:
        return execute(json.loads(params.to_json()), progress, is_cancelled, info)
    except Cancelled:
        raise EngineCancelled("cancelled") from None
    except GeocolorError as e:
        raise EngineError(" ".join(str(e).split())) from None


def run_colorize(engine: Engine, params: ColorizeParams, progress: Progress | None = None,
                 is_cancelled: IsCancelled | None = None, info: Info | None = None) -> str:
    """Colorize with ``engine``; return the output path. Raise EngineError / EngineCancelled.

    ``info`` receives ``{"stretch": [low, high]}``: the input values the engine mapped to black and white.
    """
    return run_params(engine, params, progress, is_cancelled, info)


def run_inpaint(engine: Engine, params: InpaintParams, progress: Progress | None = None,
                is_cancelled: IsCancelled | None = None) -> str:
    """Inpaint with ``engine``; return the output path. Raise EngineError / EngineCancelled."""
    return run_params(engine, params, progress, is_cancelled)


def default_output(src: str, exists: Callable[[str], bool] = os.path.exists) -> str:
    """``<stem>_color.tif`` next to ``src`` (``_color_2``, ``_color_3``, ... when taken)."""
    base = os.path.splitext(src)[0] + "_color"
    candidate, n = base + ".tif", 2
    while exists(candidate):
        candidate, n = f"{base}_{n}.tif", n + 1
    return candidate


def run_harvest(engine: Engine, params: HarvestParams, progress: Progress | None = None,
                is_cancelled: IsCancelled | None = None) -> str:
    """Harvest with ``engine``; return the VRT (or folder) path. Raise EngineError / EngineCancelled."""
    return run_params(engine, params, progress, is_cancelled)
