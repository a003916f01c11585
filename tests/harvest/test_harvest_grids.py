"""Tile math and tile choice, checked against references: morecantile's registry, mercantile, and an
independent overlap test done the other way round (tile outlines reprojected into the AOI's CRS)."""

from __future__ import annotations

import morecantile
import pyproj
import pytest
import shapely
from harvest_helpers import SAMPLE_AOI, reference_tiles
from owslib.wmts import WebMapTileService

from geocolor.aoi import AOI, aoi_from_bbox, aoi_from_file
from geocolor.harvest import capabilities as caps
from geocolor.harvest.errors import CapabilitiesError
from geocolor.harvest.grids import TmsGrid, XyzGrid, build_tms, select_tiles
from geocolor.harvest.sources import choose_grid

# A small hand-written WMTS document: KVP-only access, a Time dimension, and a latitude-first
# EPSG:4326 grid whose tile matrices have non-numeric identifiers.
KVP_CAPS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1"
  xmlns:xlink="http://www.w3.org/1999/xlink" version="1.0.0">
 <ows:OperationsMetadata>
  <ows:Operation name="GetTile"><ows:DCP><ows:HTTP>
   <ows:Get xlink:href="http://example.test/service?">
    <ows:Constraint name="GetEncoding"><ows:AllowedValues><ows:Value>KVP</ows:Value></ows:AllowedValues></ows:Constraint>
   </ows:Get></ows:HTTP></ows:DCP></ows:Operation>
 </ows:OperationsMetadata>
 <Contents>
  <Layer>
   <ows:Identifier>ortho</ows:Identifier>
   <ows:WGS84BoundingBox><ows:LowerCorner>-100 46</ows:LowerCorner><ows:UpperCorner>-98 48</ows:UpperCorner></ows:WGS84BoundingBox>
   <Style isDefault="true"><ows:Identifier>natural</ows:Identifier></Style>
   <Style><ows:Identifier>infrared</ows:Identifier></Style>
   <Format>image/jpeg</Format><Format>image/png</Format>
   <Dimension><ows:Identifier>Time</ows:Identifier><Default>2020</Default><Value>2020</Value><Value>2019</Value></Dimension>
   <TileMatrixSetLink><TileMatrixSet>geo</TileMatrixSet></TileMatrixSetLink>
  </Layer>
  <TileMatrixSet>
   <ows:Identifier>geo</ows:Identifier>
   <ows:SupportedCRS>urn:ogc:def:crs:EPSG::4326</ows:SupportedCRS>
   <TileMatrix><ows:Identifier>EPSG:4326:0</ows:Identifier><ScaleDenominator>279541132.014358</ScaleDenominator>
    <TopLeftCorner>90 -180</TopLeftCorner><TileWidth>256</TileWidth><TileHeight>256</TileHeight>
    <MatrixWidth>2</MatrixWidth><MatrixHeight>1</MatrixHeight></TileMatrix>
   <TileMatrix><ows:Identifier>EPSG:4326:1</ows:Identifier><ScaleDenominator>139770566.007179</ScaleDenominator>
    <TopLeftCorner>90 -180</TopLeftCorner><TileWidth>256</TileWidth><TileHeight>256</TileHeight>
    <MatrixWidth>4</MatrixWidth><MatrixHeight>2</MatrixHeight></TileMatrix>
  </TileMatrixSet>
 </Contents>
