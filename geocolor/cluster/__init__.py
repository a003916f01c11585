"""Run mosaic, inpaint and harvest on a Dask cluster (``dask.distributed``), for archives and provinces.

``connect("local:4")`` or ``connect("tcp://host:8786")`` gives a client (``scheduler``);
``colorize_archive`` and ``inpaint_archive`` colour or fill many rasters, one task per raster or per
window of a large one (``archive``, ``split``, ``tasks``); ``harvest_on_cluster`` fetches an AOI's
tiles in chunks under one cluster-wide request rate (``harvest``, ``ratelimit``). Nothing here is
imported unless a command is given ``--scheduler``: the one-machine path never imports dask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geocolor.lazy import lazy_exports

if TYPE_CHECKING:
    from geocolor.cluster.archive import ArchiveResult, archive_pairs, colorize_archive, inpaint_archive
    from geocolor.cluster.harvest import harvest_on_cluster
    from geocolor.cluster.scheduler import SchedulerSpec, connect, describe, parse_scheduler
    from geocolor.cluster.split import DEFAULT_SPLIT_SIZE

__all__ = [
    "DEFAULT_SPLIT_SIZE",
    "ArchiveResult",
    "SchedulerSpec",
    "archive_pairs",
    "colorize_archive",
    "connect",
    "describe",
    "harvest_on_cluster",
    "inpaint_archive",
    "parse_scheduler",
]

_HOMES = {
    "ArchiveResult": "archive", "archive_pairs": "archive", "colorize_archive": "archive", "inpaint_archive": "archive",
    "harvest_on_cluster": "harvest", "SchedulerSpec": "scheduler", "connect": "scheduler", "describe": "scheduler",
    "parse_scheduler": "scheduler", "DEFAULT_SPLIT_SIZE": "split",
}


__getattr__ = lazy_exports(__name__, _HOMES)
