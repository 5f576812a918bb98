"""The store: local cluster lifecycle, migrations, reference data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa
from typer.testing import CliRunner

from db import store
from db.cluster import LocalCluster, free_port
from db.settings import StoreSettings
from grondslag.cli import app

runner = CliRunner()


def test_migrations_upgrade_and_downgrade_on_empty_database(pg_cluster: LocalCluster) -> None:
    s = StoreSettings(data_dir=pg_cluster.data_dir, pg_port=pg_cluster.port, db_name="grondslag_migrations")
    store.ensure_database(s)
    store.migrate(s)
    eng = store.make_engine(s)
    with eng.connect() as conn:
        tables = set(
            conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname='public'")).scalars()
        )
        srids = dict(conn.execute(sa.text("SELECT f_table_name, srid FROM geometry_columns")).all())
    assert {
        "gemeente",
        "omgevingsdienst_membership",
        "dataset",
        "location",
        "sample",
        "measurement",
        "quarantine",
        "bro_object",
        "bro_cpt_data",
        "etl_run",
        "parameter",
    } <= tables
    assert set(srids.values()) == {28992}, srids
    store.downgrade(s, "base")
    with eng.connect() as conn:
        left = set(
            conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname='public'")).scalars()
        )
    assert left <= {"alembic_version", "spatial_ref_sys"}, left
    store.migrate(s)  # and back up again
    eng.dispose()


def test_db_up_twice_is_a_noop(tmp_path: Path, monkeypatch) -> None:
    os.chmod(tmp_path, 0o755)
    monkeypatch.setenv("GRONDSLAG_DATA_DIR", str(tmp_path / "pg"))
    monkeypatch.setenv("GRONDSLAG_PG_PORT", str(free_port()))
    monkeypatch.delenv("GRONDSLAG_DATABASE_URL", raising=False)
    try:
        first = runner.invoke(app, ["db", "up"])
        assert first.exit_code == 0, first.output
        assert "Created a PostgreSQL cluster" in first.output
        pid = LocalCluster(tmp_path / "pg", 0).status().pid
        second = runner.invoke(app, ["db", "up"])
        assert second.exit_code == 0, second.output
        assert "already running" in second.output and "Created" not in second.output
        assert LocalCluster(tmp_path / "pg", 0).status().pid == pid
        status = runner.invoke(app, ["db", "status", "--format", "json"])
        assert json.loads(status.output)["reachable"] is True
    finally:
        runner.invoke(app, ["db", "down"])
    assert not LocalCluster(tmp_path / "pg", 0).status().running


def test_external_url_touches_no_local_cluster(settings: StoreSettings, tmp_path: Path) -> None:
    env = dict(os.environ)
    env["GRONDSLAG_DATABASE_URL"] = settings.libpq_url
    env["GRONDSLAG_DATA_DIR"] = str(tmp_path / "must-not-exist" / "pg")
    for args in (["db", "up"], ["db", "status", "--format", "json"], ["db", "down"]):
        proc = subprocess.run(
            [sys.executable, "-m", "grondslag.cli", *args], env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
    status = subprocess.run(
        [sys.executable, "-m", "grondslag.cli", "db", "status", "-f", "json"],
        env=env,
        capture_output=True,
        text=True,
    )
    body = json.loads(status.stdout)
    assert body["mode"] == "external" and body["reachable"] is True and "data_dir" not in body
    assert not (tmp_path / "must-not-exist").exists()


def test_status_without_database_reports_unreachable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GRONDSLAG_DATA_DIR", str(tmp_path / "pg"))
    monkeypatch.delenv("GRONDSLAG_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["db", "status", "--format", "json"])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["reachable"] is False and body["initialised"] is False


def test_gemeenten_are_valid_rd_new_polygons(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT code, ST_IsValid(geom), ST_SRID(geom), GeometryType(geom), area_km2 FROM gemeente"
            )
        ).all()
    assert len(rows) == 26
    for code, valid, srid, gtype, area in rows:
        assert valid and srid == 28992 and gtype == "MULTIPOLYGON", code
        assert 10 < area < 200, (code, area)
    assert abs(sum(r[4] for r in rows) - 1553.8) < 1.0  # total area stated in the reference SOURCES.md


def _members_on(conn, day: date) -> dict[str, list[str]]:
    rows = conn.execute(
        sa.text(
            """SELECT g.code, array_remove(array_agg(m.omgevingsdienst_code), NULL)
           FROM gemeente g LEFT JOIN omgevingsdienst_membership m ON m.gemeente_code = g.code
             AND (m.valid_from IS NULL OR m.valid_from <= :d) AND (m.valid_to IS NULL OR :d < m.valid_to)
           GROUP BY g.code"""
        ),
        {"d": day},
    ).all()
    return dict(rows)


def test_every_gemeente_has_exactly_one_omgevingsdienst_on_every_date(engine: sa.Engine) -> None:
    # The reference data covers all 26 current gemeenten from 2019-01-01 (Vijfheerenlanden) on.
    with engine.connect() as conn:
        day = date(2019, 1, 1)
        while day <= date(2027, 1, 1):
            members = _members_on(conn, day)
            bad = {g: ods for g, ods in members.items() if len(ods) != 1}
            assert not bad, (day, bad)
            day += timedelta(days=61)
        counts = dict(
            conn.execute(
                sa.text(
                    """SELECT omgevingsdienst_code, count(*) FROM omgevingsdienst_membership
               WHERE gemeente_code LIKE 'GM%' AND (valid_from IS NULL OR valid_from <= '2025-06-01')
                 AND (valid_to IS NULL OR '2025-06-01' < valid_to) GROUP BY 1"""
                )
            ).all()
        )
        assert counts == {"ODRU": 15, "RUDU": 11}
        odu = conn.execute(
            sa.text(
                "SELECT count(*) FROM omgevingsdienst_membership WHERE omgevingsdienst_code='ODU' "
                "AND valid_from = '2026-01-01' AND valid_to IS NULL"
            )
        ).scalar()
        assert odu == 27  # 26 gemeenten + the province PV26
        unknown = conn.execute(
            sa.text("SELECT count(*) FROM omgevingsdienst_membership WHERE valid_from IS NULL")
        ).scalar()
        assert unknown > 0  # unknown starts stay unknown, not invented


def test_seed_is_idempotent(engine: sa.Engine) -> None:
    from db.seed import seed

    with engine.connect() as conn:
        before = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM gemeente), (SELECT count(*) FROM omgevingsdienst_membership), "
                "(SELECT count(*) FROM parameter), (SELECT count(*) FROM soil_norm)"
            )
        ).one()
    with engine.begin() as conn:
        seed(conn)
    with engine.connect() as conn:
        after = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM gemeente), (SELECT count(*) FROM omgevingsdienst_membership), "
                "(SELECT count(*) FROM parameter), (SELECT count(*) FROM soil_norm)"
            )
        ).one()
    assert before == after and after[0] == 26 and after[1] == 55 and after[3] == 13


def test_every_command_has_help() -> None:
    def walk(group, path):
        for cmd in group.registered_commands:
            yield [*path, cmd.name or cmd.callback.__name__.replace("_", "-")]
        for sub in group.registered_groups:
            yield [*path, sub.name]
            yield from walk(sub.typer_instance, [*path, sub.name])

    for args in walk(app, []):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


def test_backup_and_restore_roundtrip(pg_cluster: LocalCluster, tmp_path: Path) -> None:
    from tests.conftest import make_database, run_cli

    s = make_database(pg_cluster, "grondslag_backup")
    dump = tmp_path / "store.dump"
    proc = run_cli(s, "db", "backup", str(dump))
    assert proc.returncode == 0, proc.stderr
    assert dump.stat().st_size > 10_000
    eng = store.make_engine(s)
    with eng.begin() as conn:
        conn.execute(sa.text("DELETE FROM omgevingsdienst_membership"))
    proc = run_cli(s, "db", "restore", str(dump))
    assert proc.returncode == 0, proc.stderr
    with eng.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM omgevingsdienst_membership")).scalar() == 55
        assert conn.execute(sa.text("SELECT count(*) FROM gemeente")).scalar() == 26
    eng.dispose()


def test_every_foreign_key_column_is_indexed(engine: sa.Engine) -> None:
    """Deleting a dataset cascades through every foreign key; an unindexed referencing column makes each
    deleted row scan a whole table (a changed-file reload of linked locations became quadratic)."""
    with engine.connect() as conn:
        unindexed = (
            conn.execute(
                sa.text(
                    """SELECT c.conrelid::regclass::text || '.' || a.attname
                   FROM pg_constraint c
                   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                   JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public'
                   WHERE c.contype = 'f' AND NOT EXISTS (
                       SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])"""
                )
            )
            .scalars()
            .all()
        )
    assert unindexed == []


def test_migration_0006_gives_earlier_quarantined_locations_their_position(pg_cluster: LocalCluster) -> None:
    s = StoreSettings(data_dir=pg_cluster.data_dir, pg_port=pg_cluster.port, db_name="grondslag_q_geom")
    store.ensure_database(s)
    store.migrate(s, "0005_dissipation_arrays")
    with psycopg.connect(s.libpq_url) as c:
        c.execute(
            """INSERT INTO quarantine (locator, field, reason, unit, message, raw) VALUES
               ('a.csv, row 2', 'geometry', 'outside_gemeente', 'location', 'm', '{"key": "A", "x": 136000.5, "y": 456000}'),
               ('a.csv, row 3', 'geometry', 'outside_province', 'location', 'm', '{"key": "B", "x": null, "y": null}'),
               ('a.csv, row 4', 'datum', 'invalid_date', 'sample', 'm', '{"x": 1, "y": 2}')"""
        )
    store.migrate(s)
    with psycopg.connect(s.libpq_url) as c:
        rows = c.execute("SELECT locator, ST_AsText(geom) FROM quarantine ORDER BY locator").fetchall()
    assert rows == [
        ("a.csv, row 2", "POINT(136000.5 456000)"),
        ("a.csv, row 3", None),
        ("a.csv, row 4", None),
    ]
    store.downgrade(s, "0005_dissipation_arrays")
    with psycopg.connect(s.libpq_url) as c:
        assert c.execute("SELECT count(*) FROM quarantine").fetchone() == (3,)


def test_loading_into_a_store_behind_the_code_says_to_migrate(pg_cluster: LocalCluster) -> None:
    """Grondslag upgraded but `db migrate` not run: the dataset fails (nothing written) and says what to do."""
    from db.seed import seed
    from tests.conftest import run_cli

    s = StoreSettings(data_dir=pg_cluster.data_dir, pg_port=pg_cluster.port, db_name="grondslag_behind")
    store.ensure_database(s)
    store.migrate(s, "0005_dissipation_arrays")
    engine = store.make_engine(s)
    with engine.begin() as conn:
        seed(conn)
    engine.dispose()
    # a location outside its gemeente: its quarantine record needs quarantine.geom (migration 0006)
    export = Path(pg_cluster.data_dir).parent / "behind.csv"
    export.write_text("id;x;y;datum;Pb\nA;190000;456000;01-02-2020;12\n", encoding="utf-8")
    mapping = export.with_suffix(".yaml")
    mapping.write_text(
        "name: behind\ngemeente: GM0344\nreader: {type: csv, file: behind.csv}\ncrs: 'EPSG:28992'\n"
        "columns: {location_id: id, x: x, y: y, date: datum}\nlayout: wide\n"
        "wide: {value_columns: {Pb: {parameter: Pb, unit: mg/kg ds}}}\n",
        encoding="utf-8",
    )
    proc = run_cli(s, "etl", "ingest", str(export), "--mapping", str(mapping), "--format", "json")
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["datasets"][0]["error"]
    assert 'column "geom" of relation "quarantine" does not exist' in error
    assert error.endswith(
        "(the store's schema is older than this version of Grondslag: run `grondslag db migrate`, then load again)"
    )
    with psycopg.connect(s.libpq_url) as c:
        assert c.execute("SELECT count(*) FROM location").fetchone() == (0,)
