"""A real Dask cluster on 127.0.0.1 for the cluster tests: a ``dask scheduler`` and two ``dask worker``
processes (one thread each, no nanny, so a SIGKILL kills the worker itself), started once per session;
a killed worker is replaced before the next test. Small gray rasters cut from the shared NAIP scene, and
a real TiTiler behind the recording proxy of the harvest tests (``tests/harvest/harvest_helpers.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harvest"))
from harvest_helpers import FaultProxy, free_port, serve_proxy  # noqa: E402

from tests.conftest import shared, write_tif  # noqa: E402

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@dataclass
class DaskCluster:
    """The scheduler's address and the worker processes (pid -> process)."""

    address: str
    logs: Path
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.workers)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", self.address, "--nthreads", "1", "--nworkers", "1", "--no-nanny",
             "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0"],
            stdout=log, stderr=subprocess.STDOUT, env=ENV, cwd=Path(__file__).resolve().parents[2],
        )
        log.close()
        self.workers.append(proc)
        return proc

    def live(self) -> list[subprocess.Popen[bytes]]:
        return [w for w in self.workers if w.poll() is None]

    def ensure(self, n: int = 2) -> None:
        """Start workers until ``n`` run, and wait until the scheduler knows them."""
        from distributed import Client

        while len(self.live()) < n:
            self.start_worker()
        with Client(self.address, timeout="30s") as client:
            deadline = time.monotonic() + 90
            while len(client.nthreads()) != n:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the scheduler does not see {n} workers; logs in {self.logs}")
                time.sleep(0.1)

    def close(self) -> None:
        """Stop the cluster: the workers are killed outright (test processes, nothing to save: a graceful
        worker shutdown waits on the scheduler for seconds), then the scheduler is asked to stop."""
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
        if self.scheduler.poll() is None:
            self.scheduler.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    pytest.importorskip("distributed", reason="dask.distributed not installed (pip install 'dask[distributed]')")
    logs = tmp_path_factory.mktemp("dask-logs")
    port = free_port()
    log = open(logs / "scheduler.log", "wb")
    scheduler = subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT, env=ENV)
    log.close()
    cluster = DaskCluster(f"tcp://127.0.0.1:{port}", logs, scheduler)
    try:
        cluster.ensure(2)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def cluster(dask_cluster: DaskCluster) -> DaskCluster:
    """The session's cluster with two live workers (a worker killed by an earlier test is replaced)."""
    dask_cluster.ensure(2)
    return dask_cluster


@pytest.fixture
def client(cluster: DaskCluster) -> Iterator[object]:
    from geocolor.cluster import connect

    with connect(cluster.address, torch_threads=1) as c:
        yield c


CROPS = [(0, 0, 320, 300), (320, 0, 300, 320), (0, 320, 384, 256), (400, 300, 288, 352), (620, 0, 300, 300), (600, 400, 320, 320)]


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six small gray rasters (256-384 px) cut from the real NAIP scene, EPSG:26914 as the source."""
    import rasterio
    from rasterio.windows import Window

    folder = tmp_path_factory.mktemp("archive")
    paths = []
    with rasterio.open(shared("naip/m_4709963_se_14_1_20200831.tif")) as ds:
        for i, (x, y, w, h) in enumerate(CROPS):
            win = Window(x, y, w, h)
            rgb = ds.read([1, 2, 3], window=win).astype(np.float32)
            gray = np.round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]).astype(np.uint8)[None]
            paths.append(write_tif(folder / f"sheet{i}.tif", gray, ds.crs.to_string(), ds.window_transform(win)))
    return paths


@pytest.fixture(scope="session")
def serial_archive(archive: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The archive coloured in this process with the shipped model: the reference (input name -> output)."""
    from geocolor.models.engines import load_colorizer
    from geocolor.mosaic.engine import MosaicOptions, colorize

    out = tmp_path_factory.mktemp("serial")
    translator = load_colorizer(None, "cpu", "auto", "auto", 1)
    return {p.name: colorize(p, out / p.name, MosaicOptions(device="cpu", show_progress=False), translator=translator).path for p in archive}


@pytest.fixture(scope="session")
def recording_proxy(titiler: str) -> Iterator[FaultProxy]:
    """The harvest tests' proxy in front of the session's TiTiler (``tests/conftest.py``), here only recording each request and its arrival time."""
    with serve_proxy(titiler) as fp:
        yield fp
