"""``ColorizeTask``: a thin ``QgsTask`` adapter over ``engine.run_colorize``.

``run()`` works in a worker thread and touches no GUI: it passes the task's ``setProgress`` and
``isCanceled`` to the engine and keeps the outcome. ``finished()`` runs on the main thread and hands
the task to the ``on_finished`` callback, which adds the layer or shows the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qgis.core import QgsTask

from .engine import ColorizeParams, Engine, EngineCancelled, EngineError, run_colorize


class ColorizeTask(QgsTask):
    """Colorize one raster in the background; ``output`` or ``error`` tells how it went."""

    def __init__(self, engine: Engine, params: ColorizeParams, on_finished: Callable[[ColorizeTask], None],
                 description: str = "") -> None:
        super().__init__(description or f"geocolor: colorize {params.src}", QgsTask.CanCancel)
        self.engine = engine
        self.params = params
        self.on_finished = on_finished
        self.output: str | None = None
        self.info: dict[str, Any] = {}  # what the engine reported besides the output (the input stretch)
        self.error: str | None = None
        self.cancelled = False

    def run(self) -> bool:
        try:
            self.output = run_colorize(self.engine, self.params, lambda f: self.setProgress(100.0 * f), self.isCanceled,
                                       self.info.update)
        except EngineCancelled:
            self.cancelled = True
            return False
        except EngineError as e:
            self.error = str(e)
            return False
        except Exception as e:  # noqa: BLE001  (a worker-thread exception would only reach QGIS's log)
            self.error = f"unexpected {type(e).__name__}: {e}"
            return False
        return True

    def finished(self, result: bool) -> None:  # noqa: FBT001  (QgsTask's signature)
        if not result and not self.error and self.isCanceled():
            self.cancelled = True
        self.on_finished(self)
