"""Soil-quality assessment and data-quality metrics: refreshing and reading the materialized views.

The views and functions are defined by the migrations (first ``0002_quality``, whose SQL is frozen
in ``db/migrations/sql/0002_quality/``; later migrations carry their own changes). Reading a report only selects from the refreshed views; nothing is
recomputed until :func:`refresh` runs.

The classes are judged against the pre-Omgevingswet norms; whether the Omgevingsregeling (2024+)
kept them unchanged is not verified (``soil_norm.verified = false``, column ``norms_verified``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# in dependency order: each view reads only the ones before it (and the base tables)
VIEWS: tuple[str, ...] = (
    "measurement_assessment",
    "sample_assessment",
    "location_assessment",
    "quality_location",
    "quality_gemeente_parameter",
    "quality_gemeente",
    "quality_source",
)

Level = Literal["gemeente", "omgevingsdienst", "provincie"]
LEVELS: tuple[str, ...] = ("gemeente", "omgevingsdienst", "provincie")
PROVINCE_CODE = "PV26"

NORMS_CAVEAT = (
    "Classes use the pre-Omgevingswet soil norms (Regeling bodemkwaliteit, Circulaire bodemsanering "
    "2013); whether the Omgevingsregeling (2024+) kept them unchanged is not verified."
)


class UnknownAreaError(LookupError):
    """A gemeente or omgevingsdienst code that is not in the reference data."""


def views_reading(conn: Connection, tables: Iterable[str]) -> tuple[str, ...]:
    """The quality views (in refresh order) that read any of ``tables``, directly or through other
    views, as the catalogue records it (``pg_depend`` of the views' rewrite rules). A run that wrote
    only BRO tables need not rebuild the assessments of municipal measurements."""
    rows = conn.execute(
        sa.text(
            """
            WITH RECURSIVE reads(view_oid, rel_oid) AS (
                SELECT r.ev_class, d.refobjid
                FROM pg_rewrite r
                JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                                AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
                UNION
                SELECT reads.view_oid, d.refobjid
                FROM reads
                JOIN pg_rewrite r ON r.ev_class = reads.rel_oid
                JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                                AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
            )
            SELECT DISTINCT v.relname
            FROM reads
            JOIN pg_class v ON v.oid = reads.view_oid
            JOIN pg_class t ON t.oid = reads.rel_oid
            WHERE v.relnamespace = current_schema()::regnamespace AND t.relkind IN ('r', 'p')
              AND v.relname = ANY(:views) AND t.relname = ANY(:tables)
            """
        ),
        {"views": list(VIEWS), "tables": list(tables)},
    ).scalars()
    found = set(rows)
    return tuple(v for v in VIEWS if v in found)


def refresh(
    conn: Connection, views: tuple[str, ...] = VIEWS, *, concurrently: bool | None = None
) -> dict[str, float]:
    """Refresh the quality views in dependency order; returns the seconds each view took.

    ``concurrently=None`` (default): ``REFRESH … CONCURRENTLY`` (readers keep reading the old rows)
    when a view is populated and holds rows, a plain refresh when it was never populated or is empty
    (nothing to keep readable, and much faster). ``False``: always plain (faster; readers of a view
    wait while it is rebuilt), e.g. in a maintenance window. ``True``: concurrent wherever possible.
    Runs in the caller's transaction, so the views change together.
    """
    seconds: dict[str, float] = {}
    # JIT compilation costs seconds on these plans (large row estimates) and saves nothing; the
    # sorts and hashes over a million rows should stay in memory. Both restored at the end.
    saved = conn.execute(sa.text("SELECT current_setting('jit'), current_setting('work_mem')")).one()
    conn.execute(sa.text("SELECT set_config('jit', 'off', true), set_config('work_mem', '256MB', true)"))
    for view in views:
        if view not in VIEWS:
            raise ValueError(f"not a quality view: {view!r}; known: {', '.join(VIEWS)}")
        start = time.perf_counter()
        populated = conn.execute(
            sa.text(
                "SELECT ispopulated FROM pg_matviews WHERE schemaname = current_schema() AND matviewname = :v"
            ),
            {"v": view},
        ).scalar()
        if populated is None:
            raise RuntimeError(f"materialized view {view} does not exist: run `grondslag db migrate`")
        if concurrently is None:
            use_concurrent = (
                populated and conn.execute(sa.text(f"SELECT EXISTS (SELECT 1 FROM {view})")).scalar()
            )
        else:
            use_concurrent = concurrently and populated
        if use_concurrent:
            conn.execute(sa.text(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {view}"))
        else:
            conn.execute(sa.text(f"REFRESH MATERIALIZED VIEW {view}"))
            # statistics of an empty view would mislead the plans of the views read from it next;
            # after a concurrent refresh the previous statistics still hold (autovacuum follows up)
            conn.execute(sa.text(f"ANALYZE {view}"))
        seconds[view] = time.perf_counter() - start
    conn.execute(
        sa.text("SELECT set_config('jit', :jit, true), set_config('work_mem', :wm, true)"),
        {"jit": saved[0], "wm": saved[1]},
    )
    return seconds


def _row(mapping: sa.RowMapping) -> dict[str, Any]:
    return dict(mapping)


def resolve_gemeente(conn: Connection, code: str) -> str:
    """The CBS code of a gemeente given as ``GM0344``, ``0344``, ``344`` or its name (any case)."""
    text = code.strip()
    candidate = f"GM{int(text):04d}" if text.isdigit() else text.upper()
    found = conn.execute(
        sa.text("SELECT code FROM gemeente WHERE code = :c OR lower(name) = lower(:n) ORDER BY code LIMIT 1"),
        {"c": candidate, "n": text},
    ).scalar()
    if found is None:
        known = conn.execute(sa.text("SELECT string_agg(code, ', ' ORDER BY code) FROM gemeente")).scalar()
        raise UnknownAreaError(f"unknown gemeente {code!r}; known codes: {known}")
    return found


def resolve_omgevingsdienst(conn: Connection, code: str) -> str:
    """The code of an omgevingsdienst (``ODRU``, ``RUDU``, ``ODU``; any case)."""
    found = conn.execute(
        sa.text("SELECT code FROM omgevingsdienst WHERE upper(code) = upper(:c)"), {"c": code.strip()}
    ).scalar()
    if found is None:
        known = conn.execute(
            sa.text("SELECT string_agg(code, ', ' ORDER BY code) FROM omgevingsdienst")
        ).scalar()
        raise UnknownAreaError(f"unknown omgevingsdienst {code!r}; known codes: {known}")
    return found


def _rename_area(row: dict[str, Any], key: str, name_key: str) -> dict[str, Any]:
    """A roll-up row with ``area_code``/``area_name`` renamed to ``key``/``name_key``, these first."""
    out: dict[str, Any] = {key: row.pop("area_code"), name_key: row.pop("area_name")}
    row.pop("area_level", None)
    out.update(row)
    return out


def report(
    conn: Connection, level: Level | str, code: str | None = None, on_date: date | None = None
) -> list[dict[str, Any]]:
    """Metric rows of the last refresh, one per area.

    ``gemeente``: rows of ``quality_gemeente`` (all 26, or ``code``). ``omgevingsdienst``: each
    omgevingsdienst with member gemeenten on ``on_date`` (default today), or only ``code``.
    ``provincie``: one row for the province (``code`` may be ``PV26``). Keys: ``gemeente_code``,
    ``omgevingsdienst_code`` resp. ``provincie``. Raises :class:`UnknownAreaError` for an unknown code.
    """
    if level == "gemeente":
        if on_date is not None:
            raise ValueError(
                "--date applies to --level omgevingsdienst only (gemeenten do not change by date)"
            )
        sql = "SELECT * FROM quality_gemeente"
        params: dict[str, Any] = {}
        if code is not None:
            sql += " WHERE gemeente_code = :code"
            params["code"] = resolve_gemeente(conn, code)
        rows = conn.execute(sa.text(sql + " ORDER BY gemeente_code"), params).mappings()
        return [_row(r) for r in rows]
    if level == "omgevingsdienst":
        params = {"d": on_date or date.today()}
        sql = "SELECT * FROM quality_omgevingsdienst(:d)"
        if code is not None:
            sql += " WHERE area_code = :code"
            params["code"] = resolve_omgevingsdienst(conn, code)
        rows = conn.execute(sa.text(sql + " ORDER BY area_code"), params).mappings()
        return [_rename_area(_row(r), "omgevingsdienst_code", "omgevingsdienst_name") for r in rows]
    if level == "provincie":
        if on_date is not None:
            raise ValueError("--date applies to --level omgevingsdienst only")
        if code is not None and code.strip().upper() not in (PROVINCE_CODE, "UTRECHT"):
            raise UnknownAreaError(f"unknown provincie {code!r}; Grondslag covers {PROVINCE_CODE} (Utrecht)")
        rows = conn.execute(sa.text("SELECT * FROM quality_provincie()")).mappings()
        return [_rename_area(_row(r), "provincie", "provincie_name") for r in rows]
    raise ValueError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
