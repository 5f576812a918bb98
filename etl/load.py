"""Write one harmonised dataset into PostGIS: locations and samples by COPY into staging tables and
set-based SQL, the (many) measurements by one binary COPY straight into ``measurement``.

Everything happens on the caller's connection inside the caller's transaction, so a dataset
loads all-or-nothing: a failure (or a killed process) leaves the store as it was before.
The gemeente of every location is checked/assigned here, by point-in-polygon in PostGIS.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from etl.records import HarmonisedBatch, QuarantineRecord

STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS stg_location (
    key text, x double precision, y double precision, wkt text, name text, status text,
    investigation_key text, coord_decimals smallint, locator text, attributes jsonb
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS stg_investigation (
    key text, investigation_date date, investigation_type text, report_id text
) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS stg_sample (
    key text, location_key text, investigation_key text, depth_from_m double precision,
    depth_to_m double precision, sample_date date, lutum_pct double precision,
    organic_matter_pct double precision, locator text
) ON COMMIT DROP;
"""


@dataclass(slots=True)
class LoadResult:
    dataset_id: int
    locations: int = 0
    samples: int = 0
    measurements: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    links: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step

    @property
    def n_quarantined(self) -> int:
        return sum(self.quarantined.values())


def _json(value: Any) -> str | None:
    if not value:
        return None
    return json.dumps(value, default=str, ensure_ascii=False)


def replace_dataset(
    conn: psycopg.Connection, *, source_id: int, run_id: int | None, path: str, sha256: str, fmt: str
) -> int:
    """Remove the previous load of ``path`` for this source (all its rows) and register the new one."""
    conn.execute("DELETE FROM dataset WHERE source_id = %s AND path = %s", (source_id, path))
    return conn.execute(
        "INSERT INTO dataset (source_id, run_id, path, sha256, format) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (source_id, run_id, path, sha256, fmt),
    ).fetchone()[0]


def insert_quarantine(
    conn: psycopg.Connection, dataset_id: int, run_id: int | None, records: list[QuarantineRecord]
) -> None:
    """Bulk-insert quarantine records (COPY)."""
    if not records:
        return
    with conn.cursor().copy(
        "COPY quarantine (run_id, dataset_id, locator, field, reason, unit, message, raw) FROM STDIN"
    ) as copy:
        for q in records:
            copy.write_row(
                (run_id, dataset_id, str(q.locator), q.field, q.reason, q.unit, q.message, _json(q.raw))
            )


def load_batch(
    conn: psycopg.Connection,
    batch: HarmonisedBatch,
    *,
    dataset_id: int,
    run_id: int | None,
    gemeente_code: str | None,
    tolerance_m: float = 100.0,
    link_distance_m: float = 5.0,
) -> LoadResult:
    """Load ``batch`` as dataset ``dataset_id``.

    ``gemeente_code`` set: every location must lie within ``tolerance_m`` of that gemeente, else it
    is quarantined as ``outside_gemeente``. ``None`` (a multi-gemeente source): each location gets
    the gemeente it lies in (or the nearest within the tolerance); outside all of them it is
    quarantined as ``outside_province``.
    """
    started = time.perf_counter()
    conn.execute(STAGING_DDL)
    for t in ("stg_location", "stg_investigation", "stg_sample"):
        conn.execute(f"TRUNCATE {t}")
    investigations: dict[str, tuple] = {}
    with conn.cursor().copy(
        "COPY stg_location (key, x, y, wkt, name, status, investigation_key, coord_decimals, locator, "
        "attributes) FROM STDIN"
    ) as copy:
        for loc in batch.locations:
            copy.write_row(
                (
                    loc.key,
                    loc.x,
                    loc.y,
                    loc.geometry_wkt,
                    loc.name,
                    loc.status,
                    loc.investigation_key,
                    loc.coord_decimals,
                    str(loc.locator) if loc.locator else None,
                    _json(loc.raw),
                )
            )
            if loc.investigation_key and loc.investigation_key not in investigations:
                investigations[loc.investigation_key] = (
                    loc.investigation_date,
                    loc.investigation_type,
                    loc.report_id,
                )
    for s in batch.samples:
        if s.investigation_key and s.investigation_key not in investigations:
            investigations[s.investigation_key] = (None, None, None)
    with conn.cursor().copy(
        "COPY stg_investigation (key, investigation_date, investigation_type, report_id) FROM STDIN"
    ) as copy:
        for key, (d, t, r) in investigations.items():
            copy.write_row((key, d, t, r))
    with conn.cursor().copy(
        "COPY stg_sample (key, location_key, investigation_key, depth_from_m, depth_to_m, sample_date, "
        "lutum_pct, organic_matter_pct, locator) FROM STDIN"
    ) as copy:
        for s in batch.samples:
            copy.write_row(
                (
                    s.key,
                    s.location_key,
                    s.investigation_key,
                    s.depth_from_m,
                    s.depth_to_m,
                    s.sample_date,
                    s.lutum_pct,
                    s.organic_matter_pct,
                    str(s.locator) if s.locator else None,
                )
            )
    return _merge(conn, batch, dataset_id, run_id, gemeente_code, tolerance_m, link_distance_m, started)


