"""API test fixtures: soil data inserted by SQL into the session's PostGIS, and a real server.

The data are deterministic (``ST_GeneratePoints`` with a seed): 80 locations in three gemeenten
(Utrecht GM0344: 40, Amersfoort GM0307: 25, Veenendaal GM0345: 15), two samples with measurements
for the first 30 locations, and BRO objects of every served type with their child rows. The server
is uvicorn on 127.0.0.1 and a free port, in a background thread, pointed at the test database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from api.settings import ApiSettings
from db import store
from db.settings import StoreSettings
from tests.conftest import serving

API_KEY = "test-key-0123456789"
COUNTS = {"GM0344": 40, "GM0307": 25, "GM0345": 15}
BRO = [
    ("CPT000000000001", "CPT", "GM0344"),
    ("CPT000000000002", "CPT", "GM0344"),
    ("CPT000000000003", "CPT", "GM0307"),
    ("BHR000000000001", "BHR-GT", "GM0344"),
    ("BHR000000000002", "BHR-P", "GM0307"),
    ("BHR000000000003", "BHR-G", "GM0345"),
    ("GMW000000000001", "GMW", "GM0344"),
    ("GMW000000000002", "GMW", "GM0345"),
]

FIXTURE_SQL = """
INSERT INTO source (name, kind, gemeente_code) VALUES
    ('test-utrecht', 'municipal', 'GM0344'), ('test-regio', 'municipal', NULL), ('test-bro', 'bro', NULL);
INSERT INTO etl_run (finished_at, status, command, n_datasets) VALUES (now(), 'succeeded', 'test fixture', 3);
INSERT INTO dataset (source_id, run_id, path, sha256, format, rows_read, rows_loaded)
SELECT s.id, (SELECT max(id) FROM etl_run), 'data/municipal/' || s.name || '/export.csv', repeat('0', 64), 'csv', 80, 80 FROM source s;
INSERT INTO investigation (dataset_id, external_id, investigation_date, investigation_type, report_id)
SELECT (SELECT id FROM dataset WHERE path LIKE '%test-utrecht%'), 'INV-' || n, DATE '2015-01-01' + n * 200,
       'NEN 5740', 'R-' || n
FROM generate_series(1, 4) n;
INSERT INTO location (dataset_id, investigation_id, external_id, name, status, gemeente_code, locator, geom)
SELECT CASE WHEN p.code = 'GM0344' THEN (SELECT id FROM dataset WHERE path LIKE '%test-utrecht%')
            ELSE (SELECT id FROM dataset WHERE path LIKE '%test-regio%') END,
       (SELECT id FROM investigation WHERE external_id = 'INV-' || (1 + p.path[1] % 4)),
       p.code || '-' || lpad(p.path[1]::text, 3, '0'), 'boring ' || p.path[1], 'active', p.code,
       'row ' || (p.path[1] + 1), p.geom
FROM (SELECT g.code, (ST_Dump(ST_GeneratePoints(ST_Buffer(g.geom, -200), c.n, 42))).*
      FROM gemeente g JOIN (VALUES ('GM0344', 40), ('GM0307', 25), ('GM0345', 15)) c(code, n) ON c.code = g.code) p
ORDER BY p.code DESC, p.path[1];
INSERT INTO sample (dataset_id, location_id, investigation_id, external_id, depth_from_m, depth_to_m, sample_date,
                    lutum_pct, organic_matter_pct, locator)
SELECT l.dataset_id, l.id, l.investigation_id, l.external_id || '-MM' || k, (k - 1) * 0.5, k * 0.5,
       DATE '2016-03-01' + (l.id % 50)::int * 30, 10 + k, 2 + k, 'row ' || (l.id * 2 + k)
FROM (SELECT * FROM location ORDER BY id LIMIT 30) l CROSS JOIN generate_series(1, 2) k;
INSERT INTO measurement (sample_id, dataset_id, parameter_code, value, unit, locator)
SELECT s.id, s.dataset_id, p.code, (s.id % 7) * 40 + p.base, 'mg/kg ds', s.locator || ', column ' || p.code
FROM sample s CROSS JOIN (VALUES ('Pb', 20.0), ('Zn', 50.0), ('Cu', 10.0)) p(code, base);
INSERT INTO bro_object (bro_id, object_type, dataset_id, gemeente_code, research_report_date, final_depth, geom)
SELECT b.id, b.type, (SELECT id FROM dataset WHERE path LIKE '%test-bro%'), b.gm, DATE '2020-06-01' + b.n * 10,
       20 + b.n, ST_Translate(ST_PointOnSurface(g.geom), b.n * 50, b.n * 30)
