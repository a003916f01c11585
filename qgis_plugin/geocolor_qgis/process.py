"""Child processes for the plugin's engine work: a short probe with a timeout, or a long run that streams its lines.

Pure Python (no QGIS). Engine discovery probes candidate Pythons (``probe``); the engine installer runs
``python -m venv`` and pip (``stream``), which take minutes and must stop on cancel. A child gets its own
process group (POSIX) or console group (Windows), so stopping it also stops what it started itself (pip's
build backends). ``engine_environment`` is the environment a different Python should see: QGIS's own
``PYTHONHOME`` / ``PYTHONPATH`` describe QGIS's Python and would break or pollute another one.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence

OnLine = Callable[[str], None]
IsCancelled = Callable[[], bool]

QGIS_PYTHON_VARIABLES = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__")


class ProcessCancelled(Exception):
    """``is_cancelled`` said stop; the child (and its group) was terminated."""


def engine_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) without the variables that configure QGIS's own Python."""
    env = dict(os.environ if environ is None else environ)
    for name in QGIS_PYTHON_VARIABLES:
        env.pop(name, None)
    env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    return env


def _group_options() -> dict[str, object]:
    if sys.platform == "win32":
        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    return {"start_new_session": True}


def _popen(argv: Sequence[str], env: Mapping[str, str] | None, cwd: str | None) -> subprocess.Popen[str]:
    return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            encoding="utf-8", errors="replace", env=dict(env) if env is not None else engine_environment(),
                            cwd=cwd or tempfile.gettempdir(), **_group_options())  # type: ignore[call-overload]


def stop(proc: subprocess.Popen[str], grace: float = 10.0) -> None:
    """Terminate ``proc`` and its group; kill them if they are still there after ``grace`` seconds."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _signal_group(proc: subprocess.Popen[str], sig: int) -> None:
    try:
        if sys.platform != "win32":
            os.killpg(proc.pid, sig)  # the group this child leads (start_new_session)
        elif sig == signal.SIGTERM:
            proc.terminate()
        else:
            proc.kill()
    except OSError:  # already gone
        pass


def probe(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None) -> tuple[int | None, str]:
    """Run ``argv`` briefly: (exit code, its output). The code is None when it could not start or ran past ``timeout``."""
    try:
        proc = _popen(argv, env, None)
    except OSError as e:
        return None, e.strerror or str(e)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc, grace=2.0)
        return None, f"no answer within {timeout:g} s"
    return proc.returncode, output


def stream(argv: Sequence[str], on_line: OnLine, is_cancelled: IsCancelled | None = None, *,
           env: Mapping[str, str] | None = None, cwd: str | None = None, poll: float = 0.1) -> int:
    """Run ``argv`` to its end, handing each line of its output (stdout and stderr) to ``on_line``; return its exit code.

    Raises ``ProcessCancelled`` (after stopping the child and its group) as soon as ``is_cancelled()`` is true,
    and ``OSError`` when the program cannot be started.
    """
    proc = _popen(argv, env, cwd)
    for line in follow(proc, is_cancelled, stop, poll):
        on_line(line)
    code = proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    return code


def pump_lines(stream: object, put: Callable[[str | None], None]) -> None:
    """Hand each line of ``stream`` to ``put``, then None; a stream closed under it (a cancel) just ends."""
    try:
        for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
            put(line)
    except (OSError, ValueError):
        pass
    put(None)


def follow(proc: subprocess.Popen[str], is_cancelled: IsCancelled | None, stop_child: Callable[[subprocess.Popen[str]], None],
           poll: float = 0.1) -> Iterator[str]:
    """Each line of ``proc``'s stdout (line end removed) as it comes, until the end of its output.

    A reader thread feeds a queue, so ``is_cancelled`` is asked every ``poll`` seconds even while the child is
    silent; when it says stop, ``stop_child(proc)`` runs and ``ProcessCancelled`` is raised.
    """
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=pump_lines, args=(proc.stdout, lines.put), daemon=True).start()
    while True:
        if is_cancelled is not None and is_cancelled():
            stop_child(proc)
            args = proc.args if isinstance(proc.args, (list, tuple)) else [str(proc.args)]
            raise ProcessCancelled(" ".join(str(a) for a in args[:3]))
        try:
            line = lines.get(timeout=poll)
        except queue.Empty:
            continue
        if line is None:
            return
        yield line.rstrip("\r\n")
