"""Write BRO objects (IMBRO XML or GEF) into ``bro_object`` and its child tables.

Upsert by ``bro_id``: a newer registration replaces the older one (children replaced too). A GEF
file that names a BRO id already registered from IMBRO XML does not overwrite the registration:
it is linked to it (``raw.gef``). GEF files without a BRO id get a stable id ``GEF:<sha8>:<name>``.
The gemeente comes from the polygons (point-in-polygon in PostGIS). Runs on the caller's
connection and transaction.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import psycopg

from etl.records import CPT_COLUMNS, DISSIPATION_COLUMNS, BroObject

FLOAT8_OID = 701
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)  # signature, flags, no extension
COPY_TRAILER = struct.pack("!h", -1)
NULL_FIELD = struct.pack("!i", -1)
DISSIPATION_KEYS = ("columns", "penetration_length", "phenomenon_time", "n_rows")  # own columns


@dataclass(slots=True)
class BroLoadResult:
    inserted: int = 0
    replaced: int = 0
    linked: int = 0  # GEF linked to an existing IMBRO registration
    kept_newer: int = 0  # incoming older than what is stored
    cpt_rows: int = 0
    layers: int = 0
    tubes: int = 0
    bro_ids: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return self.inserted + self.replaced + self.linked


def _json(value: Any) -> str:
    """JSON text of reader attributes (dates as ISO 8601; anything else unknown as its text)."""
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def object_id(obj: BroObject, sha256: str, file_name: str) -> str:
    """The key under which ``obj`` is stored."""
    if obj.bro_id:
        return obj.bro_id
    return (
        f"GEF:{sha256[:8]}:{file_name}" if obj.source_format == "GEF" else f"LOCAL:{sha256[:8]}:{file_name}"
    )


def _version_date(obj: BroObject) -> date | None:
    return obj.registration_date or obj.research_report_date


def upsert_object(
    conn: psycopg.Connection, obj: BroObject, *, dataset_id: int, sha256: str, file_name: str
) -> tuple[str, str]:
    """Store one object; returns (bro_id, action) with action inserted|replaced|linked|kept_newer."""
    bro_id = object_id(obj, sha256, file_name)
    existing = conn.execute(
        "SELECT source_format, coalesce(registration_date, research_report_date) FROM bro_object "
        "WHERE bro_id = %s FOR UPDATE",
        (bro_id,),
    ).fetchone()
    raw = dict(obj.attributes) | {"locator": str(obj.locator) if obj.locator else None}
    if existing:
        stored_format, stored_date = existing
        if obj.source_format == "GEF" and stored_format != "GEF":
            conn.execute(
                "UPDATE bro_object SET raw = jsonb_set(coalesce(raw, '{}'), '{gef}', %s::jsonb) WHERE bro_id = %s",
                (
                    _json({"dataset_id": dataset_id, "file": file_name, "attributes": raw}),
                    bro_id,
                ),
            )
            return bro_id, "linked"
        incoming = _version_date(obj)
        if stored_format != "GEF" and stored_date and incoming and incoming < stored_date:
            return bro_id, "kept_newer"
        conn.execute("DELETE FROM bro_object WHERE bro_id = %s", (bro_id,))
    conn.execute(
        """
        INSERT INTO bro_object (bro_id, object_type, dataset_id, source_format, gemeente_code, source_crs,
            quality_regime, research_report_date, registration_date, delivery_accountable_party, final_depth,
            vertical_datum, "offset", raw, geom)
        SELECT %(id)s, %(type)s, %(ds)s, %(fmt)s,
               (SELECT code FROM gemeente WHERE p.geom IS NOT NULL AND ST_Intersects(geom, p.geom) LIMIT 1),
               %(crs)s, %(qr)s, %(rrd)s, %(rd)s, %(dap)s, %(fd)s, %(vd)s, %(off)s, %(raw)s, p.geom
        FROM (SELECT CASE WHEN %(x)s::float8 IS NULL OR %(y)s::float8 IS NULL THEN NULL
                          ELSE ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 28992) END AS geom) p
        """,
        {
            "id": bro_id,
            "type": obj.object_type,
            "ds": dataset_id,
            "fmt": obj.source_format,
            "crs": obj.source_crs,
            "qr": obj.quality_regime,
            "rrd": obj.research_report_date,
            "rd": obj.registration_date,
            "dap": obj.delivery_accountable_party,
            "fd": obj.final_depth,
            "vd": obj.vertical_datum,
            "off": obj.offset,
            "raw": _json(raw),
            "x": obj.x,
            "y": obj.y,
        },
    )
    _children(conn, bro_id, obj)
    return bro_id, "replaced" if existing else "inserted"


def _children(conn: psycopg.Connection, bro_id: str, obj: BroObject) -> None:
    if obj.cpt is not None and obj.cpt.columns:
        _copy_cpt_data(conn, bro_id, obj.cpt.columns, obj.cpt.n_rows)
    if obj.cpt is not None and obj.cpt.dissipation_tests:  # also a GEF-DISS file: tests, no columns
        _copy_dissipation(conn, bro_id, obj.cpt.dissipation_tests)
    if obj.layers:
        with conn.cursor().copy(
            "COPY bro_borehole_layer (bro_id, seq, upper_boundary, lower_boundary, soil_name, classification, "
            "admixtures, colour, description_kind) FROM STDIN"
        ) as copy:
            for i, layer in enumerate(obj.layers, start=1):
                copy.write_row(
                    (
                        bro_id,
                        i,
                        layer.upper_boundary,
                        layer.lower_boundary,
                        layer.soil_name,
                        layer.classification,
                        _json(layer.admixtures) if layer.admixtures else None,
                        layer.colour,
                        layer.description_kind,
                    )
                )
    for i, tube in enumerate(obj.tubes, start=1):
        conn.execute(
            "INSERT INTO bro_well_tube (bro_id, tube_number, screen_top, screen_bottom, tube_top, tube_type, "
            "attributes) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                bro_id,
                tube.tube_number if tube.tube_number is not None else i,
                tube.screen_top,
                tube.screen_bottom,
                tube.tube_top,
                tube.tube_type,
                _json(tube.attributes) if tube.attributes else None,
            ),
        )


def float8_array(values: Sequence[float | None]) -> bytes:
    """PostgreSQL binary ``float8[]`` (one dimension, lower bound 1; None -> NULL element), via numpy."""
    a = np.asarray(values, dtype=np.float64)  # None -> nan
    n = a.size
    if n == 0:
        return struct.pack("!iiI", 0, 0, FLOAT8_OID)  # PostgreSQL's empty array has no dimensions
    null = np.isnan(a)
    has_null = bool(null.any())
    head = struct.pack("!iiIii", 1, has_null, FLOAT8_OID, n, 1)
    cells = np.empty(n, dtype=[("len", ">i4"), ("value", ">f8")])
    cells["len"] = np.where(null, -1, 8)
    cells["value"] = a
    if not has_null:
        return head + cells.tobytes()
    keep = np.ones((n, 12), dtype=bool)
    keep[null, 4:] = False  # a NULL element is its length (-1) only
    return head + cells.view(np.uint8).reshape(n, 12)[keep].tobytes()


def _field(data: bytes | None) -> bytes:
    return NULL_FIELD if data is None else struct.pack("!i", len(data)) + data


def _jsonb(value: Any) -> bytes | None:
    """Binary jsonb (version 1 + text), None for an empty value."""
    return b"\x01" + _json(value).encode() if value else None


def _copy_binary(
    conn: psycopg.Connection, table: str, columns: list[str], rows: list[list[bytes | None]]
) -> None:
    """One binary COPY of ``rows`` (fields already in PostgreSQL's binary form, None = NULL)."""
    parts = [COPY_HEADER]
    for fields in rows:
        parts.append(struct.pack("!h", len(fields)))
        parts.extend(_field(f) for f in fields)
    parts.append(COPY_TRAILER)
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(b"".join(parts))


def _copy_cpt_data(conn: psycopg.Connection, bro_id: str, cols: dict, n: int) -> None:
    """Store the measurement table as one ``bro_cpt_data`` row: one array per quantity."""
    known = [c for c in CPT_COLUMNS if c in cols]
    unknown = {c: cols[c] for c in cols if c not in CPT_COLUMNS}
    fields = [bro_id.encode(), struct.pack("!i", n), *(float8_array(cols[c]) for c in known)]
    target = ["bro_id", "n_rows", *known]
    if unknown:
        target.append("extra")
        fields.append(_jsonb(unknown))
    _copy_binary(conn, "bro_cpt_data", target, [fields])


def _copy_dissipation(conn: psycopg.Connection, bro_id: str, tests: list[dict[str, Any]]) -> None:
    """Store the dissipation tests, one ``bro_cpt_dissipation`` row each, the series as arrays."""
    rows = []
    for no, test in enumerate(tests, start=1):
        cols = test.get("columns") or {}
        length, when, n_rows = test.get("penetration_length"), test.get("phenomenon_time"), test.get("n_rows")
        rest = {k: v for k, v in test.items() if k not in DISSIPATION_KEYS}
        rows.append(
            [
                bro_id.encode(),
                struct.pack("!i", no),
                None if length is None else struct.pack("!d", length),
                None if when is None else str(when).encode(),
                None if n_rows is None else struct.pack("!i", n_rows),
                *(float8_array(cols[c]) if c in cols else None for c in DISSIPATION_COLUMNS),
                _jsonb({c: v for c, v in cols.items() if c not in DISSIPATION_COLUMNS}),
                _jsonb(rest),
            ]
        )
    columns = ["bro_id", "test_no", "penetration_length", "phenomenon_time", "n_rows", *DISSIPATION_COLUMNS]
    _copy_binary(conn, "bro_cpt_dissipation", [*columns, "extra", "data"], rows)


def load_objects(
    conn: psycopg.Connection, objects: Iterable[BroObject], *, dataset_id: int, sha256: str, file_name: str
) -> BroLoadResult:
    """Upsert all ``objects`` of one file and link them to nearby municipal locations."""
    result = BroLoadResult()
    for obj in objects:
        bro_id, action = upsert_object(conn, obj, dataset_id=dataset_id, sha256=sha256, file_name=file_name)
        setattr(result, action, getattr(result, action) + 1)
        result.bro_ids.append(bro_id)
        if action in ("inserted", "replaced"):
            result.cpt_rows += obj.cpt.n_rows if obj.cpt else 0
            result.layers += len(obj.layers)
            result.tubes += len(obj.tubes)
    return result


def link_bro_to_locations(
    conn: psycopg.Connection, bro_ids: list[str] | None = None, distance_m: float = 5.0
) -> int:
    """Link BRO boreholes/CPTs to municipal locations within ``distance_m`` investigated on the same date."""
    return conn.execute(
        """
        INSERT INTO bro_location_link (location_id, bro_id, distance_m)
        SELECT l.id, b.bro_id, ST_Distance(l.geom, b.geom)
        FROM bro_object b
        JOIN location l ON ST_DWithin(l.geom, b.geom, %(d)s)
        WHERE (%(ids)s::text[] IS NULL OR b.bro_id = ANY(%(ids)s::text[]))
          AND b.research_report_date IS NOT NULL
          AND EXISTS (SELECT 1 FROM sample s WHERE s.location_id = l.id
                      AND s.sample_date = b.research_report_date
                      UNION ALL
                      SELECT 1 FROM investigation i WHERE i.id = l.investigation_id
                      AND i.investigation_date = b.research_report_date)
        ON CONFLICT DO NOTHING
        """,
        {"d": distance_m, "ids": bro_ids},
    ).rowcount
