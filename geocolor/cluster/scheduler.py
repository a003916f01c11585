"""Where the work runs: ``--scheduler ADDRESS`` (an existing Dask cluster) or ``local[:N]`` (a LocalCluster).

``parse_scheduler`` turns the option's text into a ``SchedulerSpec`` (pure); ``connect`` yields a
``distributed.Client`` for it and closes what it started. A local cluster has N worker processes
(default: one per physical core) with one task slot each, and each worker's model engine (torch or
onnxruntime) uses ``cores // N`` threads, so N x threads = cores and concurrent tasks never fight over
the same cores. On an existing cluster each worker's engine gets ``its machine's cores // its task
slots`` threads, or ``torch_threads``; a run's own ``threads`` option (``--threads``) wins over both.

This module is imported only when a command is given ``--scheduler``: without it nothing imports dask.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from distributed import WorkerPlugin

from geocolor.errors import ConfigError

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

LOCAL = "local"


@dataclass(frozen=True)
class SchedulerSpec:
    """A parsed ``--scheduler``: ``address`` of a running scheduler, or ``local`` with ``workers`` processes."""

    address: str | None
    workers: int | None = None  # local only; None: one per core

    @property
    def is_local(self) -> bool:
        return self.address is None


def parse_scheduler(text: str) -> SchedulerSpec:
    """``local``, ``local:N``, ``tcp://host:port``, ``host:port`` (tcp) or another ``proto://`` address."""
    value = text.strip()
    if value == LOCAL:
        return SchedulerSpec(None)
    m = re.fullmatch(r"local:(\d+)", value)
    if m:
        workers = int(m.group(1))
        if not 1 <= workers <= 512:
            raise ConfigError(f"--scheduler {text}: give between 1 and 512 local workers")
        return SchedulerSpec(None, workers)
    if re.fullmatch(r"[a-z][a-z0-9+]*://[^\s/]+(:\d+)?/?", value):
        return SchedulerSpec(value.rstrip("/"))
    if re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d+", value):
        return SchedulerSpec(f"tcp://{value}")
    raise ConfigError(f"--scheduler {text!r}: give local, local:N or a scheduler address such as tcp://host:8786")


def local_layout(workers: int | None, cores: int) -> tuple[int, int]:
    """(worker processes, torch threads per worker) for ``local[:N]`` on ``cores`` cores (pure)."""
    n = workers or max(1, cores)
    return n, max(1, cores // n)


class WorkerThreads(WorkerPlugin):
    """Sets the model engine's threads in every worker when it starts (and in workers that join later);
    a task's own ``threads`` option (``--threads``) still wins."""

    name = "geocolor-worker-threads"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def setup(self, worker: Any) -> None:
        from geocolor.cluster.tasks import set_worker_threads
        from geocolor.models.engines import physical_cores

        slots = max(1, int(getattr(worker.state, "nthreads", 1)))
        threads = self.threads or max(1, physical_cores() // slots)
        set_worker_threads(threads)
        log.debug("worker %s: the model engine uses %d thread(s)", worker.address, threads)


@contextmanager
def connect(scheduler: str | SchedulerSpec, torch_threads: int | None = None, cores: int | None = None) -> Iterator[Client]:
    """A client of the cluster ``scheduler`` names (starting a LocalCluster for ``local[:N]``); closed on exit.

    ``torch_threads`` overrides the threads each worker's torch uses (see the module docstring).
    """
    from distributed import Client, LocalCluster

    from geocolor.models.engines import physical_cores

    spec = parse_scheduler(scheduler) if isinstance(scheduler, str) else scheduler
    quiet = _quiet_dask()
    if spec.is_local:
        n, threads = local_layout(spec.workers, cores or physical_cores())
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, silence_logs=quiet, dashboard_address=":0")
        try:
            with Client(cluster) as client:
                client.register_plugin(WorkerThreads(torch_threads or threads))
                yield client
        finally:
            logging.getLogger("distributed").setLevel(logging.CRITICAL)  # workers closing while the scheduler talks to them
            cluster.close()
            logging.getLogger("distributed").setLevel(quiet)
        return
    try:
        client = Client(spec.address, timeout="20s")
    except (OSError, TimeoutError) as e:
        raise ConfigError(f"no Dask scheduler answers at {spec.address} ({str(e).splitlines()[0][:120]}); "
                          "start one with `dask scheduler` or use --scheduler local:N") from None
    try:
        client.register_plugin(WorkerThreads(torch_threads))
        yield client
    finally:
        client.close()


def _quiet_dask() -> int:
    """Let dask's own log through only at the level geocolor logs at (``-v``), and its warnings never below ERROR
    unless asked; returns that level."""
    level = logging.getLogger().getEffectiveLevel()
    quiet = logging.ERROR if level >= logging.WARNING else level
    logging.getLogger("distributed").setLevel(quiet)
    return quiet


def dashboard_link(client: Client) -> str | None:
    """The cluster's dashboard URL, or None when the scheduler serves none (it needs ``bokeh``)."""
    services = client.scheduler_info().get("services", {})
    return str(client.dashboard_link) if "dashboard" in services else None


def describe(client: Client) -> str:
    """One line: workers, task slots, and the dashboard link (or how to get one)."""
    workers = client.nthreads()
    slots = sum(int(n) for n in workers.values())
    link = dashboard_link(client)
    where = f"dashboard {link}" if link else "no dashboard (pip install bokeh on the scheduler for one)"
    return f"dask cluster {client.scheduler.address}: {len(workers)} worker(s), {slots} task slot(s); {where}"
