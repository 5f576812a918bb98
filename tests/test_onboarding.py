"""Onboarding a new export with `etl inspect --write-mapping`, then `etl ingest` with that draft."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
import yaml

from db.settings import StoreSettings
from tests.conftest import REPO, run_cli

DRV = REPO / "data" / "municipal" / "de_ronde_venen_csv"
HOUTEN = REPO / "data" / "municipal" / "houten_xlsx"
SV = REPO / "data" / "municipal" / "stichtse_vecht_shp"


def test_inspect_reports_roles_crs_and_units(etl_db: StoreSettings) -> None:
    proc = run_cli(
        etl_db, "etl", "inspect", str(DRV / "DRV_bodemonderzoeken_lood_export.csv"), "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["reader"]["encoding"] == "cp1252" and report["reader"]["delimiter"] == ";"
    assert report["crs"] == "EPSG:28992" and report["layout"] == "wide" and report["depth_unit"] == "cm"
    roles = {c["name"]: c for c in report["columns"]}
    assert roles["Locatie"]["role"] == "location_id"
    assert roles["X-coördinaat"]["role"] == "x" and roles["Y-coördinaat"]["role"] == "y"
    assert roles["Lood (Pb) [mg/kg ds]"]["parameter"] == "Pb"
    assert roles["PCB (som 7) [mg/kg ds]"]["parameter"] == "PCB7"


def test_inspect_long_xlsx_and_shapefile(etl_db: StoreSettings) -> None:
    xlsx = json.loads(
        run_cli(
            etl_db, "etl", "inspect", str(HOUTEN / "Houten_analyseresultaten_grond.xlsx"), "-f", "json"
        ).stdout
    )
    assert xlsx["layout"] == "long" and xlsx["reader"]["header_rows"] == [4, 5]
    assert xlsx["details"]["other_sheets"] == ["Coördinaten"]
    shp = json.loads(
        run_cli(etl_db, "etl", "inspect", str(SV / "bodemkwaliteit_stichtse_vecht.shp"), "-f", "json").stdout
    )
    by_name = {c["name"]: c for c in shp["columns"]}
    assert by_name["pcb7_ugkg"]["parameter"] == "PCB7" and by_name["pcb7_ugkg"]["unit"] == "µg/kg ds"
    assert "28992" in (shp["crs"] or "")


def test_draft_mapping_loads_the_export_as_truth_says(etl_db: StoreSettings, tmp_path: Path) -> None:
    export = tmp_path / "DRV_bodemonderzoeken_lood_export.csv"
    shutil.copy(DRV / export.name, export)
    draft = tmp_path / "drv.yaml"
    proc = run_cli(
        etl_db, "etl", "inspect", str(export), "--gemeente", "GM0736", "--write-mapping", str(draft)
    )
    assert proc.returncode == 0, proc.stderr
    text = draft.read_text(encoding="utf-8")
    assert "# REVIEW" in text
    assert yaml.safe_load(text)["gemeente"] == "GM0736"
    assert run_cli(etl_db, "etl", "validate", str(draft)).returncode == 0
    loaded = run_cli(etl_db, "etl", "ingest", str(export), "--mapping", str(draft), "--format", "json")
    assert loaded.returncode == 0, loaded.stderr
    ds = json.loads(loaded.stdout)["datasets"][0]
    truth = json.loads((DRV / "truth.json").read_text(encoding="utf-8"))
    assert (ds["locations"], ds["samples"], ds["measurements"]) == (
        truth["n_locations"],
        truth["n_samples"],
        truth["n_analyses"],
    )
    assert ds["quarantined"] == {r: n for r, n in truth["quarantined"].items() if n}
    # an existing draft is never overwritten
    again = run_cli(etl_db, "etl", "inspect", str(export), "--write-mapping", str(draft))
    assert again.returncode == 2


def test_a_draft_without_the_gemeente_or_with_its_name_says_what_to_write(
    etl_db: StoreSettings, tmp_path: Path
) -> None:
    export = tmp_path / "DRV_bodemonderzoeken_lood_export.csv"
    shutil.copy(DRV / export.name, export)
    named = run_cli(etl_db, "etl", "inspect", str(export), "--gemeente", "De Ronde Venen")
    assert named.returncode == 2
    assert "write its CBS gemeentecode 'GM0736'" in named.stderr
    # the draft's placeholder gemeente is refused before anything is read, with the list to choose from
    draft = tmp_path / "drv.yaml"
    assert run_cli(etl_db, "etl", "inspect", str(export), "--write-mapping", str(draft)).returncode == 0
    assert yaml.safe_load(draft.read_text(encoding="utf-8"))["gemeente"] == "GM0000"
    proc = run_cli(etl_db, "etl", "ingest", str(export), "--mapping", str(draft), "--dry-run")
    assert proc.returncode == 2
    assert (
        "GM0000 is not a gemeente of the province of Utrecht; the gemeenten are: GM0307 Amersfoort"
        in proc.stderr
    )
    assert "GM0736 De Ronde Venen" in proc.stderr


def _inspect(etl_db: StoreSettings, export: Path) -> dict:
    proc = run_cli(etl_db, "etl", "inspect", str(export), "-f", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _draft(etl_db: StoreSettings, export: Path, gemeente: str) -> Path:
    """`etl inspect --write-mapping` of ``export``: the draft's path (beside the export)."""
    draft = export.with_suffix(".draft.yaml")
    proc = run_cli(
        etl_db, "etl", "inspect", str(export), "--gemeente", gemeente, "--write-mapping", str(draft)
    )
    assert proc.returncode == 0, proc.stderr
    return draft


