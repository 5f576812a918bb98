"""Mapping files: schema, helpful errors, path resolution; the example mappings on generated data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import yaml

from etl.errors import ConfigError, SourceError
from etl.harmonise.pipeline import harmonise_source
from etl.mapping import load_mapping

BASE: dict[str, Any] = {
    "name": "t",
    "gemeente": "GM0344",
    "reader": {"type": "csv", "file": "data.csv"},
    "columns": {"location_id": "L", "x": "X", "y": "Y"},
    "layout": "long",
    "long": {"parameter": "P", "value": "V", "unit": "U"},
}


def _write(tmp_path: Path, doc: Any, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _doc(**changes: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(BASE))
    doc.update(changes)
    return doc


def test_all_mappings_in_sources_load(repo: Path) -> None:
    paths = sorted((repo / "sources").rglob("*.yaml"))
    assert {p.name for p in paths} >= {
        "de_ronde_venen.yaml",
        "houten.yaml",
        "stichtse_vecht.yaml",
        "csv_wide.yaml",
        "csv_long.yaml",
        "xlsx_long_title_rows.yaml",
        "shapefile_wide.yaml",
        "geopackage.yaml",
        "geojson.yaml",
        "sikb0101.yaml",
        "multi_gemeente_detect.yaml",
    }
    for path in paths:
        mapping = load_mapping(path)
        assert mapping.path == path.resolve()
        assert mapping.file_path.is_absolute()


def test_real_mappings(repo: Path) -> None:
    drv = load_mapping(repo / "sources" / "de_ronde_venen.yaml")
    assert (drv.gemeente, drv.crs, drv.depth_unit, drv.decimal, drv.tolerance_m) == (
        "GM0736",
        "EPSG:28992",
        "cm",
        ",",
        100,
    )
    assert drv.file_path == (repo / "data/municipal/de_ronde_venen_csv/DRV_bodemonderzoeken_lood_export.csv")
    houten = load_mapping(repo / "sources" / "houten.yaml")
    assert houten.reader.join is not None and houten.reader.join.on == "Boring"  # YAML `on:` (a bool key)
    multi = load_mapping(repo / "sources" / "examples" / "multi_gemeente_detect.yaml")
    assert multi.multi and multi.gemeente is None and multi.crs == "detect"


def test_relative_file_path(tmp_path: Path) -> None:
    mapping = load_mapping(_write(tmp_path, _doc(reader={"type": "csv", "file": "sub/x.csv"})))
    assert mapping.file_path == tmp_path.resolve() / "sub" / "x.csv"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"colums": {}},
            "colums: unknown key 'colums'; allowed: name, gemeente, multi, description, reader, crs",
        ),
        (
            {"columns": {"location_id": "L", "x": "X", "y": "Y", "diepte": "D"}},
            "columns.diepte: unknown key 'diepte'; allowed: location_id",
        ),
        (
            {"crs": "EPSG:999999"},
            "crs: 'EPSG:999999' is not a CRS pyproj knows; use e.g. 'EPSG:28992' or 'detect'",
        ),
        ({"depth_unit": "mm"}, "depth_unit: Input should be 'cm' or 'm', got 'mm'"),
        ({"layout": "diagonal"}, "layout: Input should be 'wide' or 'long'"),
        (
            {"reader": {"type": "csv", "file": "x.csv", "sheet": "A"}},
            "option 'sheet' is not allowed for reader type 'csv'",
        ),
        (
            {"reader": {"type": "dbf", "file": "x.dbf"}},
            "reader.type: Input should be 'csv', 'xlsx', 'vector'",
        ),
        (
            {"gemeente": "Utrecht"},
            "gemeente: 'Utrecht' is the name of a gemeente: write its CBS gemeentecode 'GM0344'",
        ),
        (
            {"gemeente": "Utrechtse Heuvelrgu"},
            "a CBS gemeentecode such as 'GM0736' (did you mean GM1581, Utrechtse Heuvelrug?)",
        ),
        ({"gemeente": "Lekkerkerk"}, "gemeente: a CBS gemeentecode such as 'GM0736'"),
        (
            {"gemeente": "GM0305"},
            "GM0305 (Abcoude) ended on 2011-01-01 and is part of GM0736 (De Ronde Venen) since: write 'GM0736'",
        ),
        (
            {"gemeente": "GM9999"},
            "GM9999 is not a gemeente of the province of Utrecht; the gemeenten are: GM0307 Amersfoort, ",
        ),
        ({"multi": True}, "give exactly one of 'gemeente: GMxxxx' or 'multi: true'"),
        ({"layout": "wide"}, "layout 'wide' needs a 'wide' section"),
        (
            {"layout": "wide", "wide": {"header_pattern": "(.*)"}},
            "needs the named groups (?P<parameter>...) and (?P<unit>...)",
        ),
        ({"columns": {"location_id": "L", "x": "X"}}, "give both 'x' and 'y'"),
        ({"tolerance_m": -1}, "tolerance_m: Input should be greater than or equal to 0"),
        ({"name": None}, "name: Input should be a valid string"),
    ],
)
def test_config_errors_name_file_key_and_what_is_allowed(tmp_path: Path, change: dict, expected: str) -> None:
    path = _write(tmp_path, _doc(**change))
    with pytest.raises(ConfigError) as err:
        load_mapping(path)
    assert str(err.value).startswith(str(path))
    assert expected in str(err.value)


def test_missing_keys_and_bad_yaml(tmp_path: Path) -> None:
    doc = _doc()
    del doc["reader"]
    with pytest.raises(ConfigError, match=r"reader: required key is missing"):
        load_mapping(_write(tmp_path, doc))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_mapping(bad)
    listing = _write(tmp_path, ["a", "b"], "list.yaml")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_mapping(listing)
    with pytest.raises(ConfigError, match="cannot read mapping file"):
        load_mapping(tmp_path / "absent.yaml")


def test_missing_column_is_a_source_error_naming_file_and_column(tmp_path: Path, catalogue) -> None:
    (tmp_path / "data.csv").write_text("Locatie;X;Y;P;V;U\nB1;1;2;Pb;5;mg/kg ds\n", encoding="utf-8")
    doc = _doc(columns={"location_id": "Boring", "x": "X", "y": "Y"})
    mapping = load_mapping(_write(tmp_path, doc))
    with pytest.raises(SourceError) as err:
        harmonise_source(mapping, catalogue)
    message = str(err.value)
    assert str(tmp_path / "data.csv") in message
    assert "column 'Boring' (columns.location_id" in message and "Locatie" in message


def test_unknown_alias_code_is_a_config_error(tmp_path: Path, catalogue) -> None:
    (tmp_path / "data.csv").write_text("L;X;Y;P;V;U\nB1;1;2;Pb;5;mg/kg ds\n", encoding="utf-8")
    mapping = load_mapping(_write(tmp_path, _doc(parameter_aliases={"loodje": "PBX"})))
    with pytest.raises(
        ConfigError, match=r"m\.yaml: parameter_aliases\.loodje: unknown parameter code 'PBX'"
    ):
        harmonise_source(mapping, catalogue)


def _example(repo: Path, name: str, tmp_path: Path, data_name: str) -> Any:
    doc = yaml.safe_load((repo / "sources" / "examples" / name).read_text(encoding="utf-8"))
    doc["reader"]["file"] = data_name
    return load_mapping(_write(tmp_path, doc, name))


def test_example_csv_long(repo: Path, tmp_path: Path, catalogue) -> None:
    (tmp_path / "long.csv").write_text(
        "Boring;X;Y;Monster;Van (m);Tot (m);Datum;Parameter;Teken;Waarde;Eenheid\n"
        "B1;136000,5;455000,1;M1;0;0,5;1-2-2020;Lood;;45;mg/kg ds\n"
        "B1;136000,5;455000,1;M1;0;0,5;1-2-2020;PCB (som 7);<;4,9;µg/kg ds\n"
        "B1;136000,5;455000,1;M1;0;0,5;1-2-2020;Zink;;n.b.;\n",
        encoding="utf-8",
    )
    batch = harmonise_source(_example(repo, "csv_long.yaml", tmp_path, "long.csv"), catalogue)
    assert [(m.parameter_code, m.value, m.below_detection_limit) for m in batch.measurements] == [
        ("Pb", 45.0, False),
        ("PCB7", pytest.approx(0.0049), True),
    ]
    assert [q.reason for q in batch.quarantine] == ["non_numeric_value"]


def test_example_geojson_and_geopackage(repo: Path, tmp_path: Path, catalogue) -> None:
    feature = {
        "type": "Feature",
        "properties": {
            "locatie": "G1",
            "monster": "G1-1",
            "datum": "2020-05-01",
            "lood": "<5",
            "zink": "140",
        },
        "geometry": {"type": "Point", "coordinates": [5.1214, 52.0907]},
    }
    (tmp_path / "m.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    batch = harmonise_source(_example(repo, "geojson.yaml", tmp_path, "m.geojson"), catalogue)
    (loc,) = batch.locations
    assert 135_000 < loc.x < 138_000 and 454_000 < loc.y < 458_000  # the city of Utrecht in RD New
    assert sorted(m.parameter_code for m in batch.measurements) == ["Pb", "Zn"]

    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {
            "boring": ["B1", "B1"],
            "monster": ["M1", "M1"],
            "datum": ["3-4-2019", "3-4-2019"],
            "van_m": [0.0, 0.0],
            "tot_m": [0.5, 0.5],
            "parameter": ["lood", "Lutum"],
            "waarde": ["210", "12,5"],
            "eenheid": ["mg/kg ds", "%"],
        },
        geometry=[Point(136000, 455000)] * 2,
        crs="EPSG:28992",
    )
    pyogrio.write_dataframe(frame.iloc[:0], tmp_path / "b.gpkg", layer="leeg")
    pyogrio.write_dataframe(frame, tmp_path / "b.gpkg", layer="analyses")
    batch = harmonise_source(_example(repo, "geopackage.yaml", tmp_path, "b.gpkg"), catalogue)
    assert [(m.parameter_code, m.value) for m in batch.measurements] == [("Pb", 210.0), ("lutum", 12.5)]
    assert batch.samples[0].lutum_pct == 12.5


def test_example_multi_gemeente_detect(repo: Path, tmp_path: Path, catalogue) -> None:
    rows = ["locatie_id;coord_1;coord_2;monster_id;datum;van_cm;tot_cm;stof;resultaat;eenheid"]
    for i in range(5):  # written lat/lon: the file's axis order is detected
        rows.append(f"L{i};52.09{i};5.12{i};M{i};1-1-2020;0;50;Pb;{10 + i};mg/kg ds")
    rows.append("LX;5.125;52.095;MX;1-1-2020;0;50;Pb;9;mg/kg ds")  # this one is lon/lat: swapped
    (tmp_path / "odu.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    mapping = _example(repo, "multi_gemeente_detect.yaml", tmp_path, "odu.csv")
    batch = harmonise_source(mapping, catalogue, today=date(2026, 1, 1))
    assert len(batch.locations) == 5
    assert all(130_000 < loc.x < 140_000 and 450_000 < loc.y < 460_000 for loc in batch.locations)
    assert [(q.reason, q.location_key) for q in batch.quarantine] == [("xy_swapped", "LX")]


def test_example_xlsx_lab_units_row(repo: Path, tmp_path: Path, catalogue) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Resultaten"
    ws.append(["Analyserapport grond"])
    ws.append([])
    ws.append(["Monsternummer", "Boring", "X", "Y", "Traject", "Datum", "Lood", "PAK (10)"])
    ws.append(["", "", "m RD", "m RD", "cm-mv", "", "mg/kg ds", "mg/kg ds"])
    ws.append(["MM1", "B1", 120500.5, 449800.25, "0-50", "01-04-2024", 45, "<0.35"])
    ws.append(["MM2", "B1", 120500.5, 449800.25, "50 - 100", "01-04-2024", 30, 1.2])
    wb.save(tmp_path / "lab.xlsx")
    batch = harmonise_source(_example(repo, "xlsx_lab_units_row.yaml", tmp_path, "lab.xlsx"), catalogue)
    assert not batch.quarantine
    assert [(s.key, s.depth_from_m, s.depth_to_m) for s in batch.samples] == [
        ("MM1", 0.0, 0.5),
        ("MM2", 0.5, 1.0),
    ]
    assert sorted(
        (m.sample_key, m.parameter_code, m.value, m.below_detection_limit) for m in batch.measurements
    ) == [
        ("MM1", "PAK10", 0.35, True),
        ("MM1", "Pb", 45.0, False),
        ("MM2", "PAK10", 1.2, False),
        ("MM2", "Pb", 30.0, False),
    ]
    (loc,) = batch.locations
    assert (loc.x, loc.y) == (120500.5, 449800.25)
