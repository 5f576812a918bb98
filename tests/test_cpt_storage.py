"""CPT measurement tables stored as arrays (bro_cpt_data) and read back row-wise (bro_cpt_measurement)."""

from __future__ import annotations

import psycopg
import pytest

from db import store
from db.cluster import LocalCluster
from db.settings import StoreSettings
from etl.load_bro import _copy_cpt_data, _copy_dissipation, float8_array

ROWS = {
    "penetration_length": [0.02, 0.04, 0.06, 0.08],
    "depth": [0.02, None, 0.06, 0.08],
    "cone_resistance": [1.25, 2.5, None, -999.5],
    "friction_ratio": [None, None, None, 1e-300],
}


@pytest.fixture(scope="module")
def conn(settings: StoreSettings):
    with psycopg.connect(settings.libpq_url) as c:
        c.execute(
            "INSERT INTO bro_object (bro_id, object_type) VALUES ('CPT000000000001', 'CPT'), "
            "('CPT000000000002', 'CPT'), ('CPT000000000003', 'CPT')"
        )
        yield c
        c.rollback()


def _rows(conn: psycopg.Connection, bro_id: str, cols: list[str]) -> list[tuple]:
    return conn.execute(
        f"SELECT seq, {', '.join(cols)} FROM bro_cpt_measurement WHERE bro_id = %s ORDER BY seq", (bro_id,)
    ).fetchall()


def test_arrays_round_trip_with_voids_and_extra_quantities(conn: psycopg.Connection) -> None:
    cols = dict(ROWS, gef_quantity_99=[1.0, None, 3.0, None])
    _copy_cpt_data(conn, "CPT000000000001", cols, 4)
    got = _rows(conn, "CPT000000000001", [*ROWS, "extra"])
    assert [r[0] for r in got] == [1, 2, 3, 4]
    for j, name in enumerate(ROWS, start=1):
        assert [r[j] for r in got] == ROWS[name], name
    assert [r[-1] for r in got] == [{"gef_quantity_99": 1.0}, None, {"gef_quantity_99": 3.0}, None]
    # quantities the CPT does not have are NULL on every row; n_rows is kept
    assert conn.execute(
        "SELECT n_rows, local_friction IS NULL FROM bro_cpt_data WHERE bro_id = 'CPT000000000001'"
    ).fetchone() == (4, True)


def test_empty_and_all_void_columns(conn: psycopg.Connection) -> None:
    _copy_cpt_data(conn, "CPT000000000002", {"penetration_length": [], "depth": []}, 0)
    assert _rows(conn, "CPT000000000002", ["depth"]) == []
    _copy_cpt_data(conn, "CPT000000000003", {"penetration_length": [0.5, 1.0], "depth": [None, None]}, 2)
    assert _rows(conn, "CPT000000000003", ["penetration_length", "depth"]) == [(1, 0.5, None), (2, 1.0, None)]


def test_float8_array_is_postgres_binary_layout() -> None:
    data = float8_array([1.5, None])
    # ndim 1, has-null 1, element oid 701, length 2, lower bound 1; then (len, value) / (-1)
    assert data[:20] == bytes.fromhex("0000000100000001000002bd0000000200000001")
    assert data[20:] == bytes.fromhex("000000083ff8000000000000ffffffff")
    # None and NaN both become a NULL element (a void)
    assert float8_array([float("nan")])[-4:] == b"\xff\xff\xff\xff"


