"""``InstallEngineTask``: a thin ``QgsTask`` adapter over ``installer.install_engine``.

``run()`` works in a worker thread and touches no GUI: it passes the task's ``setProgress`` and ``isCanceled``
to the installer and keeps the outcome. ``finished()`` runs on the main thread and hands the task to the
``on_finished`` callback, which reports it in the message bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from qgis.core import QgsTask

from .installer import BasePython, InstallCancelled, InstallError, install_engine


class InstallEngineTask(QgsTask):
    """Create the engine's environment under ``home`` and pip-install geocolor; ``python`` or ``error`` tells how it went."""

    def __init__(self, home: Path, pip_args: Sequence[str], base: BasePython,
                 on_finished: Callable[[InstallEngineTask], None]) -> None:
        super().__init__("geocolor: install the engine", QgsTask.CanCancel)
        self.home = home
        self.pip_args = list(pip_args)
        self.base = base
        self.on_finished = on_finished
        self.python: str | None = None
        self.error: str | None = None
        self.cancelled = False

    def run(self) -> bool:
        try:
            self.python = install_engine(self.home, self.pip_args, self.base, lambda f: self.setProgress(100.0 * f),
                                         self.isCanceled)
        except InstallCancelled:
            self.cancelled = True
            return False
        except InstallError as e:
            self.error = str(e)
            return False
        except Exception as e:  # noqa: BLE001  (a worker-thread exception would only reach QGIS's log)
            self.error = f"unexpected {type(e).__name__} while installing the engine: {e}"
            return False
        return True

    def finished(self, result: bool) -> None:  # noqa: FBT001  (QgsTask's signature)
        if not result and not self.error and self.isCanceled():
            self.cancelled = True
        self.on_finished(self)
