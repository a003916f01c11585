"""Thin ``QgsTask`` adapters: ``ColorizeTask`` over ``engine.run_colorize`` (``InstallEngineTask`` in
``install_task`` over the installer), both on ``BackgroundTask``.

``run()`` works in a worker thread and touches no GUI: the work gets the task's ``setProgress`` and
``isCanceled`` and the task keeps the outcome. ``finished()`` runs on the main thread and hands the
task to the ``on_finished`` callback, which adds the layer or shows the message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from qgis.core import QgsTask

from .engine import ColorizeParams, Engine, EngineCancelled, EngineError, run_colorize


class BackgroundTask(QgsTask):
    """A cancellable task whose ``work()`` runs in a worker thread; ``error`` and ``cancelled`` tell how it went.

    ``cancelled_errors`` mean the user stopped it; ``failure_errors`` carry a one-line message for the
    message bar; anything else is reported as unexpected (a worker-thread exception would otherwise only
    reach QGIS's log).
    """

    cancelled_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    failure_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    doing: ClassVar[str] = ""  # " while ...", for the unexpected-error message

    def __init__(self, description: str, on_finished: Callable[[Any], None]) -> None:
        super().__init__(description, QgsTask.CanCancel)
        self.on_finished = on_finished
        self.error: str | None = None
        self.cancelled = False

    def report_progress(self, fraction: float) -> None:
        self.setProgress(100.0 * fraction)

    def work(self) -> None:
        raise NotImplementedError

    def run(self) -> bool:
        try:
            self.work()
        except self.cancelled_errors:
            self.cancelled = True
            return False
        except self.failure_errors as e:
            self.error = str(e)
            return False
        except Exception as e:  # noqa: BLE001
            self.error = f"unexpected {type(e).__name__}{self.doing}: {e}"
            return False
        return True

    def finished(self, result: bool) -> None:  # noqa: FBT001  (QgsTask's signature)
        if not result and not self.error and self.isCanceled():
            self.cancelled = True
        self.on_finished(self)


class ColorizeTask(BackgroundTask):
    """Colorize one raster in the background; ``output`` or ``error`` tells how it went."""

    cancelled_errors = (EngineCancelled,)
    failure_errors = (EngineError,)

    def __init__(self, engine: Engine, params: ColorizeParams, on_finished: Callable[[ColorizeTask], None],
                 description: str = "") -> None:
        super().__init__(description or f"geocolor: colorize {params.src}", on_finished)
        self.engine = engine
        self.params = params
        self.output: str | None = None
        self.info: dict[str, Any] = {}  # what the engine reported besides the output (the input stretch)

    def work(self) -> None:
        self.output = run_colorize(self.engine, self.params, self.report_progress, self.isCanceled, self.info.update)
