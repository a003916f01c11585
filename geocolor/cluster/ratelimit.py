"""One request rate for the whole cluster: politeness to a server must not grow with the worker count.

The limit is a lease scheme on a ``distributed.Semaphore`` with a single lease, kept by the
scheduler and named after the server. Before each request a thread anywhere in the cluster takes
the lease, holds it for ``1 / rate`` seconds and gives it back, then sends its request; so no two
requests start less than ``1 / rate`` apart, whichever workers they come from, and the server sees
at most ``rate`` requests a second however many workers there are. Timing uses only each holder's
own clock (how long it holds the lease), so the machines' clocks need not agree. A worker that dies
holding the lease loses it after the scheduler's lease timeout (``distributed.scheduler.locks.lease-timeout``).

Each request costs two short round trips to the scheduler, negligible at the rates a polite harvest uses.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

SEMAPHORE_PREFIX = "geocolor-rate-"


def limiter_name(url: str) -> str:
    """The name of the cluster-wide rate limit of the server ``url`` points at (scheme, host and port)."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower(), 0)
    return f"{SEMAPHORE_PREFIX}{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"


class ClusterRateLimiter:
    """Spaces requests ``1 / rate`` seconds apart across every worker of the cluster (see module docstring).

    Made inside a task on a worker (it talks to the scheduler through the worker's client). ``cancel``,
    when set, ends waiting at once.
    """

    def __init__(self, name: str, rate: float, cancel: threading.Event | None = None) -> None:
        from distributed import Semaphore

        if not rate > 0:
            raise ValueError(f"rate must be > 0, got {rate}")
        self.interval = 1.0 / rate
        self.cancel = cancel or threading.Event()
        self._semaphore = Semaphore(max_leases=1, name=name)

    def acquire(self) -> None:
        """Wait for this request's slot (returns at once once ``cancel`` is set)."""
        while not self.cancel.is_set():
            if self._semaphore.acquire(timeout=1.0):
                try:
                    self.cancel.wait(self.interval)
                finally:
                    self._semaphore.release()
                return
