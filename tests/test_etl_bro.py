"""BRO/GEF ingest through the CLI into a real PostGIS: upsert, GEF↔IMBRO merge, zip, errors, lock."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import psycopg
import pytest

from db.settings import StoreSettings
from etl.run import LOCK_KEY
from tests.conftest import data_file, run_cli


def _q(settings: StoreSettings, sql: str, *params):
    with psycopg.connect(settings.libpq_url) as conn:
        return conn.execute(sql, params).fetchall()


def _summary(proc) -> dict:
    return json.loads(proc.stdout)


def test_ingest_cpt_xml_then_gef_of_the_same_cpt_gives_one_object(
    etl_db: StoreSettings, tmp_path: Path
) -> None:
    xml = data_file("samples", "bro_cpt", "geolibplus__CPT000000003688_IMBRO_A.xml")
    gef = data_file("samples", "gef_cpt", "geolibplus__CPT000000003688_IMBRO_A.gef")
    proc = run_cli(etl_db, "etl", "ingest", str(xml), str(gef), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    summary = _summary(proc)
    assert [d["status"] for d in summary["datasets"]] == ["loaded", "loaded"]
    rows = _q(
        etl_db, "SELECT bro_id, source_format, raw ? 'gef' FROM bro_object WHERE bro_id LIKE '%%3688%%'"
    )
    assert rows == [("CPT000000003688", "IMBRO-XML", True)]
    # measurements come from the IMBRO registration: 1229 rows in the file
    n, first_qc, last_depth = _q(
        etl_db,
        "SELECT count(*), (array_agg(cone_resistance ORDER BY seq))[1], max(penetration_length) "
        "FROM bro_cpt_measurement WHERE bro_id = 'CPT000000003688'",
    )[0]
    assert n == 1229
    assert first_qc is not None and last_depth == pytest.approx(24.56, abs=0.05)
    # coordinates in EPSG:28992 and the object registered without a gemeente (outside Utrecht)
    x, y = _q(etl_db, "SELECT ST_X(geom), ST_Y(geom) FROM bro_object WHERE bro_id = 'CPT000000003688'")[0]
    assert (round(x, 2), round(y, 2)) == (91931.0, 438294.0)


def test_gemeente_assigned_by_point_in_polygon(etl_db: StoreSettings) -> None:
    cpt = data_file("samples", "bro_cpt", "pygef__CPT000000155283.xml")
    proc = run_cli(etl_db, "etl", "ingest", str(cpt), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = _q(
        etl_db,
        "SELECT gemeente_code, round(ST_X(geom)::numeric, 2), round(ST_Y(geom)::numeric, 2), "
        "(SELECT count(*) FROM bro_cpt_measurement m WHERE m.bro_id = b.bro_id), "
        "(SELECT count(*) FROM bro_cpt_dissipation d WHERE d.bro_id = b.bro_id) "
        "FROM bro_object b WHERE bro_id = 'CPT000000155283'",
    )
    # RD 132782.52, 448030.34 (SOURCES.md: Nieuwegein/IJsselstein area): the polygons put it in IJsselstein
    assert [(g, float(x), float(y), n, d) for g, x, y, n, d in rows] == [
        ("GM0353", 132782.52, 448030.34, 305, 1)
    ]
    # a run of BRO files refreshes only the views that read BRO tables (the catalogue says which);
    # the assessments of municipal measurements are left as they were, and what was refreshed is current
    assert list(_summary(proc)["views_refreshed"]) == [
        "quality_location",
        "quality_gemeente",
        "quality_source",
    ]
    in_view, in_table = _q(
        etl_db,
        "SELECT (SELECT n_bro_objects FROM quality_gemeente WHERE gemeente_code = 'GM0353'), "
        "(SELECT count(*) FROM bro_object WHERE gemeente_code = 'GM0353' AND status <> 'deregistered')",
    )[0]
    assert in_view == in_table >= 1


def test_unchanged_file_is_skipped_and_newer_registration_replaces(
    etl_db: StoreSettings, tmp_path: Path
) -> None:
    src = data_file("samples", "bro_gmw", "nens__GMW000000005033.xml")
    first = run_cli(etl_db, "etl", "ingest", str(src), "--format", "json")
    assert first.returncode == 0, first.stderr
    again = run_cli(etl_db, "etl", "ingest", str(src), "--format", "json")
    assert [d["status"] for d in _summary(again)["datasets"]] == ["unchanged"]
    (tube_count,) = _q(etl_db, "SELECT count(*) FROM bro_well_tube WHERE bro_id = 'GMW000000005033'")[0]
    assert tube_count >= 1
    # the same object in another file: replaces (upsert by bro_id), never duplicates
    copy = tmp_path / "GMW000000005033_copy.xml"
    shutil.copy(src, copy)
    third = run_cli(etl_db, "etl", "ingest", str(copy), "--format", "json")
    assert third.returncode == 0, third.stderr
    assert _q(etl_db, "SELECT count(*) FROM bro_object WHERE bro_id = 'GMW000000005033'") == [(1,)]
    assert _q(etl_db, "SELECT count(*) FROM bro_well_tube WHERE bro_id = 'GMW000000005033'") == [
        (tube_count,)
    ]


def test_zip_of_files_and_broken_file_in_it(etl_db: StoreSettings, tmp_path: Path) -> None:
    good = data_file("samples", "bro_bhrp", "geost__bhrp_bro.xml")
    broken = tmp_path / "truncated.xml"
    broken.write_bytes(data_file("samples", "bro_bhrgt", "bedrock__BHR000000347577.xml").read_bytes()[:5000])
    archive = tmp_path / "delivery.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(good, good.name)
        zf.write(broken, broken.name)
    proc = run_cli(etl_db, "etl", "ingest", str(archive), "--format", "json")
    assert proc.returncode == 1  # one dataset failed
    by_file = {Path(d["file"]).name: d for d in _summary(proc)["datasets"]}
    assert by_file["geost__bhrp_bro.xml"]["status"] == "loaded"
    assert by_file["truncated.xml"]["status"] == "failed"
    assert "truncated.xml" in by_file["truncated.xml"]["error"]
    assert _q(
        etl_db,
        "SELECT object_type, count(*) FROM bro_borehole_layer l JOIN bro_object b USING (bro_id) "
        "WHERE bro_id = 'BHR000000108193' GROUP BY 1",
    ) == [("BHR-P", 6)]


def test_second_run_while_locked_exits_75(etl_db: StoreSettings) -> None:
    cpt = data_file("samples", "bro_cpt", "brodata__CPT000000005925.xml")
    with psycopg.connect(etl_db.libpq_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        proc = run_cli(etl_db, "etl", "ingest", str(cpt))
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    assert proc.returncode == 75
    assert "lock" in proc.stderr
    assert _q(etl_db, "SELECT count(*) FROM bro_object WHERE bro_id = 'CPT000000005925'") == [(0,)]


def test_unknown_file_fails_with_clear_error_and_usage_errors_exit_2(
    etl_db: StoreSettings, tmp_path: Path
) -> None:
    odd = tmp_path / "notes.xml"
    odd.write_text("<?xml version='1.0'?><kml xmlns='http://www.opengis.net/kml/2.2'/>")
    proc = run_cli(etl_db, "etl", "ingest", str(odd), "--format", "json")
    assert proc.returncode == 1
    err = _summary(proc)["datasets"][0]["error"]
    assert "notes.xml" in err and "root" in err.lower()
    assert run_cli(etl_db, "etl", "ingest", str(tmp_path / "missing.xml")).returncode == 2
    assert run_cli(etl_db, "etl", "run").returncode == 2


def test_municipal_location_and_bro_object_at_same_place_and_date_are_linked(
    etl_db: StoreSettings, tmp_path: Path
) -> None:
    # CPT000000155283 (RD 132782.52, 448030.34, IJsselstein); a municipal sample 3 m away on the CPT's
    # research report date must be linked to it, one 50 m away must not.
    cpt = data_file("samples", "bro_cpt", "pygef__CPT000000155283.xml")
    assert run_cli(etl_db, "etl", "ingest", str(cpt)).returncode == 0
    (report_date,) = _q(
        etl_db, "SELECT research_report_date FROM bro_object WHERE bro_id = 'CPT000000155283'"
    )[0]
    day = report_date.strftime("%d-%m-%Y")
    csv = tmp_path / "ijsselstein.csv"
    csv.write_text(
        "locatie;x;y;monster;van;tot;datum;Lood [mg/kg ds]\n"
        f"NEAR-1;132785,52;448030,34;NEAR-1-1;0;0,5;{day};40\n"
        f"FAR-1;132832,52;448030,34;FAR-1-1;0;0,5;{day};40\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "ijsselstein.yaml"
    mapping.write_text(
        "name: ijsselstein_link_test\ngemeente: GM0353\n"
        "reader: {type: csv, file: ijsselstein.csv}\ncrs: EPSG:28992\ndecimal: ','\n"
        "columns: {location_id: locatie, sample_id: monster, x: x, y: y, depth_from: van, depth_to: tot,"
        " date: datum}\n"
        "layout: wide\nwide: {header_pattern: '^(?P<parameter>.+?)\\s*\\[(?P<unit>[^\\]]+)\\]$'}\n",
        encoding="utf-8",
    )
    proc = run_cli(etl_db, "etl", "ingest", str(csv), "--mapping", str(mapping), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    links = _q(
        etl_db,
        "SELECT l.external_id, k.bro_id, round(k.distance_m::numeric, 2) FROM bro_location_link k "
        "JOIN location l ON l.id = k.location_id",
    )
    assert [(a, b, float(c)) for a, b, c in links] == [("NEAR-1", "CPT000000155283", 3.0)]


def test_replacing_a_cpt_leaves_no_orphan_measurement_rows(etl_db: StoreSettings, tmp_path: Path) -> None:
    src = data_file("samples", "bro_cpt", "brodata__CPT000000005925.xml")
    assert run_cli(etl_db, "etl", "ingest", str(src)).returncode == 0
    copy = tmp_path / "CPT000000005925_again.xml"
    shutil.copy(src, copy)
    assert run_cli(etl_db, "etl", "ingest", str(copy)).returncode == 0  # same bro_id: replaces
    assert _q(etl_db, "SELECT count(*) FROM bro_cpt_measurement WHERE bro_id = 'CPT000000005925'") == [(179,)]
    # a changed file at the same path replaces its dataset: the old objects and their rows go with it
    copy.write_bytes(copy.read_bytes() + b"\n<!-- changed -->\n")
    assert run_cli(etl_db, "etl", "ingest", str(copy)).returncode == 0
    assert _q(etl_db, "SELECT count(*) FROM bro_cpt_measurement WHERE bro_id = 'CPT000000005925'") == [(179,)]
    orphans = _q(
        etl_db,
        "SELECT count(*) FROM bro_cpt_measurement m WHERE NOT EXISTS "
        "(SELECT 1 FROM bro_object b WHERE b.bro_id = m.bro_id)",
    )
    assert orphans == [(0,)]
    with psycopg.connect(etl_db.libpq_url) as conn:
        conn.execute("DELETE FROM dataset WHERE path LIKE %s", ("%CPT000000005925_again.xml",))
        conn.commit()
    assert _q(etl_db, "SELECT count(*) FROM bro_cpt_measurement WHERE bro_id = 'CPT000000005925'") == [(0,)]


def test_gef_dissipation_file_keeps_its_test(etl_db: StoreSettings) -> None:
    """A GEF-DISS file has no CPT columns, only a dissipation test: that test is stored (as arrays)."""
    dis = data_file("samples", "gef_dis", "cptgefconverter__20151020vbDIS1.GEF")
    proc = run_cli(etl_db, "etl", "ingest", str(dis), "--no-refresh", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = _q(
        etl_db,
        "SELECT penetration_length, n_rows, array_length(elapsed_time, 1), array_length(pore_pressure_u2, 1) "
        "FROM bro_cpt_dissipation WHERE bro_id LIKE 'GEF:%%20151020vbDIS1.GEF'",
    )
    # header: "#PARENT= 20151020vbCPT1.GEF, 5.990, m, sondeertrajectlengte, ...", "#LASTSCAN= 96"
    assert rows == [(5.99, 96, 96, 96)]
