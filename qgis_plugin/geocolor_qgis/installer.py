"""Installing the geocolor engine for a QGIS user: a virtual environment of its own in the QGIS profile, then pip.

Pure Python (no QGIS import); ``install_task`` runs ``install_engine`` in a ``QgsTask``. The layout, under a
``home`` folder (``<QGIS profile>/geocolor``)::

    engine/                   the virtual environment (``engine/bin/python``, ``engine\\Scripts\\python.exe``)
    engine/geocolor-engine.json   the completion marker, written last (atomically) once the engine answered ``check``
    engine-install.log        everything the last install printed
    engine-install.lock       held while an install runs

Only an ``engine/`` with its marker counts (``installed_engine``): a half-made one (QGIS closed mid-install,
a failed pip) is never used, and the next install removes it first. Cancel or failure removes it at once.

The environment is isolated (no ``--system-site-packages``): QGIS's Python and its packages (an older numpy,
its GDAL bindings) stay untouched and invisible to the engine, whose wheels (rasterio with its own GDAL,
numpy 2) would clash with them. pip's own cache and configuration (index, proxy, ``find-links``) apply as
for any pip run, so a second install downloads nothing it already has.

What gets installed (``pip_arguments``): ``geocolor[onnx]`` in the release series of this plugin from the
package index by default, or ``GEOCOLOR_ENGINE_SOURCE`` / the ``engine_source`` setting: a source checkout
(a folder with ``pyproject.toml`` or ``setup.cfg``), a wheel file, a folder of wheels (``--find-links``), or
any pip requirement (``geocolor[onnx]==0.2.0``, a VCS URL).

The Python that creates the environment (``choose_base_python``) must be 3.11 or newer and have ``venv`` (QGIS 3.22's
own Python on Windows and macOS is 3.9, so there one from PATH or a usual install place is used); with
``ensurepip`` it makes a normal venv, without it (Debian/Ubuntu without ``python3-venv``) it makes one
``--without-pip`` and installs pip into it with its own pip (``pip --python``, pip 22.3+). Neither: a one-line
error saying which package to install. QGIS's own Python is tried first, then the Pythons on PATH.
"""

from __future__ import annotations

import configparser
import contextlib
import glob
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .process import ProcessCancelled, engine_environment, probe, stream

Progress = Callable[[float], None]
IsCancelled = Callable[[], bool]
Runner = Callable[..., int]  # ``process.stream``'s signature

ENGINE_EXTRA = "onnx"
VENV_DIR = "engine"
MARKER = "geocolor-engine.json"
LOG = "engine-install.log"
LOCK = "engine-install.lock"
MIN_PYTHON = (3, 11)
MIN_PIP_FOR_PYTHON_OPTION = (22, 3)
SOURCE_VARIABLE = "GEOCOLOR_ENGINE_SOURCE"
BASE_PYTHON_VARIABLE = "GEOCOLOR_BASE_PYTHON"
CHECK_TIMEOUT = 180.0
# --no-compile: Python compiles the modules the engine imports on first use (the environment is the user's, writable)
# instead of pip compiling every module of every dependency up front, which was a third of the install time
PIP_OPTIONS = ("--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--prefer-binary", "--no-compile")
DEBIAN_HINT = "on Debian/Ubuntu: sudo apt install python3-venv"


class InstallError(Exception):
    """The engine could not be installed; the message is one line for the message bar."""


class InstallCancelled(InstallError):
    """The user cancelled; the half-made environment was removed."""


# -- layout -----------------------------------------------------------------------------------------------
def venv_python(venv: Path) -> Path:
    """The interpreter of the virtual environment at ``venv``."""
    return venv / "Scripts" / "python.exe" if sys.platform == "win32" else venv / "bin" / "python"


def installed_engine(home: Path) -> str | None:
    """The plugin's engine Python under ``home``, only when its install finished (the marker is there)."""
    venv = home / VENV_DIR
    python = venv_python(venv)
    return str(python) if (venv / MARKER).is_file() and python.is_file() else None


