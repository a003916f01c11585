"""Where the geocolor engine runs, and how to talk to it. Pure Python: no QGIS import, unit-tested alone.

QGIS's Python rarely has torch, so the engine runs either **in-process** (``import geocolor`` and
``import torch`` work in this Python) or as a **subprocess** of a geocolor environment's Python
running ``python -m geocolor.qgis_runner`` (see that module for the line protocol). ``find_engine``
picks one: a configured Python (plugin settings or ``$GEOCOLOR_PYTHON``) first, then in-process, then
a ``.venv`` next to the plugin's repository, then the Python behind a ``geocolor`` command on PATH.
``run_colorize`` runs a :class:`ColorizeParams` (``run_inpaint`` an :class:`InpaintParams`) with progress and
cancel callbacks either way.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[float], None]
IsCancelled = Callable[[], bool]

INPROCESS = "in-process"
SUBPROCESS = "subprocess"
SETUP_HINT = (
    "geocolor engine not found: set the Python of a geocolor environment (one where `pip install -e .` "
    "of geocolor was run, e.g. /path/to/geocolor/.venv/bin/python) in the Colorize dialog's "
    "'geocolor Python' field or in $GEOCOLOR_PYTHON, or put `geocolor` on PATH"
)


class EngineError(Exception):
    """The engine failed; the message is one line for the message bar."""


class EngineCancelled(EngineError):
    """The user cancelled; nothing was written."""


@dataclass(frozen=True)
class ColorizeParams:
    """One colorize run, as the dialog or a Processing algorithm fills it in."""

    src: str
    dst: str
    model: str | None = None
    device: str = "auto"
    overwrite: bool = False
    fill_nodata: bool = False  # inpaint the input's nodata holes first
    inpaint_model: str | None = None  # for fill_nodata; None: the shipped inpainting model
    style: str | None = None  # a colour reference raster or a named style of the model
    dodge: float = 0.0  # > 0: even out slow exposure changes over this radius (pixels) before the model sees the input

    def runner_args(self) -> list[str]:
        """The ``geocolor.qgis_runner colorize`` arguments for these parameters."""
        args = ["colorize", os.path.abspath(self.src), os.path.abspath(self.dst), "--device", self.device]
        if self.model:
            args += ["--model", os.path.abspath(self.model)]
        if self.overwrite:
            args.append("--overwrite")
        if self.fill_nodata:
            args.append("--fill-nodata")
        if self.inpaint_model:
            args += ["--inpaint-model", os.path.abspath(self.inpaint_model)]
        if self.style:
            args += ["--style", _style_arg(self.style)]
        if self.dodge > 0:
            args += ["--dodge", f"{self.dodge:g}"]
        return args


def _style_arg(style: str) -> str:
    """A style that names an existing file is passed as an absolute path (the runner's cwd differs); a name as is."""
    return os.path.abspath(style) if os.path.exists(style) else style


@dataclass(frozen=True)
class InpaintParams:
    """One inpaint run: fill ``src``'s nodata holes (or ``mask``'s non-zero pixels) into ``dst``."""

    src: str
    dst: str
    mask: str | None = None
    model: str | None = None
    device: str = "auto"
    overwrite: bool = False
    method: str = "auto"  # auto (per-hole self-check), network or biharmonic

    def runner_args(self) -> list[str]:
        """The ``geocolor.qgis_runner inpaint`` arguments for these parameters."""
        args = ["inpaint", os.path.abspath(self.src), os.path.abspath(self.dst), "--device", self.device,
                f"--method={self.method}"]
        if self.mask:
            args += ["--mask", os.path.abspath(self.mask)]
        if self.model:
            args += ["--model", os.path.abspath(self.model)]
        if self.overwrite:
            args.append("--overwrite")
        return args


@dataclass(frozen=True)
class HarvestParams:
    """One WMTS harvest: capabilities URL, layer, bbox (x first) in ``bbox_crs``, zoom, output folder."""

    url: str
    layer: str
    bbox: tuple[float, float, float, float]
    bbox_crs: str
    zoom: str
    out: str
    tms: str | None = None
    overwrite: bool = False

    def runner_args(self) -> list[str]:
        """The ``geocolor.qgis_runner harvest`` arguments for these parameters."""
        bbox = ",".join(repr(float(v)) for v in self.bbox)  # one "--bbox=..." word: a leading "-" is not an option
        args = ["harvest", "--url", self.url, "--layer", self.layer, f"--bbox={bbox}",
                "--bbox-crs", self.bbox_crs, "--zoom", self.zoom, "--out", os.path.abspath(self.out)]
        if self.tms:
            args += ["--tms", self.tms]
        if self.overwrite:
            args.append("--overwrite")
        return args


@dataclass(frozen=True)
class Engine:
    """How to run geocolor: ``mode`` is INPROCESS or SUBPROCESS (then ``python`` is the interpreter)."""

    mode: str
    python: str | None = None
    found_by: str = ""

    def describe(self) -> str:
        return f"{self.mode} ({self.python})" if self.python else self.mode


def inprocess_available() -> bool:
    """True when geocolor and torch can be imported by this Python (without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in ("geocolor", "torch"))


def python_of_script(script: str) -> str | None:
    """The interpreter named by a console script's ``#!`` line (how pip-installed ``geocolor`` starts)."""
    try:
        with open(script, "rb") as f:
            first = f.readline().decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    parts = first[2:].split()
    return parts[0] if parts and os.path.basename(parts[0]).startswith("python") and os.path.exists(parts[0]) else None


def repo_venv_python(plugin_dir: Path) -> str | None:
    """``.venv``'s Python of the repository holding ``plugin_dir`` (a symlinked dev install), if any."""
    for parent in list(plugin_dir.resolve().parents)[:3]:
        for rel in ("bin/python", "Scripts/python.exe"):
            candidate = parent / ".venv" / rel
            if candidate.exists():
                return str(candidate)
    return None


def find_engine(
    configured: str | None = None,
    plugin_dir: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    inprocess: Callable[[], bool] = inprocess_available,
    which: Callable[[str], str | None] = shutil.which,
) -> Engine:
    """Choose where the engine runs (see the module docstring); raise EngineError with SETUP_HINT if nowhere."""
    env = os.environ if environ is None else environ
    for value, source in ((configured, "settings"), (env.get("GEOCOLOR_PYTHON"), "$GEOCOLOR_PYTHON")):
        if value:
            if not (os.path.isfile(value) and os.access(value, os.X_OK)):
                raise EngineError(f"the geocolor Python {value!r} (from {source}) is not an executable file; fix it or clear it")
            return Engine(SUBPROCESS, value, source)
    if inprocess():
        return Engine(INPROCESS, None, "import")
    venv = repo_venv_python(plugin_dir) if plugin_dir else None
    if venv:
        return Engine(SUBPROCESS, venv, "repository .venv")
    script = which("geocolor")
    python = python_of_script(script) if script else None
    if python:
        return Engine(SUBPROCESS, python, "geocolor on PATH")
    raise EngineError(SETUP_HINT)


def parse_line(line: str) -> tuple[str, str | float] | None:
    """One runner stdout line as ("progress", fraction), ("done", path) or ("error", message); else None."""
    kind, _, rest = line.strip().partition(" ")
    if kind == "PROGRESS":
        try:
            return "progress", min(max(float(rest), 0.0), 1.0)
        except ValueError:
            return None
    if kind in ("DONE", "ERROR", "OK"):
        return kind.lower(), rest
    return None


def _pump(stream: object, put: Callable[[str | None], None]) -> None:
    """Hand each line of ``stream`` to ``put``, then None; a stream closed under it (cancel) just ends."""
    try:
        for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
            put(line)
    except (OSError, ValueError):
        pass
    put(None)


def run_runner(
    python: str,
    args: Sequence[str],
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
    *,
    poll: float = 0.1,
    popen: Callable[..., subprocess.Popen[str]] = subprocess.Popen,
) -> str:
    """Run ``python -m geocolor.qgis_runner ARGS``; return the DONE/OK value. Terminate it on cancel."""
    argv = [python, "-m", "geocolor.qgis_runner", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        # a neutral working directory: ``-m`` puts it on sys.path, and QGIS's own one is arbitrary
        proc = popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tempfile.gettempdir())
    except OSError as e:
        raise EngineError(f"cannot start the geocolor Python {python!r}: {e.strerror or e}") from None
    lines: queue.Queue[str | None] = queue.Queue()
    errors: list[str] = []
    threading.Thread(target=_pump, args=(proc.stdout, lines.put), daemon=True).start()
    stderr_reader = threading.Thread(target=_pump, args=(proc.stderr, lambda e: errors.append(e or "")), daemon=True)
    stderr_reader.start()
    result: str | None = None
    error: str | None = None
    while True:
        if is_cancelled and is_cancelled():
            _stop(proc)
            raise EngineCancelled("cancelled")
        try:
            line = lines.get(timeout=poll)
        except queue.Empty:
            continue
        if line is None:
            break
        message = parse_line(line)
        if message is None:
            continue
        kind, value = message
        if kind == "progress" and progress:
            progress(float(value))
        elif kind in ("done", "ok"):
            result = str(value)
        elif kind == "error":
            error = str(value)
    code = proc.wait()
    stderr_reader.join(timeout=5)
    _close(proc)
    if error:
        raise EngineError(error)
    if code != 0 or result is None:
        tail = [e.strip() for e in errors if e.strip()]
        if tail and "No module named" in tail[-1] and "geocolor" in tail[-1]:
            raise EngineError(f"{python} has no geocolor installed; " + SETUP_HINT.split(": ", 1)[1])
        raise EngineError(f"the geocolor engine stopped (exit code {code}): {tail[-1] if tail else 'no message'}")
    return result


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


def run_colorize(engine: Engine, params: ColorizeParams, progress: Progress | None = None,
                 is_cancelled: IsCancelled | None = None) -> str:
    """Colorize with ``engine``; return the output path. Raise EngineError / EngineCancelled."""
    if engine.mode == SUBPROCESS:
        return run_runner(str(engine.python), params.runner_args(), progress, is_cancelled)
    from geocolor.mosaic import colorize

    return _inprocess(lambda: colorize(
        params.src, params.dst, model=params.model, device=params.device, overwrite=params.overwrite,
        fill_nodata=params.fill_nodata, inpaint_model=params.inpaint_model, style=params.style or None,
        dodge=params.dodge, show_progress=False, progress=progress, is_cancelled=is_cancelled))


def _inprocess(call: Callable[[], object]) -> str:
    """The path of ``call()``'s result (a library run in this Python); its errors as EngineError / EngineCancelled."""
    from geocolor.errors import GeocolorError
    from geocolor.mosaic.engine import Cancelled

    try:
        result = call()
    except Cancelled:
        raise EngineCancelled("cancelled") from None
    except GeocolorError as e:
        raise EngineError(" ".join(str(e).split())) from None
    return str(result.path)  # type: ignore[attr-defined]


def run_inpaint(engine: Engine, params: InpaintParams, progress: Progress | None = None,
                is_cancelled: IsCancelled | None = None) -> str:
    """Inpaint with ``engine``; return the output path. Raise EngineError / EngineCancelled."""
    if engine.mode == SUBPROCESS:
        return run_runner(str(engine.python), params.runner_args(), progress, is_cancelled)
    from geocolor.inpaint import inpaint

    return _inprocess(lambda: inpaint(params.src, params.dst, mask=params.mask, model=params.model, device=params.device,
                                      overwrite=params.overwrite, show_progress=False, progress=progress,
                                      is_cancelled=is_cancelled))


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
    if engine.mode == SUBPROCESS:
        return run_runner(str(engine.python), params.runner_args(), progress, is_cancelled)
    from geocolor.aoi import aoi_from_bbox
    from geocolor.errors import GeocolorError
    from geocolor.harvest import HarvestConfig, harvest

    try:
        config = HarvestConfig(out=params.out, aoi=aoi_from_bbox(list(params.bbox), params.bbox_crs), zoom=params.zoom,
                               url=params.url, layer=params.layer, tms=params.tms, overwrite=params.overwrite)
        result = harvest(config, progress=progress, is_cancelled=is_cancelled)
    except GeocolorError as e:
        raise EngineError(" ".join(str(e).split())) from None
    if result.cancelled:
        raise EngineCancelled("cancelled")
    if result.failed:
        raise EngineError(f"{result.summary()}; run it again to fetch the failed tiles")
    return str(result.vrt or result.out)