def _ingest(etl_db: StoreSettings, export: Path, draft: Path, *options: str) -> dict:
    """`etl ingest` of ``export`` with ``draft`` (``--dry-run`` unless options say otherwise): its dataset."""
    proc = run_cli(
        etl_db,
        "etl",
        "ingest",
        str(export),
        "--mapping",
        str(draft),
        *(options or ("--dry-run",)),
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["datasets"][0]


def _wgs84_export(path: Path, lat_name: str, lon_name: str) -> None:
    """An export as a surveyor might send it: cp1252, ';', decimal commas, latitude first, in Utrecht."""
    rows = [f"Boorpunt;{lat_name};{lon_name};Datum monstername;Van (cm);Tot (cm);Pb_mg_kg;ZINK;Opmerking"]
    for i in range(12):
        lat, lon = f"{52.081 + i * 0.001:.6f}", f"{5.101 + i * 0.002:.6f}"
        zinc = "<RG" if i % 5 == 0 else str(40 + 10 * i)
        rows.append(
            f"UT-{i:03d};{lat.replace('.', ',')};{lon.replace('.', ',')};{1 + i:02d}-03-2021;0;50;"
            f"{30 + i},5;{zinc};bovengrond één"
        )
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))


def test_inspect_knows_dutch_coordinate_names_and_coordinates_by_their_values(
    etl_db: StoreSettings, tmp_path: Path
) -> None:
    named = tmp_path / "utrecht_wgs84.csv"
    _wgs84_export(named, "Breedtegraad", "Lengtegraad")
    report = _inspect(etl_db, named)
    roles = {c["name"]: c.get("role") for c in report["columns"]}
    assert (roles["Boorpunt"], roles["Breedtegraad"], roles["Lengtegraad"]) == ("location_id", "y", "x")
    assert report["crs"] == "EPSG:4326"
    # columns whose names say nothing: recognised by their values, x = longitude whatever the order
    anonymous = tmp_path / "anonymous.csv"
    _wgs84_export(anonymous, "Coord 1", "Coord 2")
    report = _inspect(etl_db, anonymous)
    cols = {c["name"]: c for c in report["columns"]}
    assert (cols["Coord 1"]["role"], cols["Coord 2"]["role"]) == ("y", "x")
    assert "recognised by its values" in cols["Coord 2"]["note"]
    assert report["crs"] == "EPSG:4326"
    # the draft loads as it is (the gemeente given to inspect): 12 locations with Pb and Zn each
    draft = _draft(etl_db, named, "GM0344")
    ds = _ingest(etl_db, named, draft)
    assert (ds["locations"], ds["samples"]) == (12, 12)
    # '<RG' (below the reporting limit) without `detection_limit.reporting_limits` in the draft: quarantined
    assert ds["measurements"] == 21 and ds["quarantined"] == {"non_numeric_value": 3}
    # the draft says so, with the block to fill in; filled in, those three load as below the limit
    text = draft.read_text(encoding="utf-8")
    assert "# REVIEW: values below a limit the file does not state (Zn '<RG')" in text
    assert "#   reporting_limits: {Zn: <limit>}" in text
    draft.write_text(text + "detection_limit:\n  reporting_limits: {Zn: 20}\n", encoding="utf-8")
    ds = _ingest(etl_db, named, draft)
    assert ds["measurements"] == 24 and ds["quarantined"] == {}


