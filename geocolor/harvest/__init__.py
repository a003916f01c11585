"""Harvest georeferenced colour tiles from a WMTS layer or an XYZ source, inside an AOI polygon.

``harvest(config)`` is the whole stage: read the WMTS capabilities (owslib), choose the tile matrix
set and zoom, select the tiles overlapping the AOI polygon (morecantile / mercantile + shapely),
fetch them politely and concurrently (rate cap, retries with backoff), write each as a GeoTIFF with
its tile's CRS and transform, and describe the result in ``manifest.json`` and ``tiles.vrt``.
Re-running resumes; see :mod:`geocolor.harvest.store` for the folder layout.

Modules: ``capabilities`` (WMTS documents), ``grids`` (tile math, tile selection), ``sources``
(layer/TMS/zoom resolution, tile URLs), ``fetcher`` (HTTP), ``tiles`` (decode, classify, write),
``store`` (folder, journal), ``manifest`` (manifest and VRT), ``runner`` (thread pool), ``api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geocolor.lazy import lazy_exports

if TYPE_CHECKING:
    from geocolor.harvest.api import HarvestPlan, HarvestResult, execute, harvest, plan
    from geocolor.harvest.config import HarvestConfig
    from geocolor.harvest.errors import CapabilitiesError, EmptyAOIError, FetchError, HarvestError
    from geocolor.harvest.fetcher import RetryPolicy
    from geocolor.harvest.store import TileRecord
    from geocolor.harvest.tiles import TileStatus

__all__ = [
    "CapabilitiesError",
    "EmptyAOIError",
    "FetchError",
    "HarvestConfig",
    "HarvestError",
    "HarvestPlan",
    "HarvestResult",
    "RetryPolicy",
    "TileRecord",
    "TileStatus",
    "execute",
    "harvest",
    "plan",
]

_HOMES = {
    "HarvestPlan": "api", "HarvestResult": "api", "execute": "api", "harvest": "api", "plan": "api",
    "HarvestConfig": "config", "CapabilitiesError": "errors", "EmptyAOIError": "errors", "FetchError": "errors",
    "HarvestError": "errors", "RetryPolicy": "fetcher", "TileRecord": "store", "TileStatus": "tiles",
}


__getattr__ = lazy_exports(__name__, _HOMES)
