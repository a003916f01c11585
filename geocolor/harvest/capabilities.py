"""WMTS capabilities through owslib: layers, styles, formats, tile matrix sets and how to GetTile.

The document is fetched with geocolor's own polite :class:`~geocolor.harvest.fetcher.Fetcher` (same
User-Agent, headers and retries as the tiles) and parsed by owslib's ``WebMapTileService``. Every
choice (layer, style, format, TMS) is checked here and a wrong one fails with the valid choices
listed. Tile URLs come from the layer's RESTful ``ResourceURL`` template when it has one for the
format, else from a KVP ``GetTile`` request on the operation's endpoint.

owslib reads a tile matrix's ``TopLeftCorner`` as written in the XML, i.e. in the CRS's own axis
order; the grid math lives in :mod:`geocolor.harvest.grids`, which hands it to morecantile.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from geocolor.harvest.errors import CapabilitiesError, FetchError
from geocolor.harvest.fetcher import Fetcher

log = logging.getLogger(__name__)

# Preferred tile formats when the user names none: lossless first (colour training data).
FORMAT_PREFERENCE = ("image/png", "image/png8", "image/webp", "image/jpeg", "image/jpg", "image/tiff")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def read_capabilities(url: str, fetcher: Fetcher) -> Any:
    """Fetch and parse a WMTS capabilities document; an owslib ``WebMapTileService``."""
    from lxml.etree import XMLSyntaxError
    from owslib.wmts import ServiceException, WebMapTileService

    try:
        resp = fetcher.get(url)
    except FetchError as e:
        raise CapabilitiesError(f"cannot fetch the capabilities: {e}") from e
    if resp.status != 200:
        raise CapabilitiesError(f"capabilities request answered HTTP {resp.status}: {url} ({_snippet(resp.content)})")
    try:
        return WebMapTileService(url, xml=resp.content)
    except (XMLSyntaxError, ServiceException, ValueError, AttributeError, KeyError) as e:
        raise CapabilitiesError(f"{url} is not a readable WMTS capabilities document: {e}") from e


def _snippet(content: bytes, n: int = 160) -> str:
    return " ".join(content[:n].decode("utf-8", "replace").split())


def choose_layer(wmts: Any, name: str) -> Any:
    """The layer called ``name`` (its identifier), or an error listing the layers."""
    if name in wmts.contents:
        return wmts.contents[name]
    raise CapabilitiesError(f"unknown layer {name!r}; the server offers: {', '.join(sorted(wmts.contents)) or '(none)'}")


def choose_style(layer: Any, style: str | None) -> str:
    """The style asked for, else the layer's default style, else its first one."""
    styles: dict[str, dict[str, Any]] = layer.styles
    if style is not None:
        if style not in styles:
            raise CapabilitiesError(f"unknown style {style!r} for layer {layer.id!r}; valid: {', '.join(styles) or '(none)'}")
        return style
    defaults = [s for s, meta in styles.items() if meta.get("isDefault")]
    return (defaults or list(styles) or ["default"])[0]


def tile_formats(layer: Any) -> list[str]:
    """The formats tiles of ``layer`` can be fetched in (REST templates first, then KVP formats)."""
    seen: list[str] = [r["format"] for r in layer.resourceURLs if r["resourceType"] == "tile"]
    seen += [f for f in layer.formats if f]
    return list(dict.fromkeys(seen))


def choose_format(layer: Any, fmt: str | None) -> str:
    """The format asked for (``png`` is short for ``image/png``), else the most lossless one offered."""
    offered = tile_formats(layer)
    if not offered:
        raise CapabilitiesError(f"layer {layer.id!r} lists no tile format")
    if fmt is not None:
        want = fmt if "/" in fmt else f"image/{fmt}"
        if want in offered:
            return want
        raise CapabilitiesError(f"format {fmt!r} not offered by layer {layer.id!r}; valid: {', '.join(offered)}")
    for pref in FORMAT_PREFERENCE:
        if pref in offered:
            return pref
    return offered[0]


def layer_tms_ids(layer: Any) -> list[str]:
    """Identifiers of the tile matrix sets a layer is published in, in document order."""
    return list(layer.tilematrixsetlinks)


def layer_limits(layer: Any, tms_id: str, matrix_id: str) -> tuple[int, int, int, int] | None:
    """(min_col, min_row, max_col, max_row) from the layer's TileMatrixSetLimits, None when unlimited."""
    link = layer.tilematrixsetlinks.get(tms_id)
    lim = link.tilematrixlimits.get(matrix_id) if link is not None else None
    if lim is None:
        return None
    return (lim.mintilecol, lim.mintilerow, lim.maxtilecol, lim.maxtilerow)