def plugin_version(plugin_dir: Path = Path(__file__).resolve().parent) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(plugin_dir / "metadata.txt", encoding="utf-8")
    return parser.get("general", "version", fallback="0.1.0")


def default_requirement(version: str | None = None) -> str:
    """``geocolor[onnx]`` of this plugin's release series: ``~=MAJOR.MINOR`` (0.1.x -> >=0.1, <1)."""
    major, minor = ((version or plugin_version()).split(".") + ["0"])[:2]
    return f"geocolor[{ENGINE_EXTRA}]~={major}.{minor}"


def pip_arguments(source: str | None) -> list[str]:
    """The ``pip install`` arguments for an install ``source`` (see the module docstring; empty: the package index)."""
    source = (source or "").strip()
    if not source:
        return [default_requirement()]
    path = Path(os.path.expanduser(source))
    if path.is_dir():
        if any((path / name).is_file() for name in ("pyproject.toml", "setup.cfg", "setup.py")):
            return [f"{path.resolve()}[{ENGINE_EXTRA}]"]
        return ["--find-links", str(path.resolve()), default_requirement()]
    if path.is_file() and path.suffix == ".whl":
        return [f"{path.resolve()}[{ENGINE_EXTRA}]"]
    return [source]


# -- the Python that creates the environment ----------------------------------------------------------------
@dataclass(frozen=True)
class BasePython:
    path: str
    version: tuple[int, int]
    venv: bool
    ensurepip: bool
    pip: tuple[int, ...] | None

    @property
    def usable(self) -> bool:
        return self.version >= MIN_PYTHON and self.venv and (self.ensurepip or self.pip_can_target)

    @property
    def pip_can_target(self) -> bool:
        return self.pip is not None and self.pip[:2] >= MIN_PIP_FOR_PYTHON_OPTION


_DESCRIBE = (
    "import importlib.util as u, json, sys\n"
    "try:\n    from importlib.metadata import version; pip = version('pip')\nexcept Exception:\n    pip = None\n"
    "print(json.dumps({'version': sys.version_info[:2], 'venv': u.find_spec('venv') is not None,"
    " 'ensurepip': u.find_spec('ensurepip') is not None, 'pip': pip if u.find_spec('pip') else None}))\n"
)