def _merge(
    conn: psycopg.Connection,
    batch: HarmonisedBatch,
    dataset_id: int,
    run_id: int | None,
    gemeente_code: str | None,
    tolerance_m: float,
    link_distance_m: float,
    started: float,
) -> LoadResult:
    result = LoadResult(dataset_id)
    # 1. geometry + gemeente, in PostGIS
    conn.execute(
        """
        CREATE TEMP TABLE stg_placed ON COMMIT DROP AS
        SELECT l.*, p.geom, g.code AS gemeente_code, g.dist
        FROM stg_location l
        CROSS JOIN LATERAL (
            SELECT CASE WHEN l.wkt IS NOT NULL THEN ST_GeomFromText(l.wkt, 28992)
                        ELSE ST_SetSRID(ST_MakePoint(l.x, l.y), 28992) END AS geom
        ) p
        LEFT JOIN LATERAL (
            SELECT gm.code, ST_Distance(gm.geom, p.geom) AS dist
            FROM gemeente gm
            WHERE ST_DWithin(gm.geom, p.geom, %(tol)s::float8)
              AND (%(gm)s::text IS NULL OR gm.code = %(gm)s::text)
            ORDER BY ST_Distance(gm.geom, p.geom), gm.code
            LIMIT 1
        ) g ON true
        """,
        {"tol": tolerance_m, "gm": gemeente_code},
    )
    reason = "outside_gemeente" if gemeente_code else "outside_province"
    where = f"gemeente {gemeente_code}" if gemeente_code else "any gemeente of the province"
    conn.execute(
        """
        INSERT INTO quarantine (run_id, dataset_id, locator, field, reason, unit, message, raw, geom)
        SELECT %(run)s::bigint, %(ds)s::bigint, coalesce(p.locator, p.key), 'geometry', %(reason)s::text, 'location',
               format('location %%s at (%%s, %%s) lies more than %%s m outside %%s',
                      p.key, round(coalesce(p.x, ST_X(ST_PointOnSurface(p.geom)))::numeric, 2),
                      round(coalesce(p.y, ST_Y(ST_PointOnSurface(p.geom)))::numeric, 2), %(tol)s::float8, %(where)s::text)
                   -- the gemeente it does lie in: a wrong `gemeente:` in the mapping shows at once
                   || CASE WHEN inside.code IS NULL THEN '' ELSE format('; it lies in gemeente %%s (%%s)', inside.code, inside.name) END,
               jsonb_build_object('key', p.key, 'x', p.x, 'y', p.y) || coalesce(p.attributes, '{}'::jsonb),
               ST_PointOnSurface(p.geom)
        FROM stg_placed p
        LEFT JOIN LATERAL (
            SELECT gm.code, gm.name FROM gemeente gm
            WHERE %(gm)s::text IS NOT NULL AND ST_Intersects(gm.geom, p.geom)
            ORDER BY gm.code LIMIT 1
        ) inside ON true
        WHERE p.gemeente_code IS NULL
        """,
        {
            "run": run_id,
            "ds": dataset_id,
            "reason": reason,
            "tol": tolerance_m,
            "where": where,
            "gm": gemeente_code,
        },
    )
    # 2. investigations, locations, samples, measurements
    conn.execute(
        """INSERT INTO investigation (dataset_id, external_id, investigation_date, investigation_type, report_id)
           SELECT %s, key, investigation_date, investigation_type, report_id FROM stg_investigation""",
        (dataset_id,),
    )
    result.locations = conn.execute(
        """
        INSERT INTO location (dataset_id, investigation_id, external_id, name, status, gemeente_code,
                              coord_decimals, locator, attributes, geom)
        SELECT %(ds)s, i.id, p.key, p.name, p.status, p.gemeente_code, p.coord_decimals, p.locator,
               p.attributes, p.geom
        FROM stg_placed p
        LEFT JOIN investigation i ON i.dataset_id = %(ds)s AND i.external_id = p.investigation_key
        WHERE p.gemeente_code IS NOT NULL
        """,
        {"ds": dataset_id},
    ).rowcount
    result.samples = conn.execute(
        """
        INSERT INTO sample (dataset_id, location_id, investigation_id, external_id, depth_from_m, depth_to_m,
                            sample_date, lutum_pct, organic_matter_pct, locator)
        SELECT %(ds)s, l.id, i.id, s.key, s.depth_from_m, s.depth_to_m, s.sample_date, s.lutum_pct,
               s.organic_matter_pct, s.locator
        FROM stg_sample s
        JOIN location l ON l.dataset_id = %(ds)s AND l.external_id = s.location_key
        LEFT JOIN investigation i ON i.dataset_id = %(ds)s AND i.external_id = s.investigation_key
        """,
        {"ds": dataset_id},
    ).rowcount
    placed = time.perf_counter()
    result.measurements = copy_measurements(conn, batch, dataset_id)
    copied = time.perf_counter()
    insert_quarantine(conn, dataset_id, run_id, batch.quarantine)
    rows = conn.execute(
        "SELECT reason, count(*) FROM quarantine WHERE dataset_id = %s GROUP BY reason", (dataset_id,)
    ).fetchall()
    result.quarantined = {r: n for r, n in rows}
    result.links = link_locations(conn, dataset_id, link_distance_m)
    conn.execute(
        "UPDATE dataset SET rows_read = %s, rows_loaded = %s, rows_quarantined = %s WHERE id = %s",
        (batch.rows_read, result.measurements, result.n_quarantined, dataset_id),
    )
    conn.execute("DROP TABLE stg_placed")
    result.phases = {
        "locations_samples": placed - started,  # staging COPY, point-in-polygon, inserts
        "measurements": copied - placed,  # the binary COPY into measurement
        "quarantine_links": time.perf_counter() - copied,
    }
    return result


