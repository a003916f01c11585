"""AOIs from bboxes (any CRS) and vector files (shapefile with .prj, GeoPackage, GeoJSON, multi-polygons)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from harvest_helpers import SAMPLE_AOI

from geocolor.aoi import AOI, aoi_from_bbox, aoi_from_file, parse_bbox
from geocolor.errors import InputError


def write_vector(path: Path, geoms: list, crs: str | None, driver: str) -> Path:
    import pyogrio.raw

    names = np.array([f"f{i}" for i in range(len(geoms))], dtype=object)
    pyogrio.raw.write(path, shapely.to_wkb(np.array(geoms)), [names], ["name"], driver=driver,
                      geometry_type=geoms[0].geom_type, crs=pyproj.CRS.from_user_input(crs).to_wkt() if crs else None)
    return path


def test_sample_shapefile_is_a_concave_polygon_with_its_prj() -> None:
    aoi = aoi_from_file(SAMPLE_AOI)
    assert aoi.crs.to_epsg() == 26914
    assert aoi.geometry.geom_type == "Polygon"
    # not a rectangle: clearly smaller than its bounding box
    assert aoi.geometry.area < 0.8 * shapely.box(*aoi.bounds).area


def test_bbox_in_any_crs_round_trips() -> None:
    aoi = aoi_from_bbox("486833,5206173,489635,5208704", "EPSG:26914")
    geo = aoi.to_crs("EPSG:4326")
    lon, lat = geo.geometry.centroid.x, geo.geometry.centroid.y
    assert -99.2 < lon < -99.1 and 47.0 < lat < 47.04  # x is longitude whatever EPSG:4326's axis order
    back = geo.to_crs(aoi.crs)
    assert back.geometry.symmetric_difference(aoi.geometry).area < 1e-6 * aoi.geometry.area


def test_reprojection_densifies_long_edges() -> None:
    aoi = aoi_from_bbox((-100, 40, -90, 50))
    lcc = aoi.to_crs("EPSG:3978")
    # a parallel becomes a curve in a conic projection: densified rings have many vertices
    assert len(lcc.geometry.exterior.coords) > 50


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "3,0,1,5", "0,5,1,5", "nan,0,1,1"])
def test_bad_bbox_is_a_clear_input_error(text: str) -> None:
    with pytest.raises(InputError, match="bbox"):
        parse_bbox(text)


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("GeoJSON", ".geojson"), ("ESRI Shapefile", ".shp")])
def test_vector_formats_union_multipolygons(tmp_path: Path, driver: str, suffix: str) -> None:
    a, b = shapely.box(0, 0, 1, 1), shapely.box(3, 0, 4, 1)
    multi = shapely.MultiPolygon([a, b])
    path = write_vector(tmp_path / f"aoi{suffix}", [multi, shapely.box(0.5, 0, 1.5, 1).buffer(0)], "EPSG:3857", driver)
    aoi = aoi_from_file(path)
    assert aoi.crs == pyproj.CRS.from_epsg(3857)
    assert aoi.geometry.area == pytest.approx(2.5)  # union: the 0.5 overlap counts once
    assert aoi.geometry.geom_type == "MultiPolygon"


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_file_without_crs_is_refused(tmp_path: Path) -> None:
    path = write_vector(tmp_path / "nocrs.shp", [shapely.box(0, 0, 1, 1)], None, "ESRI Shapefile")
    with pytest.raises(InputError, match="no CRS"):
        aoi_from_file(path)


def test_file_without_polygons_is_refused(tmp_path: Path) -> None:
    path = write_vector(tmp_path / "pts.gpkg", [shapely.Point(0, 0)], "EPSG:4326", "GPKG")
    with pytest.raises(InputError, match="no polygon"):
        aoi_from_file(path)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        aoi_from_file(tmp_path / "nope.shp")


def test_same_crs_is_not_reprojected() -> None:
    aoi = AOI(shapely.box(0, 0, 1, 1), pyproj.CRS.from_epsg(3857))
    assert aoi.to_crs("EPSG:3857") is aoi