def describe_python(python: str, timeout: float = 30.0) -> BasePython | None:
    """What ``python`` offers for making a virtual environment; None when it does not run."""
    code, output = probe([python, "-c", _DESCRIBE], timeout)
    if code != 0:
        return None
    try:
        facts = json.loads(output.strip().splitlines()[-1])
        pip = tuple(int(p) for p in str(facts["pip"]).split(".")[:2] if p.isdigit()) if facts["pip"] else None
        major, minor = (int(v) for v in facts["version"])
        return BasePython(python, (major, minor), bool(facts["venv"]), bool(facts["ensurepip"]), pip)
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def base_python_candidates(configured: str | None = None, *, executable: str = sys.executable,
                           base_executable: str = getattr(sys, "_base_executable", ""), exec_prefix: str = sys.exec_prefix,
                           which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """Pythons that may create the environment: the configured one, QGIS's own (which ``sys.executable`` names only
    outside the QGIS application, where it is the ``qgis`` program), the one in ``sys.exec_prefix``, then PATH."""
    found: list[str] = [configured] if configured else []
    found += [exe for exe in (executable, base_executable) if exe and os.path.basename(exe).lower().startswith("python")]
    major, minor = sys.version_info[:2]
    for rel in (f"bin/python{major}.{minor}", f"bin/python{major}", "python.exe", f"python{major}.exe"):
        if (Path(exec_prefix) / rel).is_file():
            found.append(str(Path(exec_prefix) / rel))
    for name in ("python3.13", "python3.12", "python3.11", "python3", "python"):
        path = which(name)
        if path:
            found.append(path)
    return list(dict.fromkeys(found + well_known_pythons()))


def well_known_pythons(platform: str = sys.platform, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Pythons 3.11+ that a GUI application's PATH tends to miss, newest first: a macOS app gets no shell PATH
    (Homebrew, python.org), and python.org's Windows installer puts Python in the user's folder, off PATH."""
    if platform == "darwin":
        patterns = ["/opt/homebrew/bin/python3.1[1-9]", "/usr/local/bin/python3.1[1-9]",
                    "/Library/Frameworks/Python.framework/Versions/3.1[1-9]/bin/python3"]
    elif platform == "win32":
        local = environ.get("LOCALAPPDATA", "")
        patterns = ([f"{local}/Programs/Python/Python31[1-9]/python.exe"] if local else []) + ["C:/Program Files/Python31[1-9]/python.exe"]
    else:
        patterns = []
    return sorted((path for pattern in patterns for path in glob.glob(pattern)), reverse=True)


def choose_base_python(candidates: Sequence[str],
                       describe: Callable[[str], BasePython | None] = describe_python) -> BasePython:
    """The first candidate with ``ensurepip``, else the first that can bootstrap pip itself; else InstallError."""
    described = [d for d in (describe(c) for c in candidates) if d is not None]
    usable = [d for d in described if d.usable]
    if usable:
        return next((d for d in usable if d.ensurepip), usable[0])
    if not described:
        return _fail(f"no Python found to create the engine's environment; set ${BASE_PYTHON_VARIABLE} to a Python 3.11+")
    recent = [d for d in described if d.version >= MIN_PYTHON]
    if not recent:
        seen = ", ".join(f"{d.path} ({d.version[0]}.{d.version[1]})" for d in described)
        return _fail(f"the geocolor engine needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer and found only {seen}; "
                     f"install one, or set ${BASE_PYTHON_VARIABLE} to it")
    return _fail(f"{recent[0].path} cannot create virtual environments (no ensurepip, no pip); {DEBIAN_HINT}, then try again")


def _fail(message: str) -> BasePython:
    raise InstallError(message)


# -- progress -----------------------------------------------------------------------------------------------
class PipProgress:
    """pip's output lines -> a rising fraction in [start, end]: each package found moves it a little, then
    "Installing collected packages" and "Successfully installed" (pip tells nothing finer)."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end, self.found, self.last = start, end, 0, start

    def __call__(self, line: str) -> float | None:
        span = self.end - self.start
        if line.startswith(("Collecting ", "Processing ", "Requirement already satisfied")):
            self.found += 1
            value = self.start + 0.6 * span * (1 - 0.92 ** self.found)
        elif line.startswith("Installing collected packages"):
            value = self.start + 0.65 * span
        elif line.startswith("Successfully installed"):
            value = self.end
        else:
            return None
        self.last = max(self.last, value)
        return self.last


# -- installing ---------------------------------------------------------------------------------------------
@dataclass
class _Session:
    """One install's log and callbacks."""

    log: Any
    progress: Progress
    is_cancelled: IsCancelled | None
    run: Runner
    tail: list[str]

    def command(self, argv: Sequence[str], on_line: Callable[[str], None] | None = None) -> int:
        self.log.write("$ " + " ".join(argv) + "\n")
        self.log.flush()

        def line(text: str) -> None:
            self.log.write(text + "\n")
            self.tail[:] = (self.tail + [text])[-40:]
            if on_line is not None:
                on_line(text)

        try:
            return self.run(argv, line, self.is_cancelled, env=engine_environment())
        except ProcessCancelled:
            raise InstallCancelled("engine install cancelled") from None
        except OSError as e:
            raise InstallError(f"cannot start {argv[0]}: {e.strerror or e}") from None

    def last_error(self) -> str:
        errors = [t.strip() for t in self.tail if t.strip().startswith("ERROR")]
        lines = [t.strip() for t in self.tail if t.strip()]
        return (errors or lines or ["no message"])[-1]


def install_engine(home: Path, pip_args: Sequence[str], base: BasePython, progress: Progress | None = None,
                   is_cancelled: IsCancelled | None = None, *, run: Runner = stream) -> str:
    """Make the engine under ``home`` (see the module docstring); return its Python. InstallError / InstallCancelled."""
    home.mkdir(parents=True, exist_ok=True)
    venv = home / VENV_DIR
    with _lock(home / LOCK), open(home / LOG, "w", encoding="utf-8") as log:
        session = _Session(log, progress or (lambda f: None), is_cancelled, run, [])
        try:
            shutil.rmtree(venv, ignore_errors=True)  # a half-made one, or the one being replaced
            session.progress(0.01)
            _create_venv(session, base, venv)
            python = str(venv_python(venv))
            session.progress(0.08)
            code = session.command([python, "-m", "pip", "install", *PIP_OPTIONS, *pip_args], _reporting(session, PipProgress(0.08, 0.92)))
            if code:
                raise InstallError(f"pip could not install the geocolor engine: {session.last_error()} (log: {home / LOG})")
            version = _check(python, home)
            _write_marker(venv, {"python": python, "geocolor": version, "pip_arguments": list(pip_args),
                                 "base_python": base.path, "installed": time.strftime("%Y-%m-%dT%H:%M:%S")})
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
    session.progress(1.0)
    return python


def _reporting(session: _Session, pip_progress: PipProgress) -> Callable[[str], None]:
    def on_line(line: str) -> None:
        value = pip_progress(line)
        if value is not None:
            session.progress(value)

    return on_line


def _create_venv(session: _Session, base: BasePython, venv: Path) -> None:
    """``base -m venv`` (with pip when it has ensurepip); else ``--without-pip`` and pip put in by ``base``'s pip."""
    if base.ensurepip and session.command([base.path, "-m", "venv", str(venv)]) == 0:
        return
    shutil.rmtree(venv, ignore_errors=True)
    if not base.pip_can_target:
        raise InstallError(f"{base.path} cannot create a virtual environment with pip ({session.last_error()}); {DEBIAN_HINT}")
    if session.command([base.path, "-m", "venv", "--without-pip", str(venv)]) != 0:
        raise InstallError(f"{base.path} -m venv failed: {session.last_error()}")
    bootstrap = [base.path, "-m", "pip", "--python", str(venv_python(venv)), "install", *PIP_OPTIONS, "pip"]
    if session.command(bootstrap) != 0:
        raise InstallError(f"cannot put pip into the engine's environment: {session.last_error()}; {DEBIAN_HINT}")


def _check(python: str, home: Path) -> str:
    """The new engine's ``qgis_runner check``: its geocolor version, or InstallError saying what is wrong."""
    code, output = probe([python, "-m", "geocolor.qgis_runner", "check"], CHECK_TIMEOUT)
    ok = [line for line in output.splitlines() if line.startswith("OK ")]
    if code == 0 and ok:
        return ok[-1].split()[1]
    with open(home / LOG, "a", encoding="utf-8") as log:
        log.write(output)
    last = next((line for line in reversed(output.splitlines()) if line.strip()), "no answer")
    if "No module named" in output and "geocolor" in output:
        return _not_ours(f"the package pip installed as geocolor is not the geocolor engine ({last.strip()}); "
                         f"set ${SOURCE_VARIABLE} (or the plugin's engine source) to the right one")
    return _not_ours(f"the installed engine does not start: {last.strip()} (log: {home / LOG})")


def _not_ours(message: str) -> str:
    raise InstallError(message)


def _write_marker(venv: Path, facts: dict[str, Any]) -> None:
    """The completion marker, written atomically: a crash leaves no marker, never a half-written one."""
    tmp = venv / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(facts, indent=1), encoding="utf-8")
    os.replace(tmp, venv / MARKER)


@contextlib.contextmanager
def _lock(path: Path, stale_after: float = 6 * 3600) -> Iterator[None]:
    """Hold ``path`` for one install at a time (across QGIS instances); a lock left by a dead install is taken over."""
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if _holder_alive(path, stale_after):
                raise InstallError(f"another QGIS is installing the geocolor engine ({path} exists); wait for it, "
                                   "or delete that file if no install is running") from None
            with contextlib.suppress(OSError):
                path.unlink()
    else:
        raise InstallError(f"cannot take the install lock {path}")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def _holder_alive(path: Path, stale_after: float) -> bool:
    try:
        age = time.time() - path.stat().st_mtime
        pid = int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    if age > stale_after or pid <= 0:
        return False
    if sys.platform == "win32":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