# the columns the loader writes into ``measurement``, in COPY order (the id comes from its sequence)
MEASUREMENT_COLUMNS = (
    "sample_id",
    "dataset_id",
    "parameter_code",
    "value",
    "unit",
    "below_detection_limit",
    "detection_limit",
    "reported_value",
    "reported_unit",
    "locator",
)


def copy_measurements(conn: psycopg.Connection, batch: HarmonisedBatch, dataset_id: int) -> int:
    """COPY the measurements straight into ``measurement`` (binary), with the ids of the samples just
    inserted; measurements of samples that were not loaded (their location quarantined) are left out."""
    sample_ids = dict(
        conn.execute("SELECT external_id, id FROM sample WHERE dataset_id = %s", (dataset_id,)).fetchall()
    )
    known = {r[0] for r in conn.execute("SELECT code FROM parameter")}
    unknown = {m.parameter_code for m in batch.measurements} - known
    if unknown:
        raise ValueError(f"parameter codes not in the catalogue table: {sorted(unknown)}")
    n = 0
    get_id = sample_ids.get
    with conn.cursor().copy(
        f"COPY measurement ({', '.join(MEASUREMENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "int8", "text", "float8", "text", "bool", "float8", "text", "text", "text"])
        write = copy.write_row
        for m in batch.measurements:
            sample_id = get_id(m.sample_key)
            if sample_id is None:
                continue
            write(
                (
                    sample_id,
                    dataset_id,
                    m.parameter_code,
                    m.value,
                    m.unit,
                    bool(m.below_detection_limit),
                    m.detection_limit,
                    m.reported_value,
                    m.reported_unit,
                    str(m.locator) if m.locator else None,
                )
            )
            n += 1
    return n


def link_locations(conn: psycopg.Connection, dataset_id: int, distance_m: float) -> int:
    """Link this dataset's locations to locations of other sources within ``distance_m`` with the same id."""
    return conn.execute(
        """
        INSERT INTO location_link (location_id_a, location_id_b, distance_m, method)
        SELECT least(a.id, b.id), greatest(a.id, b.id), ST_Distance(a.geom, b.geom), 'distance+identifier'
        FROM location a
        JOIN dataset da ON da.id = a.dataset_id
        JOIN location b ON ST_DWithin(a.geom, b.geom, %(d)s) AND b.dataset_id <> a.dataset_id
        JOIN dataset db ON db.id = b.dataset_id AND db.source_id <> da.source_id
        WHERE a.dataset_id = %(ds)s AND lower(a.external_id) = lower(b.external_id)
        ON CONFLICT DO NOTHING
        """,
        {"ds": dataset_id, "d": distance_m},
    ).rowcount
