"""The loader on its own: integrity checks it owns instead of per-row foreign keys."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from db.settings import StoreSettings
from etl.load import load_batch, replace_dataset
from etl.records import HarmonisedBatch, HLocation, HMeasurement, HSample


def _batch(code: str) -> HarmonisedBatch:
    return HarmonisedBatch(
        locations=[HLocation("L1", 136000.0, 456000.0)],  # Utrecht
        samples=[HSample("S1", "L1", 0.0, 0.5, date(2020, 1, 1))],
        measurements=[HMeasurement("S1", code, 12.0, "mg/kg ds")],
        rows_read=1,
    )


def _new_dataset(conn: psycopg.Connection, source: str, path: str) -> int:
    """A dataset of a new test source, in the connection's open transaction."""
    source_id = conn.execute(
        "INSERT INTO source (name, kind) VALUES (%s, 'test') RETURNING id", (source,)
    ).fetchone()[0]
    return replace_dataset(conn, source_id=source_id, run_id=None, path=path, sha256="1" * 64, fmt="csv")


def test_unknown_parameter_code_aborts_the_dataset(etl_db: StoreSettings) -> None:
    with psycopg.connect(etl_db.libpq_url) as conn:
        source = conn.execute(
            "INSERT INTO source (name, kind) VALUES ('loader-test', 'test') RETURNING id"
        ).fetchone()[0]
        conn.commit()
        with pytest.raises(ValueError, match="XX"), conn.transaction():
            ds = replace_dataset(
                conn, source_id=source, run_id=None, path="x.csv", sha256="0" * 64, fmt="csv"
            )
            load_batch(conn, _batch("XX"), dataset_id=ds, run_id=None, gemeente_code="GM0344")
        assert conn.execute("SELECT count(*) FROM measurement").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM dataset").fetchone()[0] == 0
        with conn.transaction():
            ds = replace_dataset(
                conn, source_id=source, run_id=None, path="x.csv", sha256="0" * 64, fmt="csv"
            )
            result = load_batch(conn, _batch("Pb"), dataset_id=ds, run_id=None, gemeente_code="GM0344")
        assert (result.locations, result.samples, result.measurements) == (1, 1, 1)
        assert conn.execute("SELECT gemeente_code FROM location").fetchone()[0] == "GM0344"


def test_measurements_go_with_their_samples_without_a_foreign_key(etl_db: StoreSettings) -> None:
    """Measurements carry the sample ids the loader just inserted; deleting the dataset, a location or
    a sample deletes them too (trigger), and a quarantined location's measurements are not loaded."""
    batch = HarmonisedBatch(
        locations=[
            HLocation("A", 136000.0, 456000.0),
            HLocation("B", 136100.0, 456100.0),
            HLocation("FAR", 190000.0, 456000.0),  # outside gemeente Utrecht: quarantined
        ],
        samples=[HSample(f"S{k}", k, 0.0, 0.5, date(2020, 1, 1)) for k in ("A", "B", "FAR")],
        measurements=[
            HMeasurement(f"S{k}", p, 5.0, "mg/kg ds") for k in ("A", "B", "FAR") for p in ("Pb", "Zn")
        ],
        rows_read=6,
    )
    with psycopg.connect(etl_db.libpq_url) as conn:
        ds = _new_dataset(conn, "loader-trigger-test", "t.csv")
        result = load_batch(conn, batch, dataset_id=ds, run_id=None, gemeente_code="GM0344")
        assert (result.locations, result.samples, result.measurements) == (2, 2, 4)
        assert result.quarantined == {"outside_gemeente": 1}
        (message,) = conn.execute("SELECT message FROM quarantine WHERE dataset_id = %s", (ds,)).fetchone()
        assert (
            message == "location FAR at (190000.00, 456000.00) lies more than 100 m outside gemeente GM0344"
        )
        pairs = conn.execute(
            "SELECT s.external_id, m.parameter_code FROM measurement m JOIN sample s ON s.id = m.sample_id "
            "WHERE m.dataset_id = %s ORDER BY 1, 2",
            (ds,),
        ).fetchall()
        assert pairs == [("SA", "Pb"), ("SA", "Zn"), ("SB", "Pb"), ("SB", "Zn")]
        conn.execute("DELETE FROM location WHERE dataset_id = %s AND external_id = 'A'", (ds,))
        assert conn.execute("SELECT count(*) FROM measurement WHERE dataset_id = %s", (ds,)).fetchone() == (
            2,
        )
        conn.execute("DELETE FROM dataset WHERE id = %s", (ds,))
        assert conn.execute("SELECT count(*) FROM measurement WHERE dataset_id = %s", (ds,)).fetchone() == (
            0,
        )
        conn.rollback()


def test_outside_gemeente_names_the_gemeente_the_point_lies_in(etl_db: StoreSettings) -> None:
    """A mapping with the wrong `gemeente:` quarantines every location; each message says where it lies."""
    batch = HarmonisedBatch(
        locations=[
            HLocation("DOORN", 152104.0, 449074.0),  # Utrechtse Heuvelrug
            HLocation(  # a polygon (contaminated site): its point on surface is reported
                "WKT",
                None,
                None,
                geometry_wkt="POLYGON((152100 449070,152108 449070,152108 449078,152100 449078,152100 449070))",
            ),
        ],
        rows_read=2,
    )
    with psycopg.connect(etl_db.libpq_url) as conn:
        ds = _new_dataset(conn, "loader-hint-test", "h.csv")
        result = load_batch(conn, batch, dataset_id=ds, run_id=None, gemeente_code="GM0344")
        assert result.quarantined == {"outside_gemeente": 2}
        messages = [
            m
            for (m,) in conn.execute(
                "SELECT message FROM quarantine WHERE dataset_id = %s ORDER BY locator", (ds,)
            ).fetchall()
        ]
        assert messages == [
            f"location {key} at (152104.00, 449074.00) lies more than 100 m outside gemeente GM0344; "
            "it lies in gemeente GM1581 (Utrechtse Heuvelrug)"
            for key in ("DOORN", "WKT")
        ]
        # the position is kept (for the map layer quarantined_locations): the point the message names
        positions = conn.execute(
            "SELECT ST_AsText(geom), ST_SRID(geom) FROM quarantine WHERE dataset_id = %s ORDER BY locator",
            (ds,),
        ).fetchall()
        assert positions == [("POINT(152104 449074)", 28992)] * 2
        conn.rollback()
