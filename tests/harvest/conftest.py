"""Fixtures for harvest tests: a real TiTiler server on 127.0.0.1 serving a real NAIP GeoTIFF as WMTS,
a small fault-injecting HTTP proxy in front of it, and harvests shared by several tests.

TiTiler (``titiler.application``, from PyPI) runs in its own uvicorn process on a free port; the
tests skip cleanly when it is not installed. Everything is session-scoped: one server (``titiler`` in
``tests/conftest.py``, shared with the cluster tests), one proxy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harvest_helpers import FaultProxy, sample_config, serve_proxy


@pytest.fixture(scope="session")
def proxy(titiler: str) -> Iterator[FaultProxy]:
    """The fault-injecting proxy (session-wide; each test calls ``reset`` with its own faults)."""
    with serve_proxy(titiler) as fp:
        yield fp


@pytest.fixture(scope="session")
def clean_run(titiler: str, tmp_path_factory: pytest.TempPathFactory):  # -> tuple[HarvestConfig, HarvestResult]
    """The sample AOI at WebMercatorQuad zoom 15, harvested straight from TiTiler."""
    from geocolor.harvest import harvest

    config = sample_config(titiler, tmp_path_factory.mktemp("clean") / "out")
    return config, harvest(config)


@pytest.fixture(scope="session")
def proxy_clean_run(proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory):  # -> tuple[HarvestConfig, HarvestResult]
    """The sample AOI at zoom 14 through the proxy without faults: the reference for fault and kill tests."""
    from geocolor.harvest import harvest

    proxy.reset()
    config = sample_config(proxy.base, tmp_path_factory.mktemp("proxy-clean") / "out", zoom="14")
    return config, harvest(config)

