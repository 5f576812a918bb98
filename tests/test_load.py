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