def test_geopackage_with_a_table_first_and_polygons_in_wgs84(etl_db: StoreSettings, tmp_path: Path) -> None:
    """Contaminated sites as polygons (EPSG:4326) in a GeoPackage whose first layer is a plain table."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    gpkg = tmp_path / "amersfoort.gpkg"
    gpd.GeoDataFrame(pd.DataFrame({"sleutel": ["bron"], "waarde": ["gemeente Amersfoort"]})).to_file(
        gpkg, layer="metadata", driver="GPKG"
    )
    sites = [
        {
            "locatiecode": f"AF{i:04d}",
            "onderzoeksdatum": pd.Timestamp(2019, 1 + i, 3),
            "diepte_van_m": 0.0,
            "diepte_tot_m": 0.5,
            "lood": 40.0 + i * 20,
            "koper": None if i == 3 else 15.0 + i,
            "geometry": box(5.385 + i * 0.002, 52.155 + i * 0.001, 5.386 + i * 0.002, 52.1557 + i * 0.001),
        }
        for i in range(10)
    ]
    gpd.GeoDataFrame(sites, crs="EPSG:4326").to_file(gpkg, layer="verontreinigde_locaties", driver="GPKG")
    report = _inspect(etl_db, gpkg)
    assert report["reader"]["layer"] == "verontreinigde_locaties" and report["crs"] == "EPSG:4326"
    assert report["details"]["other_layers"] == ["metadata (1 features, no geometry)"]
    ds = _ingest(etl_db, gpkg, _draft(etl_db, gpkg, "GM0307"))
    # an empty cell is "not analysed": 10 lead + 9 copper values, nothing quarantined
    assert (ds["locations"], ds["measurements"], ds["quarantined"]) == (10, 19, {})


def test_lab_xlsx_with_a_units_row_and_a_depth_interval_column(etl_db: StoreSettings, tmp_path: Path) -> None:
    """Title rows, column names over a row of units, and the depth as one "Traject" column ("0-50")."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Resultaten"
    ws.append(["Analyserapport grond - projectnummer 2024-117"])
    ws.append([])
    ws.append(["Monsternummer", "Boring", "X", "Y", "Traject", "Datum", "Lood", "Zink"])
    ws.append(["", "", "m RD", "m RD", "cm-mv", "", "mg/kg ds", "mg/kg ds"])
    for i in range(6):  # three borings in Oudewater, two samples each
        ws.append(
            [f"MM{i:02d}", f"B{i // 2:02d}", 120500 + (i // 2) * 30.5, 449800 + (i // 2) * 20.25,
             "0-50" if i % 2 == 0 else "50-100", f"{1 + i:02d}-04-2024", 40 + i, "<20" if i == 4 else 100 + i]
        )  # fmt: skip
    xlsx = tmp_path / "lab.xlsx"
    wb.save(xlsx)
    report = _inspect(etl_db, xlsx)
    assert report["reader"]["header_rows"] == [3, 4] and report["depth_unit"] == "cm"
    cols = {c["name"]: c for c in report["columns"]}
    assert (cols["X m RD"]["role"], cols["Y m RD"]["role"], cols["Traject cm-mv"]["role"]) == (
        "x",
        "y",
        "depth",
    )
    assert (cols["Lood mg/kg ds"]["parameter"], cols["Lood mg/kg ds"]["unit"]) == ("Pb", "mg/kg ds")
    assert report["crs"] == "EPSG:28992"
    ds = _ingest(etl_db, xlsx, _draft(etl_db, xlsx, "GM0589"), "--no-refresh")
    assert (ds["locations"], ds["samples"], ds["measurements"], ds["quarantined"]) == (3, 6, 12, {})
    with psycopg.connect(etl_db.libpq_url) as conn:
        depths = conn.execute(
            "SELECT external_id, depth_from_m, depth_to_m FROM sample WHERE dataset_id = %s ORDER BY 1",
            (ds["dataset_id"],),
        ).fetchall()
    assert depths == [
        (f"MM{i:02d}", 0.0 if i % 2 == 0 else 0.5, 0.5 if i % 2 == 0 else 1.0) for i in range(6)
    ]


def test_excel_unicode_text_export_tab_and_utf16(etl_db: StoreSettings, tmp_path: Path) -> None:
    """Excel's "Unicode text" export: UTF-16 with a BOM, tab-separated; depths without a unit in the names."""
    rows = ["Locatie\tX\tY\tDatum\tVan\tTot\tLood (mg/kg ds)\tZink (mg/kg ds)"]
    rows += [
        f"L{i}\t{136000 + i * 10},5\t{456000 + i * 10},25\t0{i + 1}-02-2020\t0\t50\t{40 + i},5\t{100 + i}"
        for i in range(5)
    ]
    export = tmp_path / "export.txt"
    export.write_bytes("\r\n".join(rows).encode("utf-16"))
    draft = _draft(etl_db, export, "GM0344")
    text = draft.read_text(encoding="utf-8")
    assert "  encoding: utf-16\n" in text and "  delimiter: tab\n" in text  # a literal tab would not validate
    assert "depth_unit: cm  # REVIEW: no unit in the names; depths up to 50: centimetres?" in text
    ds = _ingest(etl_db, export, draft)
    assert (ds["locations"], ds["measurements"], ds["quarantined"]) == (5, 10, {})


def test_shapefile_without_prj_gets_its_crs_from_the_coordinates(
    etl_db: StoreSettings, tmp_path: Path
) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    points = [
        {
            "PUNT": f"P{i}",
            "DATUM": f"2018-05-0{1 + i}",
            "ZN_MGKG": 100.0 + i,
            "geometry": Point(136000 + i * 40, 456000),
        }
        for i in range(4)
    ]
    shp = tmp_path / "punten.shp"
    gpd.GeoDataFrame(points, crs="EPSG:28992").to_file(shp)
    shp.with_suffix(".prj").unlink()
    report = _inspect(etl_db, shp)
    assert report["crs"] == "EPSG:28992"
    assert report["crs_note"] == "the file states no CRS (e.g. no .prj): the coordinates are in RD New ranges"
    ds = _ingest(etl_db, shp, _draft(etl_db, shp, "GM0344"))
    assert (ds["locations"], ds["measurements"], ds["quarantined"]) == (4, 4, {})


@pytest.mark.parametrize("wkt_name", ["WKT", "wkt_geom"])
def test_csv_with_wkt_geometries_is_read_as_vector_data(
    etl_db: StoreSettings, tmp_path: Path, wkt_name: str
) -> None:
    """QGIS "save as CSV" with GEOMETRY=AS_WKT (column WKT) or copied features (wkt_geom)."""
    export = tmp_path / "qgis_export.csv"
    export.write_text(
        f"{wkt_name},locatie,datum,lood_mgkg\n"
        '"POINT (136000.5 456000.25)",A1,2020-02-01,45\n'
        '"POINT (136100 456050)",A2,2020-02-02,80\n'
        '"POLYGON ((136200 456100, 136210 456100, 136210 456110, 136200 456110, 136200 456100))",A3,2020-02-03,60\n',
        encoding="utf-8",
    )
    report = _inspect(etl_db, export)
    assert report["reader"] == {"type": "vector", "file": "qgis_export.csv"}
    assert report["crs"] == "EPSG:28992" and [c["name"] for c in report["columns"]] == [
        "locatie",
        "datum",
        "lood_mgkg",
    ]
    draft = _draft(etl_db, export, "GM0344")
    assert "  geometry: true\n" in draft.read_text(encoding="utf-8")
    ds = _ingest(etl_db, export, draft)
    assert (ds["locations"], ds["measurements"], ds["quarantined"]) == (3, 3, {})


def test_long_csv_with_the_unit_in_the_parameter_name(etl_db: StoreSettings, tmp_path: Path) -> None:
    export = tmp_path / "long_units.csv"
    export.write_text(
        "Locatie;X;Y;Datum;Van (m);Tot (m);Stof;Resultaat\n"
        "L1;136000;456000;01-02-2020;0;0,5;Lood [mg/kg ds];45\n"
        "L1;136000;456000;01-02-2020;0;0,5;Zink [mg/kg ds];<RG\n"
        "L1;136000;456000;01-02-2020;0;0,5;PCB (som 7) [ug/kg ds];<5\n"
        "L2;136050;456020;02-02-2020;0;0,5;Lood [mg/kg ds];n.b.\n",
        encoding="utf-8",
    )
    report = _inspect(etl_db, export)
    assert report["layout"] == "long"
    assert report["parameter_pattern"] == r"^(?P<parameter>.+?)\s*\[(?P<unit>[^\]]+)\]\s*$"
    assert report["unquantified"] == {"Zn": "<RG"}
    ds = _ingest(etl_db, export, _draft(etl_db, export, "GM0344"))
    # Pb 45 and PCB7 < 5 µg/kg load; '<RG' (no limit given) and 'n.b.' are quarantined as non-numeric
    assert (ds["measurements"], ds["quarantined"]) == (2, {"non_numeric_value": 2})


def test_xlsx_with_the_depth_interval_under_a_name_with_its_unit(
    etl_db: StoreSettings, tmp_path: Path
) -> None:
    """'Diepte (m-mv)' holding '0,0 - 0,5', Excel dates, numbers as text with decimal commas."""
    import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Locatiecode", "X-coördinaat", "Y-coördinaat", "Monster", "Diepte (m-mv)", "Datum",
               "Lood (mg/kg ds)", "Koper (mg/kg ds)", "Lutum (%)"])  # fmt: skip
    for i in range(4):
        ws.append([f"HV{i:03d}", f"{136500 + i * 12},5", f"{455800 + i * 9}", f"M{i}", "0,0 - 0,5",
                   datetime.datetime(2022, 3, 1 + i), f"{40 + i},5", "<10", "18"])  # fmt: skip
    xlsx = tmp_path / "export.xlsx"
    wb.save(xlsx)
    report = _inspect(etl_db, xlsx)
    cols = {c["name"]: c for c in report["columns"]}
    assert cols["Diepte (m-mv)"]["role"] == "depth" and report["depth_unit"] == "m"
    assert report["decimal"] == ","
    ds = _ingest(etl_db, xlsx, _draft(etl_db, xlsx, "GM0344"))
    assert (ds["locations"], ds["samples"], ds["measurements"], ds["quarantined"]) == (4, 4, 12, {})
