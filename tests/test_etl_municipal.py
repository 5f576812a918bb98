"""Municipal exports through the whole pipeline into PostGIS, compared with their truth.json.

Also: idempotent re-runs, a changed-file reload, dry runs, a structurally broken file, and a run
killed with SIGKILL in the middle of a load (the store must be exactly as before).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import yaml

from db import quality
from db.settings import StoreSettings
from tests.conftest import REPO, run_cli

SOURCES = {
    "de_ronde_venen": "de_ronde_venen_csv",
    "houten": "houten_xlsx",
    "stichtse_vecht": "stichtse_vecht_shp",
}
# truth.json reason -> Grondslag reason code (identical here; kept explicit so a rename shows up)
REASONS = {
    r: r
    for r in (
        "missing_coordinates",
        "xy_swapped",
        "outside_gemeente",
        "invalid_date",
        "future_date",
        "depth_from_gt_to",
        "negative_value",
        "non_numeric_value",
        "unknown_parameter",
        "duplicate_row",
    )
}


def _truth(folder: str) -> dict:
    return json.loads((REPO / "data" / "municipal" / folder / "truth.json").read_text(encoding="utf-8"))


def _rows(settings: StoreSettings, sql: str, params=None):
    with psycopg.connect(settings.libpq_url) as conn:
        return conn.execute(sql, params).fetchall()


def _fingerprint(settings: StoreSettings) -> tuple:
    """Counts and content checksums of everything an ETL run writes."""
    return _rows(
        settings,
        """SELECT (SELECT count(*) FROM dataset), (SELECT count(*) FROM location), (SELECT count(*) FROM sample),
                  (SELECT count(*) FROM measurement), (SELECT count(*) FROM quarantine),
                  (SELECT md5(string_agg(external_id || ST_AsText(geom), ',' ORDER BY external_id, dataset_id))
                     FROM location),
                  (SELECT md5(string_agg(parameter_code || value::text, ',' ORDER BY id)) FROM measurement),
                  (SELECT md5(string_agg(sha256, ',' ORDER BY id)) FROM dataset)""",
    )[0]


@pytest.fixture(scope="module")
def loaded(etl_db: StoreSettings) -> dict:
    proc = run_cli(etl_db, "etl", "run", "--all", "--format", "json", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("source", SOURCES)
def test_load_matches_truth(etl_db: StoreSettings, loaded: dict, source: str) -> None:
    truth = _truth(SOURCES[source])
    ds = {d["source"]: d for d in loaded["datasets"]}[source]
    assert ds["status"] == "loaded"
    did = ds["dataset_id"]
    n_loc, n_smp, n_ana = _rows(
        etl_db,
        "SELECT (SELECT count(*) FROM location WHERE dataset_id = %(d)s), "
        "(SELECT count(*) FROM sample WHERE dataset_id = %(d)s), "
        "(SELECT count(*) FROM measurement WHERE dataset_id = %(d)s)",
        {"d": did},
    )[0]
    assert (n_loc, n_smp, n_ana) == (truth["n_locations"], truth["n_samples"], truth["n_analyses"])
    got = dict(
        _rows(etl_db, "SELECT reason, count(*) FROM quarantine WHERE dataset_id = %s GROUP BY 1", (did,))
    )
    expected = {REASONS[r]: n for r, n in truth["quarantined"].items() if n}
    assert got == expected
    ids = {r[0] for r in _rows(etl_db, "SELECT external_id FROM location WHERE dataset_id = %s", (did,))}
    assert ids == set(truth["location_ids"])
    per_param = dict(
        _rows(
            etl_db,
            "SELECT parameter_code, count(*) FROM measurement WHERE dataset_id = %s GROUP BY 1",
            (did,),
        )
    )
    codes = truth["parameter_codes"]
    assert per_param == {codes[p]: n for p, n in truth["analyses_per_parameter"].items()}
    # every loaded location lies in the delivering gemeente (point-in-polygon in PostGIS)
    assert _rows(etl_db, "SELECT DISTINCT gemeente_code FROM location WHERE dataset_id = %s", (did,)) == [
        (truth["gemeentecode"],)
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_spot_checks_and_lead(etl_db: StoreSettings, loaded: dict, source: str) -> None:
    truth = _truth(SOURCES[source])
    did = {d["source"]: d for d in loaded["datasets"]}[source]["dataset_id"]
    for spot in truth["spot_checks"]:
        rows = _rows(
            etl_db,
            """SELECT m.value, m.below_detection_limit, m.unit, s.sample_date::text, s.depth_from_m, s.depth_to_m
               FROM measurement m JOIN sample s ON s.id = m.sample_id JOIN location l ON l.id = s.location_id
               WHERE m.dataset_id = %s AND l.external_id = %s AND s.external_id = %s AND m.parameter_code = %s""",
            (did, spot["location_id"], spot["sample_id"], spot["parameter_code"]),
        )
        assert len(rows) == 1, spot
        value, below, unit, sample_date, dfrom, dto = rows[0]
        assert value == pytest.approx(spot["value"], rel=1e-9, abs=1e-9), spot
        assert below is spot["below_detection_limit"], spot
        assert unit == spot["unit"], spot
        assert sample_date == spot["sample_date"], spot
        assert (dfrom, dto) == (pytest.approx(spot["depth_from_m"]), pytest.approx(spot["depth_to_m"])), spot
    lead = {
        r[0]
        for r in _rows(
            etl_db,
            """SELECT s.external_id FROM measurement m JOIN sample s ON s.id = m.sample_id
               WHERE m.dataset_id = %s AND m.parameter_code = 'Pb' AND NOT m.below_detection_limit AND m.value > 210""",
            (did,),
        )
    }
    assert len(lead) == truth["samples_lead_gt_210"]


def test_quarantine_keeps_locator_field_reason_and_raw(etl_db: StoreSettings, loaded: dict) -> None:
    rows = _rows(
        etl_db,
        "SELECT locator, field, reason, message, raw FROM quarantine q JOIN dataset d ON d.id = q.dataset_id "
        "JOIN source s ON s.id = d.source_id WHERE s.name = 'de_ronde_venen' AND reason = 'invalid_date'",
    )
    assert len(rows) == 4
    for locator, field, _reason, message, raw in rows:
        assert locator.startswith("DRV_bodemonderzoeken_lood_export.csv, row ")
        assert field and message and raw


def test_etl_quarantine_lists_what_a_run_rejected_and_explains_an_empty_answer(
    etl_db: StoreSettings, loaded: dict
) -> None:
    run_id = str(loaded["run_id"])
    per_reason: dict[str, int] = {}
    for d in loaded["datasets"]:
        for reason, n in d["quarantined"].items():
            per_reason[reason] = per_reason.get(reason, 0) + n
    proc = run_cli(etl_db, "etl", "quarantine", "--run", run_id, "--limit", "100000", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    found: dict[str, int] = {}
    for r in rows:
        found[r["reason"]] = found.get(r["reason"], 0) + 1
        assert r["source"] in SOURCES and r["locator"] and r["message"]
    assert found == per_reason

    proc = run_cli(
        etl_db, "etl", "quarantine", "--run", run_id, "--reason", "outside_gemeente", "--format", "csv"
    )
    assert proc.returncode == 0, proc.stderr
    outside = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(outside) == per_reason["outside_gemeente"]
    assert {r["reason"] for r in outside} == {"outside_gemeente"}
    # where a point lies in another gemeente of the province, the message says which
    assert any("; it lies in gemeente GM" in r["message"] for r in outside)

    # an empty answer keeps its CSV header and says why it is empty
    proc = run_cli(
        etl_db, "etl", "quarantine", "--run", run_id, "--reason", "no_such_reason", "--format", "csv"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["id,source,locator,field,reason,unit,message"]
    assert (
        f"nothing quarantined in run {run_id} with reason 'no_such_reason'; reasons in this run: "
        in proc.stderr
    )
    assert f"outside_gemeente ({per_reason['outside_gemeente']})" in proc.stderr

    proc = run_cli(etl_db, "etl", "quarantine", "--run", "999999")
    assert proc.returncode == 2
    assert "no ETL run 999999" in proc.stderr


def test_unchanged_rerun_changes_nothing(etl_db: StoreSettings, loaded: dict) -> None:
    before = _fingerprint(etl_db)
    proc = run_cli(etl_db, "etl", "run", "--all", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert {d["status"] for d in json.loads(proc.stdout)["datasets"]} == {"unchanged"}
    assert _fingerprint(etl_db) == before


def test_dry_run_writes_nothing_but_reports(etl_db: StoreSettings, loaded: dict, tmp_path: Path) -> None:
    mapping = _copy_source(tmp_path, "de_ronde_venen")
    before = _fingerprint(etl_db)
    proc = run_cli(
        etl_db,
        "etl",
        "ingest",
        str(mapping.parent / "export.csv"),
        "--mapping",
        str(mapping),
        "--source",
        "drv-dry",
        "--dry-run",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    ds = json.loads(proc.stdout)["datasets"][0]
    assert ds["status"] == "checked" and ds["measurements"] == _truth("de_ronde_venen_csv")["n_analyses"]
    assert ds["quarantined"]["outside_gemeente"] == 5
    # the quarantine is rolled back with the dry run, so the summary carries the first records of each reason
    examples = ds["quarantine_examples"]
    per_reason = {r: sum(1 for e in examples if e["reason"] == r) for r in ds["quarantined"]}
    assert per_reason == {r: min(n, 3) for r, n in ds["quarantined"].items()}
    assert all(e["locator"].startswith("export.csv, row ") and e["message"] for e in examples)
    assert _fingerprint(etl_db)[:5] == before[:5]
    # people get them under the table
    proc = run_cli(
        etl_db, "etl", "ingest", str(mapping.parent / "export.csv"), "--mapping", str(mapping), "--dry-run"
    )
    assert proc.returncode == 0, proc.stderr
    assert "would quarantine, first records of each reason:" in proc.stdout
    first = next(e for e in examples if e["reason"] == "outside_gemeente")
    assert f"  outside_gemeente (5): {first['locator']}: {first['message']}" in proc.stdout
    assert _fingerprint(etl_db)[:5] == before[:5]


def _copy_source(tmp_path: Path, name: str) -> Path:
    """A copy of a bundled source (mapping + its CSV) that a test may change."""
    mapping = yaml.safe_load((REPO / "sources" / f"{name}.yaml").read_text(encoding="utf-8"))
    src = (REPO / "sources" / mapping["reader"]["file"]).resolve()
    shutil.copy(src, tmp_path / "export.csv")
    mapping["reader"]["file"] = "export.csv"
    mapping["name"] = f"{name}-copy"
    out = tmp_path / "mapping.yaml"
    out.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    return out


def test_changed_file_replaces_exactly_its_dataset(
    etl_db: StoreSettings, loaded: dict, tmp_path: Path
) -> None:
    mapping = _copy_source(tmp_path, "de_ronde_venen")
    csv = tmp_path / "export.csv"

    def ingest(*extra: str):
        proc = run_cli(
            etl_db, "etl", "ingest", str(csv), "--mapping", str(mapping), "--source", "drv-copy", *extra,
            "--format", "json",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc

    first = ingest()
    others_before = _rows(
        etl_db,
        "SELECT count(*) FROM measurement m JOIN dataset d ON d.id = m.dataset_id "
        "JOIN source s ON s.id = d.source_id WHERE s.name <> 'drv-copy'",
    )
    # drop the last data row: a changed file
    lines = csv.read_bytes().split(b"\r\n")
    csv.write_bytes(b"\r\n".join(lines[:-2] + [b""]))
    second = ingest("--no-refresh")
    d1 = json.loads(first.stdout)["datasets"][0]
    d2 = json.loads(second.stdout)["datasets"][0]
    # where the time went, per step of the load
    assert set(d1["phases"]) == {"read_harmonise", "locations_samples", "measurements", "quarantine_links"}
    assert all(v >= 0 for v in d1["phases"].values()) and sum(d1["phases"].values()) <= d1["seconds"]
    # the first call refreshed the quality views, the second (--no-refresh) left them as they were
    # (all of them: a municipal dataset changes what every view reads)
    assert tuple(json.loads(first.stdout)["views_refreshed"]) == quality.VIEWS
    assert json.loads(second.stdout)["views_refreshed"] == {}
    per_source = (
        "SELECT q.n_measurements FROM quality_source q JOIN source s ON s.id = q.source_id "
        "WHERE s.name = 'drv-copy'"
    )
    assert _rows(etl_db, per_source) == [(d1["measurements"],)]
    assert run_cli(etl_db, "quality", "refresh").returncode == 0
    assert _rows(etl_db, per_source) == [(d2["measurements"],)]
    assert d2["status"] == "loaded" and d2["dataset_id"] != d1["dataset_id"]
    assert 0 < d1["measurements"] - d2["measurements"] <= 15
    counts = _rows(
        etl_db,
        "SELECT d.id, count(m.id) FROM dataset d JOIN source s ON s.id = d.source_id "
        "LEFT JOIN measurement m ON m.dataset_id = d.id WHERE s.name = 'drv-copy' GROUP BY 1",
    )
    assert counts == [(d2["dataset_id"], d2["measurements"])]
    assert (
        _rows(
            etl_db,
            "SELECT count(*) FROM measurement m JOIN dataset d ON d.id = m.dataset_id "
            "JOIN source s ON s.id = d.source_id WHERE s.name <> 'drv-copy'",
        )
        == others_before
    )


def test_structurally_wrong_file_fails_whole_with_clear_message(
    etl_db: StoreSettings, loaded: dict, tmp_path: Path
) -> None:
    mapping = _copy_source(tmp_path, "de_ronde_venen")
    csv = tmp_path / "export.csv"
    csv.write_bytes(csv.read_bytes().replace("Y-coördinaat".encode("cp1252"), b"Ycoord", 1))
    before = _fingerprint(etl_db)
    proc = run_cli(etl_db, "etl", "ingest", str(csv), "--mapping", str(mapping), "--format", "json")
    assert proc.returncode == 1
    err = json.loads(proc.stdout)["datasets"][0]["error"]
    assert "export.csv" in err and "Y-coördinaat" in err
    assert _fingerprint(etl_db)[:5] == before[:5]
    # people see the message once, under the table, naming the file once
    proc = run_cli(etl_db, "etl", "ingest", str(csv), "--mapping", str(mapping))
    assert proc.returncode == 1
    failed = [line for line in proc.stderr.splitlines() if line.startswith("FAILED")]
    assert failed == [f"FAILED: {err}"]
    assert _fingerprint(etl_db)[:5] == before[:5]


def test_killed_run_leaves_store_unchanged(etl_db: StoreSettings, loaded: dict, tmp_path: Path) -> None:
    # a large file so that the load is still busy when it is killed
    mapping = _copy_source(tmp_path, "de_ronde_venen")
    csv = tmp_path / "export.csv"
    head, *body = csv.read_bytes().split(b"\r\n")
    body = [r for r in body if r]
    big = [head]
    for copy in range(60):
        for row in body:
            cells = row.split(b";")
            cells[1] = cells[1] + f"-k{copy}".encode()  # Locatie
            cells[6] = cells[6] + f"-k{copy}".encode()  # Monster
            big.append(b";".join(cells))
    csv.write_bytes(b"\r\n".join(big) + b"\r\n")
    before = _fingerprint(etl_db)
    env = dict(os.environ, GRONDSLAG_DATABASE_URL=etl_db.libpq_url)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grondslag.cli",
            "etl",
            "ingest",
            str(csv),
            "--mapping",
            str(mapping),
            "--source",
            "drv-killed",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    # wait until the dataset's transaction has written rows, then kill -9
    deadline = time.monotonic() + 120
    seen_busy = False
    while time.monotonic() < deadline and proc.poll() is None:
        busy = _rows(
            etl_db,
            "SELECT count(*) FROM pg_stat_activity WHERE state <> 'idle' "
            "AND (query ILIKE 'COPY%%' OR query ILIKE 'INSERT INTO%%' OR query ILIKE 'CREATE TEMP%%')",
        )
        if busy[0][0] > 0:
            seen_busy = True
            time.sleep(0.3)
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert seen_busy, "the load finished before it could be killed; make the file bigger"
    assert proc.returncode == -signal.SIGKILL
    # the server notices the dead client and rolls the transaction back
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and _rows(
            etl_db,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state <> 'idle'",
        )[0][0]
    ):
        time.sleep(0.2)
    assert _fingerprint(etl_db) == before
    # and the lock is free again: the next run works
    assert run_cli(etl_db, "etl", "runs", "--format", "json").returncode == 0


def test_same_locations_from_another_source_are_linked_not_duplicated(
    etl_db: StoreSettings, loaded: dict, tmp_path: Path
) -> None:
    mapping = _copy_source(tmp_path, "de_ronde_venen")
    proc = run_cli(
        etl_db,
        "etl",
        "ingest",
        str(tmp_path / "export.csv"),
        "--mapping",
        str(mapping),
        "--source",
        "drv-second",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    rows = _rows(
        etl_db,
        """SELECT count(*), count(DISTINCT k.location_id_a), max(k.distance_m), bool_and(a.external_id = b.external_id)
           FROM location_link k JOIN location a ON a.id = k.location_id_a JOIN location b ON b.id = k.location_id_b
           JOIN dataset db ON db.id = b.dataset_id JOIN source s ON s.id = db.source_id
           WHERE s.name = 'drv-second'""",
    )
    n_links, n_distinct, max_distance, same_ids = rows[0]
    # every location of the second delivery is linked to the same location of the first (distance 0)
    assert n_links >= _truth("de_ronde_venen_csv")["n_locations"]
    assert n_distinct >= 390 and max_distance == 0 and same_ids
