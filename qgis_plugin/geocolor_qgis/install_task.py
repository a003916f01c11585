"""``InstallEngineTask``: a thin ``QgsTask`` adapter (``task.BackgroundTask``) over ``installer.install_engine``.

The work runs in a worker thread and touches no GUI; ``finished()`` hands the task to the
``on_finished`` callback on the main thread, which reports it in the message bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .installer import BasePython, InstallCancelled, InstallError, install_engine
from .task import BackgroundTask


class InstallEngineTask(BackgroundTask):
    """Create the engine's environment under ``home`` and pip-install geocolor; ``python`` or ``error`` tells how it went."""

    cancelled_errors = (InstallCancelled,)
    failure_errors = (InstallError,)
    doing = " while installing the engine"

    def __init__(self, home: Path, pip_args: Sequence[str], base: BasePython,
                 on_finished: Callable[[InstallEngineTask], None]) -> None:
        super().__init__("geocolor: install the engine", on_finished)
        self.home = home
        self.pip_args = list(pip_args)
        self.base = base
        self.python: str | None = None

    def work(self) -> None:
        self.python = install_engine(self.home, self.pip_args, self.base, self.report_progress, self.isCanceled)
