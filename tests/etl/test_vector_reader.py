"""Vector reader: the Stichtse Vecht shapefile and generated shapefile / GeoPackage / GeoJSON files."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point

from etl.errors import SourceError
from etl.readers import vector_reader

SHP = "bodemkwaliteit_stichtse_vecht.shp"


def test_stichtse_vecht_shapefile(export_file) -> None:
    path = export_file("stichtse_vecht", SHP)
    records = list(vector_reader.read(path))
    assert len(records) == 2178
    first = records[0]
    assert (first.locator.sheet, first.locator.row) == ("bodemkwaliteit_stichtse_vecht", 1)
    assert first.source_crs == "EPSG:28992"
    assert first.values["locatiecod"] == "SV00001"
    assert first.values["diepte_ond"] == 0.5  # numeric field: a float
    assert first.values["pak10_mgkg"] == "<0.35"  # analysis fields are text
    assert first.values["opmerking"] is None
    point = shapely.from_wkb(first.geometry_wkb)
    assert (point.x, point.y) == pytest.approx((131224.59, 466011.25))
    assert sum(r.geometry_wkb is None for r in records) == 12  # features without geometry


def test_inspect_shapefile(export_file) -> None:
    (layer,) = vector_reader.inspect(export_file("stichtse_vecht", SHP))["layers"]
    assert layer["crs"] == "EPSG:28992" and layer["features"] == 2178 and layer["geometry_type"] == "Point"
    assert "pcb7_ugkg" in layer["fields"]


def _frame(crs: str | None = "EPSG:28992") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "locatie": ["B1", "B2"],
            "opmerking": ["tuin é", None],
            "lood": ["12,5", "<5"],
            "diepte": [0.5, None],
        },
        geometry=[Point(140000.0, 450000.0), None],
        crs=crs,
    )


def test_shapefile_without_cpg_and_prj(tmp_path: Path) -> None:
    path = tmp_path / "punten.shp"
    pyogrio.write_dataframe(_frame(), path, encoding="cp1252")
    path.with_suffix(".cpg").unlink()
    path.with_suffix(".prj").unlink()
    records = list(vector_reader.read(path, encoding="cp1252", crs="EPSG:28992"))
    assert records[0].values["opmerking"] == "tuin é"  # decoded with the mapping's encoding
    assert records[0].source_crs == "EPSG:28992"  # the mapping's CRS: the file has none
    assert records[0].values["diepte"] == 0.5 and records[1].values["diepte"] is None
    assert records[1].geometry_wkb is None
    assert next(vector_reader.read(path)).source_crs is None


def test_file_crs_wins_over_mapping_crs(tmp_path: Path) -> None:
    path = tmp_path / "punten.shp"
    pyogrio.write_dataframe(_frame(), path)
    assert next(vector_reader.read(path, crs="EPSG:4326")).source_crs == "EPSG:28992"


def test_geopackage_layer_choice(tmp_path: Path) -> None:
    path = tmp_path / "bodem.gpkg"
    pyogrio.write_dataframe(_frame(), path, layer="monsters")
    other = _frame()
    other["locatie"] = ["X1", "X2"]
    pyogrio.write_dataframe(other, path, layer="analyses", append=False)
    assert vector_reader.list_layers(path) == ["monsters", "analyses"]
    records = list(vector_reader.read(path, layer="analyses"))
    assert [r.values["locatie"] for r in records] == ["X1", "X2"]
    assert records[0].locator.sheet == "analyses" and records[0].locator.row == 1
    assert [r.values["locatie"] for r in vector_reader.read(path)] == ["B1", "B2"]  # default: first layer
    with pytest.raises(SourceError, match="layer 'nope' not found; layers: monsters, analyses"):
        list(vector_reader.read(path, layer="nope"))
    assert {layer["layer"] for layer in vector_reader.inspect(path)["layers"]} == {"monsters", "analyses"}


def test_geojson_lon_lat(tmp_path: Path) -> None:
    path = tmp_path / "monsters.geojson"
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"locatie": "G1", "lood": "<5", "zink": 140},
                "geometry": {"type": "Point", "coordinates": [5.1214, 52.0907]},
            }
        ],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    (rec,) = vector_reader.read(path)
    assert rec.source_crs == "EPSG:4326"
    assert rec.values == {"locatie": "G1", "lood": "<5", "zink": 140}
    point = shapely.from_wkb(rec.geometry_wkb)
    assert (point.x, point.y) == pytest.approx((5.1214, 52.0907))  # x = longitude


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.gpkg"
    path.write_text("no gpkg")
    with pytest.raises(SourceError):
        list(vector_reader.read(path))
    with pytest.raises(SourceError, match="not found"):
        list(vector_reader.read(tmp_path / "missing.shp"))