@dataclass(frozen=True)
class TileUrls:
    """Builds the GetTile URL of one tile, RESTful (from a template) or KVP (via owslib)."""

    layer: str
    style: str
    format: str
    tms_id: str
    template: str | None = None
    kvp_base: str | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)
    _wmts: Any = field(default=None, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return "rest" if self.template else "kvp"

    def url(self, matrix_id: str, col: int, row: int) -> str:
        if self.template:
            return self._fill(self.template, matrix_id, col, row)
        query = self._wmts.buildTileRequest(
            layer=self.layer, style=self.style, format=self.format, tilematrixset=self.tms_id,
            tilematrix=matrix_id, row=row, column=col, **dict(self.dimensions),
        )
        base = self.kvp_base or ""
        return base + ("" if base.endswith(("?", "&")) else "&" if "?" in base else "?") + query

    def _fill(self, template: str, matrix_id: str, col: int, row: int) -> str:
        values = {
            "tilematrixset": self.tms_id, "tilematrix": matrix_id, "tilerow": str(row),
            "tilecol": str(col), "style": self.style,
            **{k.lower(): v for k, v in self.dimensions.items()},
        }
        return _PLACEHOLDER.sub(lambda m: quote(values[m.group(1).lower()], safe=":@-._~"), template)


def tile_urls(wmts: Any, layer: Any, style: str, fmt: str, tms_id: str, dimensions: Mapping[str, str]) -> TileUrls:
    """How to fetch tiles of ``layer``: its REST template for ``fmt`` if any, else KVP GetTile."""
    dims = {name: str(meta.get("default")) for name, meta in layer.dimensions.items()}
    dims.update(dimensions)
    templates = [r["template"] for r in layer.resourceURLs if r["resourceType"] == "tile" and r["format"] == fmt]
    if templates:
        known = {"tilematrixset", "tilematrix", "tilerow", "tilecol", "style", *(k.lower() for k in dims)}
        unknown = sorted({p for p in _PLACEHOLDER.findall(templates[0]) if p.lower() not in known})
        if unknown:
            raise CapabilitiesError(f"the tile URL template needs {', '.join(unknown)}; give them with --dimension NAME=VALUE")
        return TileUrls(layer.id, style, fmt, tms_id, template=templates[0], dimensions=dims)
    base = _kvp_endpoint(wmts)
    if base is None:
        raise CapabilitiesError(f"layer {layer.id!r} has no ResourceURL for {fmt} and the server offers no KVP GetTile")
    return TileUrls(layer.id, style, fmt, tms_id, kvp_base=base, dimensions=dims, _wmts=wmts)


def _kvp_endpoint(wmts: Any) -> str | None:
    for op in wmts.operations:
        if op.name != "GetTile":
            continue
        for method in op.methods:
            constraints = str(method.get("constraints", "")).lower()
            if method.get("type", "Get").lower() == "get" and ("kvp" in constraints or "rest" not in constraints):
                return str(method["url"])
    return None


def describe(wmts: Any) -> list[str]:
    """Human-readable lines: each layer with its styles, formats and tile matrix sets (zoom ids)."""
    lines: list[str] = []
    for name in sorted(wmts.contents):
        layer = wmts.contents[name]
        lines.append(f"layer {name}" + (f"  ({layer.title})" if layer.title and layer.title != name else ""))
        lines.append(f"  styles:  {', '.join(layer.styles) or '(none)'}")
        lines.append(f"  formats: {', '.join(tile_formats(layer))}")
        for res in (r for r in layer.resourceURLs if r["resourceType"] == "tile"):
            lines.append(f"  rest:    {res['format']}  {res['template']}")
        kvp = _kvp_endpoint(wmts)
        if kvp:
            lines.append(f"  kvp:     GetTile at {kvp}")
        for tms_id in layer_tms_ids(layer):
            tms = wmts.tilematrixsets.get(tms_id)
            if tms is None:
                lines.append(f"  tms:     {tms_id} (not defined in the document)")
                continue
            ids = list(tms.tilematrix)
            limited = list(layer.tilematrixsetlinks[tms_id].tilematrixlimits)
            extra = f"; limits at {compact_ids(limited)}" if limited else ""
            lines.append(f"  tms:     {tms_id}  {tms.crs}  zooms {compact_ids(ids)}{extra}")
    return lines


def compact_ids(ids: list[str]) -> str:
    """``0..24`` for a run of consecutive integer ids, else the ids joined by commas."""
    if ids and all(re.fullmatch(r"-?\d+", i) for i in ids):
        nums = [int(i) for i in ids]
        if nums == list(range(nums[0], nums[0] + len(nums))):
            return f"{nums[0]}..{nums[-1]}" if len(nums) > 1 else str(nums[0])
    return ", ".join(ids)