FROM (VALUES {bro}) b(id, type, gm, n) JOIN gemeente g ON g.code = b.gm;
INSERT INTO bro_cpt_data (bro_id, n_rows, penetration_length, depth, cone_resistance, friction_ratio)
SELECT b.bro_id, 50, array_agg(k * 0.02 ORDER BY k), array_agg(k * 0.02 ORDER BY k),
       array_agg(1 + k * 0.01 ORDER BY k), array_agg(1.5 ORDER BY k)
FROM bro_object b, generate_series(1, 50) k WHERE b.object_type = 'CPT' GROUP BY b.bro_id;
INSERT INTO bro_borehole_layer (bro_id, seq, upper_boundary, lower_boundary, soil_name)
SELECT b.bro_id, k, (k - 1) * 0.5, k * 0.5, 'zand' FROM bro_object b, generate_series(1, 4) k
WHERE b.object_type LIKE 'BHR%';
INSERT INTO bro_well_tube (bro_id, tube_number, screen_top, screen_bottom, tube_type)
SELECT b.bro_id, k, -2.0 * k, -2.0 * k - 1, 'standaardbuis' FROM bro_object b, generate_series(1, 2) k
WHERE b.object_type = 'GMW';
-- locations the ETL quarantined for where they lie (with a position) and one without coordinates
INSERT INTO quarantine (run_id, dataset_id, locator, field, reason, unit, message, raw, geom)
SELECT (SELECT max(id) FROM etl_run), (SELECT id FROM dataset WHERE path LIKE '%test-utrecht%'),
       'export.csv, row ' || (100 + q.n), 'geometry', 'outside_gemeente', 'location',
       'location Q' || q.n || ' lies more than 100 m outside gemeente GM0344; it lies in gemeente ' || g.code,
       jsonb_build_object('key', 'Q' || q.n), ST_Translate(ST_PointOnSurface(g.geom), q.n * 20, 0)
FROM (VALUES (1, 'GM0307'), (2, 'GM0307'), (3, 'GM0356'), (4, 'GM0356')) q(n, code)
JOIN gemeente g ON g.code = q.code;
INSERT INTO quarantine (run_id, dataset_id, locator, field, reason, unit, message, raw)
SELECT (SELECT max(id) FROM etl_run), (SELECT id FROM dataset WHERE path LIKE '%test-utrecht%'),
       'export.csv, row 105', 'x', 'missing_coordinates', 'location', 'location Q5 has no coordinates', '{}';
ANALYZE;
"""


@dataclass(frozen=True)
class Server:
    url: str
    settings: ApiSettings


@pytest.fixture(scope="session")
def api_store(settings: StoreSettings) -> StoreSettings:
    """A database of its own in the session's cluster (``<name>_api``), migrated and seeded, so the API
    fixture data never meet other tests' data. With an external test URL, that database is used."""
    if settings.external:
        return settings
    s = StoreSettings(data_dir=settings.data_dir, pg_port=settings.pg_port, db_name=settings.db_name + "_api")
    store.prepare(s)
    return s


@pytest.fixture(scope="session")
def api_engine(api_store: StoreSettings) -> Iterator[sa.Engine]:
    eng = store.make_engine(api_store)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def api_data(api_store: StoreSettings, api_engine: sa.Engine) -> StoreSettings:
    """The soil fixture data above, inserted once per session (after migrate + seed)."""
    bro = ", ".join(f"('{i}', '{t}', '{g}', {n})" for n, (i, t, g) in enumerate(BRO, start=1))
    with api_engine.begin() as conn:
        if conn.execute(sa.text("SELECT count(*) FROM location")).scalar() == 0:
            conn.connection.driver_connection.execute(FIXTURE_SQL.replace("{bro}", bro))
        refresh_quality_views(conn)
    return api_store


def refresh_quality_views(conn: sa.Connection) -> None:
    """Refresh the materialized views of migration 0002 (in dependency order) when they exist."""
    if conn.execute(sa.text("SELECT to_regclass('quality_gemeente')")).scalar() is None:
        print("quality views (migration 0002) absent: metric tests will skip")
        return
    from db.quality import refresh

    refresh(conn)


@pytest.fixture(scope="session")
def server(api_data: StoreSettings) -> Iterator[Server]:
    """Grondslag served by uvicorn on 127.0.0.1:<free port> in a thread, for real HTTP clients."""
    settings = ApiSettings(
        database_url=api_data.libpq_url,
        api_keys=[API_KEY],
        pool_min=1,
        pool_max=4,
        version_check_seconds=0.2,
        readahead_min_limit=5,  # so the paging tests (limit 7) exercise the read-ahead of next pages
    )
    with serving(create_app(settings)) as url:
        yield Server(url, settings)


@pytest.fixture(scope="session")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def db(api_data: StoreSettings, api_engine: sa.Engine):
    """Run a scalar query against the test database (the truth the API is compared with)."""

    def scalar(sql: str, **params):
        with api_engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    return scalar