</Capabilities>"""


@pytest.fixture(scope="module")
def kvp_wmts():
    return WebMapTileService("http://example.test/service", xml=KVP_CAPS)


def test_latitude_first_tms_with_string_ids(kvp_wmts) -> None:
    tms, index, crs = build_tms(kvp_wmts.tilematrixsets["geo"])
    assert index == {"EPSG:4326:0": 0, "EPSG:4326:1": 1}
    grid = TmsGrid("geo", tms, index["EPSG:4326:1"], "EPSG:4326:1", crs)
    # "90 -180" is (lat, lon): the west-most, north-most tile starts at lon -180, lat 90
    assert grid.tile_bounds(0, 0) == pytest.approx((-180, 0, -90, 90))
    assert grid.tile_bounds(3, 1) == pytest.approx((90, -90, 180, 0))


def test_kvp_gettile_url_and_choices(kvp_wmts) -> None:
    layer = caps.choose_layer(kvp_wmts, "ortho")
    assert caps.choose_style(layer, None) == "natural"
    assert caps.choose_format(layer, None) == "image/png"  # lossless preferred over the first listed
    assert caps.choose_format(layer, "jpeg") == "image/jpeg"
    urls = caps.tile_urls(kvp_wmts, layer, "natural", "image/png", "geo", {})
    url = urls.url("EPSG:4326:1", 3, 1)
    assert urls.kind == "kvp" and url.startswith("http://example.test/service?")
    for part in ("REQUEST=GetTile", "LAYER=ortho", "TILEMATRIX=EPSG%3A4326%3A1", "TILEROW=1", "TILECOL=3", "Time=2020"):
        assert part in url
    listing = caps.describe(kvp_wmts)
    assert "  kvp:     GetTile at http://example.test/service?" in listing
    assert "  tms:     geo  urn:ogc:def:crs:EPSG::4326  zooms EPSG:4326:0, EPSG:4326:1" in listing


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda w: caps.choose_layer(w, "nope"), "unknown layer 'nope'; the server offers: ortho"),
        (lambda w: caps.choose_style(w.contents["ortho"], "sepia"), "valid: natural, infrared"),
        (lambda w: caps.choose_format(w.contents["ortho"], "webp"), "valid: image/jpeg, image/png"),
        (lambda w: choose_grid(w, w.contents["ortho"], aoi_from_bbox((-99, 47, -98.9, 47.1)), "0", "utm"), "unknown TMS 'utm'.*valid: geo"),
        (lambda w: choose_grid(w, w.contents["ortho"], aoi_from_bbox((-99, 47, -98.9, 47.1)), "7", None), "valid zooms: geo: EPSG:4326:0, EPSG:4326:1"),
    ],
)
def test_wrong_choices_list_the_valid_ones(kvp_wmts, call, match: str) -> None:
    with pytest.raises(CapabilitiesError, match=match):
        call(kvp_wmts)


@pytest.mark.parametrize("tms_id,zoom", [("WebMercatorQuad", 15), ("WGS1984Quad", 14), ("CanadianNAD83_LCC", 17), ("WorldCRS84Quad", 14)])
def test_polygon_selection_matches_reference_and_beats_bbox(tms_id: str, zoom: int) -> None:
    aoi = aoi_from_file(SAMPLE_AOI)
    tms = morecantile.tms.get(tms_id)
    grid = TmsGrid(tms_id, tms, zoom, str(zoom), pyproj.CRS.from_wkt(tms.crs.to_wkt()))
    chosen = {(k.col, k.row) for k in select_tiles(grid, aoi)}
    assert chosen == reference_tiles(tms_id, zoom, aoi)
    in_bbox = {(k.col, k.row) for k in select_tiles(grid, AOI(shapely.box(*aoi.bounds), aoi.crs))}
    assert chosen < in_bbox  # the polygon, not its bounding box


def test_xyz_grid_agrees_with_webmercatorquad() -> None:
    aoi = aoi_from_file(SAMPLE_AOI)
    tms = morecantile.tms.get("WebMercatorQuad")
    tms_grid = TmsGrid("WebMercatorQuad", tms, 15, "15", pyproj.CRS.from_epsg(3857))
    xyz_grid = XyzGrid(15)
    a, b = select_tiles(tms_grid, aoi), select_tiles(xyz_grid, aoi)
    assert a == b and len(a) > 0
    for key in a:
        assert xyz_grid.tile_bounds(key.col, key.row) == pytest.approx(tms_grid.tile_bounds(key.col, key.row))


def test_layer_extent_limits_the_selection() -> None:
    tms = morecantile.tms.get("WebMercatorQuad")
    grid = TmsGrid("WebMercatorQuad", tms, 15, "15", pyproj.CRS.from_epsg(3857))
    aoi = aoi_from_file(SAMPLE_AOI)
    west_half = aoi_from_bbox((-180, -80, aoi.to_crs("OGC:CRS84").geometry.centroid.x, 80), "OGC:CRS84")
    all_tiles, clipped = select_tiles(grid, aoi), select_tiles(grid, aoi, within=west_half)
    assert 0 < len(clipped) < len(all_tiles)
    far_away = aoi_from_bbox((121.50, 25.02, 121.53, 25.05))
    assert select_tiles(grid, aoi, within=far_away) == []


def two_grid_caps(utm_limits: str = "") -> bytes:
    """A layer published in a geographic grid and in a UTM 14N grid (5 m cells; optionally with limits),
    the UTM matrix named like the geographic level 1 so that one zoom identifier fits both."""
    utm_matrix = (
        "<TileMatrix><ows:Identifier>5</ows:Identifier><ScaleDenominator>17857.142857142857</ScaleDenominator>"
        "<TopLeftCorner>0 10000000</TopLeftCorner><TileWidth>256</TileWidth><TileHeight>256</TileHeight>"
        "<MatrixWidth>1000</MatrixWidth><MatrixHeight>8000</MatrixHeight></TileMatrix>"
    )
    geo = KVP_CAPS.decode().split("<TileMatrixSet>\n   <ows:Identifier>geo")[1].split("</TileMatrixSet>")[0]
    return f"""<?xml version="1.0"?>
