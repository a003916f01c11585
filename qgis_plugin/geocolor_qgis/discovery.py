"""Finding a geocolor engine without being told where it is. Pure Python: no QGIS import, unit-tested alone.

``find_engine`` takes the first of:

1. a Python the user configured (plugin settings, then ``$GEOCOLOR_PYTHON``): used as given, not probed;
2. this Python itself, when ``geocolor`` and an inference backend (torch or onnxruntime) import here (in-process);
3. the plugin's own engine, the virtual environment "Install the geocolor engine" made in the QGIS profile
   (only once it carries its completion marker, see ``installer``);
4. ``.venv`` of the source checkout the plugin folder lives in (a symlinked developer install);
5. the Python behind a ``geocolor`` command on PATH, then ``python3`` / ``python`` on PATH;
6. conda environments: ``$CONDA_PREFIX``, the environments conda lists in ``~/.conda/environments.txt``, and
   ``envs/*`` of ``~/miniconda3``, ``~/anaconda3``, ``~/miniforge3``, ``~/mambaforge``, ``~/micromamba``.

Candidates 3-6 are proven before use: each runs ``python -m geocolor.qgis_runner check`` (which imports
geocolor and its backend) with a timeout, and only an ``OK`` answer counts. A Python that passed is not
probed again in this session. Conda environments without any ``geocolor`` entry in their site-packages
are skipped without starting them.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .engine import INPROCESS, SETUP_HINT, SUBPROCESS, Engine, EngineError, EngineNotFound
from .installer import installed_engine
from .process import engine_environment, probe

PROBE_TIMEOUT = 45.0  # seconds; importing torch from a cold disk can take tens of seconds
BACKENDS = ("torch", "onnxruntime")
CONDA_ROOTS = ("miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba", ".conda")

Probe = Callable[[str], bool]


@dataclass(frozen=True)
class Candidate:
    python: str
    found_by: str


def inprocess_available() -> bool:
    """True when geocolor and a backend (torch or onnxruntime) can be imported by this Python (without importing them)."""
    return importlib.util.find_spec("geocolor") is not None and any(importlib.util.find_spec(b) is not None for b in BACKENDS)


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


def env_python(prefix: Path) -> Path | None:
    """The interpreter of a conda environment or venv at ``prefix``, if there is one."""
    for rel in ("bin/python", "python.exe", "Scripts/python.exe"):
        if (prefix / rel).is_file():
            return prefix / rel
    return None


def mentions_geocolor(prefix: Path) -> bool:
    """Whether ``prefix``'s site-packages hold anything named geocolor (a package, dist-info, egg-link, editable finder)."""
    patterns = ("lib/python3*/site-packages/*geocolor*", "Lib/site-packages/*geocolor*")
    return any(glob.glob(str(prefix / pattern)) for pattern in patterns)


def conda_prefixes(environ: Mapping[str, str], home: Path) -> Iterator[Path]:
    """Conda environments worth a look, most specific first: the active one, conda's own list, then the usual roots."""
    if environ.get("CONDA_PREFIX"):
        yield Path(environ["CONDA_PREFIX"])
    try:
        listed = (home / ".conda" / "environments.txt").read_text(encoding="utf-8").splitlines()
    except OSError:
        listed = []
    yield from (Path(line.strip()) for line in listed if line.strip())
    roots = [home / name for name in CONDA_ROOTS]
    if environ.get("CONDA_EXE"):  # <root>/bin/conda or <root>\Scripts\conda.exe
        roots.insert(0, Path(environ["CONDA_EXE"]).parent.parent)
    for root in roots:
        yield from sorted(p for p in (root / "envs").glob("*") if p.is_dir())
        yield root


def conda_candidates(environ: Mapping[str, str], home: Path) -> Iterator[Candidate]:
    """Pythons of conda environments that mention geocolor in their site-packages."""
    for prefix in conda_prefixes(environ, home):
        python = env_python(prefix)
        if python is not None and mentions_geocolor(prefix):
            yield Candidate(str(python), f"conda environment {prefix}")


def path_candidates(which: Callable[[str], str | None]) -> Iterator[Candidate]:
    """The Python behind ``geocolor`` on PATH, then the ``python3`` / ``python`` on PATH."""
    script = which("geocolor")
    python = python_of_script(script) if script else None
    if python:
        yield Candidate(python, "geocolor on PATH")
    for name in ("python3", "python"):
        found = which(name)
        if found:
            yield Candidate(found, f"{name} on PATH")


def candidates(plugin_dir: Path | None, engine_home: Path | None, environ: Mapping[str, str],
               which: Callable[[str], str | None], home: Path) -> Iterator[Candidate]:
    """Every place an engine may be, in the order ``find_engine`` tries them (3-6 of the module docstring)."""
    own = installed_engine(engine_home) if engine_home is not None else None
    if own:
        yield Candidate(own, "the plugin's engine")
    venv = repo_venv_python(plugin_dir) if plugin_dir else None
    if venv:
        yield Candidate(venv, "repository .venv")
    yield from path_candidates(which)
    yield from conda_candidates(environ, home)


_PROVEN: set[str] = set()


def runs_geocolor(python: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether ``python -m geocolor.qgis_runner check`` answers ``OK`` within ``timeout`` (remembered when it does)."""
    if python in _PROVEN:
        return True
    code, output = probe([python, "-m", "geocolor.qgis_runner", "check"], timeout, engine_environment())
    ok = code == 0 and any(line.startswith("OK ") for line in output.splitlines())
    if ok:
        _PROVEN.add(python)
    return ok


def forget(python: str) -> None:
    """Probe ``python`` again next time (it failed a run)."""
    _PROVEN.discard(python)


def find_engine(
    configured: str | None = None,
    plugin_dir: Path | None = None,
    *,
    engine_home: Path | None = None,
    environ: Mapping[str, str] | None = None,
    inprocess: Callable[[], bool] = inprocess_available,
    which: Callable[[str], str | None] = shutil.which,
    works: Probe = runs_geocolor,
    home: Path | None = None,
) -> Engine:
    """Choose where the engine runs (see the module docstring); raise ``EngineNotFound`` (SETUP_HINT) if nowhere."""
    env = os.environ if environ is None else environ
    for value, source in ((configured, "settings"), (env.get("GEOCOLOR_PYTHON"), "$GEOCOLOR_PYTHON")):
        if value:
            if not (os.path.isfile(value) and os.access(value, os.X_OK)):
                raise EngineError(f"the geocolor Python {value!r} (from {source}) is not an executable file; fix it or clear it")
            return Engine(SUBPROCESS, value, source)
    if inprocess():
        return Engine(INPROCESS, None, "import")
    tried: set[str] = set()
    for candidate in candidates(plugin_dir, engine_home, env, which, home or Path.home()):
        if candidate.python in tried:
            continue
        tried.add(candidate.python)
        if works(candidate.python):
            return Engine(SUBPROCESS, candidate.python, candidate.found_by, clean_env=True)
    raise EngineNotFound(SETUP_HINT)