def test_deleting_the_object_deletes_its_measurements(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO bro_object (bro_id, object_type) VALUES ('CPT000000000004', 'CPT')")
    _copy_cpt_data(conn, "CPT000000000004", {"penetration_length": [1.0, 2.0]}, 2)
    assert len(_rows(conn, "CPT000000000004", ["penetration_length"])) == 2
    conn.execute("DELETE FROM bro_object WHERE bro_id = 'CPT000000000004'")
    assert _rows(conn, "CPT000000000004", ["penetration_length"]) == []
    assert conn.execute("SELECT count(*) FROM bro_cpt_data WHERE bro_id = 'CPT000000000004'").fetchone() == (
        0,
    )


def test_migration_moves_rows_into_arrays_and_back(pg_cluster: LocalCluster) -> None:
    s = StoreSettings(data_dir=pg_cluster.data_dir, pg_port=pg_cluster.port, db_name="grondslag_cpt_arrays")
    store.ensure_database(s)
    store.migrate(s, "0002_quality")
    rows = [
        ("CPT000000000007", 1, 0.0, 1.5, None),
        ("CPT000000000007", 2, 0.02, None, {"q99": 7}),
        ("CPT000000000007", 3, 0.04, 2.5, None),
        ("CPT000000000008", 1, 0.1, 9.0, None),
    ]
    with psycopg.connect(s.libpq_url) as c:
        c.execute(
            "INSERT INTO bro_object (bro_id, object_type) VALUES ('CPT000000000007', 'CPT'), ('CPT000000000008', 'CPT')"
        )
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO bro_cpt_measurement (bro_id, seq, penetration_length, cone_resistance, extra) "
                "VALUES (%s, %s, %s, %s, %s)",
                [(b, q, p, qc, psycopg.types.json.Jsonb(e) if e else None) for b, q, p, qc, e in rows],
            )
    query = "SELECT bro_id, seq, penetration_length, cone_resistance, extra FROM bro_cpt_measurement ORDER BY 1, 2"
    store.migrate(s)
    with psycopg.connect(s.libpq_url) as c:
        assert c.execute(query).fetchall() == rows
        assert c.execute("SELECT bro_id, n_rows FROM bro_cpt_data ORDER BY 1").fetchall() == [
            ("CPT000000000007", 3),
            ("CPT000000000008", 1),
        ]
    store.downgrade(s, "0002_quality")
    with psycopg.connect(s.libpq_url) as c:
        assert c.execute(query).fetchall() == rows
        assert c.execute("SELECT relkind FROM pg_class WHERE relname = 'bro_cpt_measurement'").fetchone() == (
            "r",
        )
    store.migrate(s)


def test_dissipation_series_stored_as_arrays(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO bro_object (bro_id, object_type) VALUES ('CPT000000000005', 'CPT')")
    tests = [
        {
            "penetration_length": 7.5,
            "phenomenon_time": "2020-01-02T10:00:00",
            "n_rows": 3,
            "columns": {
                "elapsed_time": [0.0, 1.0, 2.0],
                "pore_pressure_u2": [0.3, None, 0.1],
                "gef_q": [1, 2, 3],
            },
        },
        {"penetration_length": None, "n_rows": 0, "columns": {}, "note": "from GEF"},
    ]
    _copy_dissipation(conn, "CPT000000000005", tests)
    rows = conn.execute(
        "SELECT test_no, penetration_length, phenomenon_time, n_rows, elapsed_time, pore_pressure_u2, "
        "pore_pressure_u1, extra, data FROM bro_cpt_dissipation WHERE bro_id = 'CPT000000000005' ORDER BY 1"
    ).fetchall()
    assert rows == [
        (
            1,
            7.5,
            "2020-01-02T10:00:00",
            3,
            [0.0, 1.0, 2.0],
            [0.3, None, 0.1],
            None,
            {"gef_q": [1, 2, 3]},
            None,
        ),
        (2, None, None, 0, None, None, None, None, {"note": "from GEF"}),
    ]


def test_migration_moves_dissipation_json_into_arrays_and_back(pg_cluster: LocalCluster) -> None:
    s = StoreSettings(data_dir=pg_cluster.data_dir, pg_port=pg_cluster.port, db_name="grondslag_dis_arrays")
    store.ensure_database(s)
    store.migrate(s, "0004_measurement_bulk_load")
    old = {
        "penetration_length": 12.0,
        "phenomenon_time": "2019-05-06",
        "n_rows": 2,
        "columns": {"elapsed_time": [0.5, 1.5], "pore_pressure_u2": [None, 0.25], "gef_q": [3, 4]},
        "source": "gef",
    }
    with psycopg.connect(s.libpq_url) as c:
        c.execute("INSERT INTO bro_object (bro_id, object_type) VALUES ('CPT000000000009', 'CPT')")
        c.execute(
            "INSERT INTO bro_cpt_dissipation (bro_id, test_no, penetration_length, data) VALUES (%s, 1, 12.0, %s)",
            ("CPT000000000009", psycopg.types.json.Jsonb(old)),
        )
    store.migrate(s)
    with psycopg.connect(s.libpq_url) as c:
        assert c.execute(
            "SELECT phenomenon_time, n_rows, elapsed_time, pore_pressure_u2, cone_resistance, extra, data "
            "FROM bro_cpt_dissipation"
        ).fetchall() == [
            ("2019-05-06", 2, [0.5, 1.5], [None, 0.25], None, {"gef_q": [3, 4]}, {"source": "gef"})
        ]
    store.downgrade(s, "0004_measurement_bulk_load")
    with psycopg.connect(s.libpq_url) as c:
        assert c.execute("SELECT data FROM bro_cpt_dissipation").fetchone()[0] == old
    store.migrate(s)