<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1" version="1.0.0">
 <Contents>
  <Layer><ows:Identifier>ortho</ows:Identifier><Style isDefault="true"><ows:Identifier>default</ows:Identifier></Style>
   <Format>image/png</Format>
   <TileMatrixSetLink><TileMatrixSet>geo</TileMatrixSet></TileMatrixSetLink>
   <TileMatrixSetLink><TileMatrixSet>utm14</TileMatrixSet>{utm_limits}</TileMatrixSetLink>
   <ResourceURL format="image/png" resourceType="tile" template="http://t.test/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}.png"/>
  </Layer>
  <TileMatrixSet><ows:Identifier>geo{geo}</TileMatrixSet>
  <TileMatrixSet><ows:Identifier>utm14</ows:Identifier><ows:SupportedCRS>urn:ogc:def:crs:EPSG::26914</ows:SupportedCRS>
   {utm_matrix.replace("<ows:Identifier>5<", "<ows:Identifier>EPSG:4326:1<")}</TileMatrixSet>
 </Contents>
</Capabilities>""".encode()


def test_best_tms_prefers_the_aois_own_crs_among_those_covering_it() -> None:
    aoi = aoi_from_file(SAMPLE_AOI)  # EPSG:26914
    wmts = WebMapTileService("http://t.test/caps", xml=two_grid_caps())
    grid = choose_grid(wmts, wmts.contents["ortho"], aoi, "EPSG:4326:1", None)
    assert grid.name == "utm14" and grid.tile_bounds(0, 0) == pytest.approx((0, 10000000 - 1280, 1280, 10000000))
    url = caps.tile_urls(wmts, wmts.contents["ortho"], "default", "image/png", grid.name, {}).url("EPSG:4326:1", 3, 7)
    assert url == "http://t.test/utm14/EPSG:4326:1/7/3.png"
    limits = ("<TileMatrixSetLimits><TileMatrixLimits><TileMatrix>EPSG:4326:1</TileMatrix><MinTileRow>0</MinTileRow>"
              "<MaxTileRow>1</MaxTileRow><MinTileCol>0</MinTileCol><MaxTileCol>1</MaxTileCol></TileMatrixLimits></TileMatrixSetLimits>")
    wmts = WebMapTileService("http://t.test/caps", xml=two_grid_caps(limits))
    assert choose_grid(wmts, wmts.contents["ortho"], aoi, "EPSG:4326:1", None).name == "geo"  # utm14 is limited elsewhere
