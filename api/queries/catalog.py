"""Runtime view of the registry: which extensions exist, and a cheap "did the data change" signal.

:class:`DataState` holds the resolved :class:`Layer` per collection and caches that are only valid
for one version of the data (exact counts per filter, extents). The version is read from the database at
most once per ``version_check_seconds``: the newest finished ``etl_run``, the write counters of the
served tables (``pg_stat_user_tables``, for writes outside the ETL) and the migration head. When it
changes, every cache is dropped and the extensions are probed again (so migration 0002 is picked up).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from api.collections import COLLECTIONS, Collection, Prop
from api.sql import json_member, literal_key, plain_identifier

SERVED_TABLES = [
    "location", "sample", "measurement", "investigation", "dataset", "source", "bro_object", "gemeente",
    "omgevingsdienst", "omgevingsdienst_membership", "etl_run", "quarantine",
]  # fmt: skip
VERSION_SQL = """
SELECT (SELECT coalesce(max(id), 0) FROM etl_run WHERE finished_at IS NOT NULL)::text || '.'
    || (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables
        WHERE relname = ANY($1::text[]))::text || '.'
    || coalesce((SELECT string_agg(version_num, ',') FROM alembic_version), '')
"""
OPTIONAL_RELATIONS = (
    "quality_gemeente", "quality_gemeente_parameter", "quality_source", "measurement_assessment",
    "sample_assessment", "location_assessment",
)  # fmt: skip
MAX_CACHED_COUNTS = 4096
MAX_READAHEAD_PAGES = 4
PG_KINDS = {
    "int2": "integer", "int4": "integer", "int8": "integer", "float4": "number", "float8": "number",
    "numeric": "number", "bool": "boolean", "date": "date", "timestamp": "datetime",
    "timestamptz": "datetime",
}  # fmt: skip


@dataclass(frozen=True)
class Layer:
    """A collection with its present extensions resolved into SQL."""

    c: Collection
    from_sql: str
    props: tuple[Prop, ...]  # every output column (static, then extension columns)
    merge_json: str | None  # jsonb of generic extension columns (merged into properties)
    static_props: tuple[Prop, ...]

    @property
    def queryables(self) -> dict[str, Prop]:
        return {p.name: p for p in self.props}

    def properties_json(self) -> str:
        """SQL of the properties object as compact JSON text (concatenated: cheaper than json_build_object)."""
        if self.merge_json:
            pairs = ", ".join(f"{literal_key(p.name)}, {p.expr}" for p in self.static_props)
            return f"(jsonb_build_object({pairs}) || {self.merge_json})::text"
        parts = [
            f"'{'{' if i == 0 else ','}{json_member(p.name)}' || {json_value(p.expr, p.kind)}"
            for i, p in enumerate(self.static_props)
        ]
        return "(" + " || ".join(parts) + " || '}')" if parts else "'{}'"


def json_value(expr: str, kind: str) -> str:
    """SQL rendering ``expr`` as a JSON value (text); NULL becomes ``null``."""
    if kind in ("integer", "boolean"):
        return f"coalesce(({expr})::text, 'null')"
    return f"coalesce(to_json({expr})::text, 'null')"


def _kind(type_name: str) -> str:
    if type_name.startswith("_"):
        return "array"
    return PG_KINDS.get(type_name, "string")


async def probe(conn: asyncpg.Connection, from_item: str) -> list[tuple[str, str]] | None:
    """Columns (name, kind) of a view/function result, or None when it does not exist."""
    try:
        stmt = await conn.prepare(f"SELECT * FROM {from_item} LIMIT 0")
    except (asyncpg.UndefinedTableError, asyncpg.UndefinedFunctionError, asyncpg.InvalidSchemaNameError):
        return None
    return [(a.name, _kind(a.type.name)) for a in stmt.get_attributes()]


async def resolve(conn: asyncpg.Connection, c: Collection) -> Layer:
    """Resolve ``c`` against the database: join the extensions that exist."""
    from_sql, static, extra, merges = c.from_, list(c.props), [], []
    for ext in c.extensions:
        cols = await probe(conn, ext.probe)
        if cols is None:
            continue
        from_sql += " " + ext.join
        if ext.wanted:
            static += [Prop(n, f"{ext.alias}.{n}", k) for n, k in cols if n in ext.wanted]
        else:
            drops = "".join(f" - {literal_key(d)}" for d in ext.drop)
            merges.append(f"coalesce(to_jsonb({ext.alias}){drops}, '{{}}'::jsonb)")
            extra += [
                Prop(n, f'{ext.alias}."{n}"', k) for n, k in cols if n not in ext.drop and plain_identifier(n)
            ]
    merge = " || ".join(merges) or None
    return Layer(c, from_sql, tuple(static + extra), merge, tuple(static))


@dataclass
class DataState:
    """Per-app caches valid for one data version."""

    check_seconds: float = 1.0
    version: str = ""
    generation: int = 0
    layers: dict[str, Layer] = field(default_factory=dict)
    counts: dict[tuple, int] = field(default_factory=dict)
    extents: dict[str, Any] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)  # optional relations (migration 0002) that exist
    pages: OrderedDict[tuple, asyncio.Future] = field(default_factory=OrderedDict)  # read-ahead, LRU
    _checked: float = -1e9
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def etag(self) -> str:
        digest = hashlib.sha1(f"{self.version}/{self.generation}".encode()).hexdigest()[:16]
        return f'W/"{digest}"'

    async def ensure(self, pool: asyncpg.Pool) -> None:
        """Re-read the version signal when it is older than ``check_seconds``; reset caches on change."""
        if time.monotonic() - self._checked < self.check_seconds and self.layers:
            return
        async with self._lock:
            if time.monotonic() - self._checked < self.check_seconds and self.layers:
                return
            async with pool.acquire() as conn:
                version = await conn.fetchval(VERSION_SQL, SERVED_TABLES)
                if version != self.version or not self.layers:
                    self.layers = {cid: await resolve(conn, c) for cid, c in COLLECTIONS.items()}
                    found = await conn.fetch(
                        "SELECT n FROM unnest($1::text[]) n WHERE to_regclass(n) IS NOT NULL",
                        OPTIONAL_RELATIONS,
                    )
                    self.present = {r[0] for r in found}
                    self.counts.clear()
                    self.extents.clear()
                    self.drop_pages()
                    self.version = version
            self._checked = time.monotonic()

    def remember_page(self, key: tuple, page: asyncio.Future) -> None:
        """Keep a (future) page for a bulk reader; at most ``MAX_READAHEAD_PAGES``, oldest dropped."""
        self.pages[key] = page
        while len(self.pages) > MAX_READAHEAD_PAGES:
            _, old = self.pages.popitem(last=False)
            old.cancel()

    def drop_pages(self) -> None:
        for page in self.pages.values():
            page.cancel()
        self.pages.clear()

    def remember_count(self, key: tuple, n: int) -> None:
        """Cache an exact count for this data version (bounded: cleared when it grows past the limit)."""
        if len(self.counts) >= MAX_CACHED_COUNTS:
            self.counts.clear()
        self.counts[key] = n

    def invalidate(self) -> None:
        """Drop every cache now (POST /etl/refresh-cache)."""
        self.generation += 1
        self.counts.clear()
        self.extents.clear()
        self.drop_pages()
        self.layers = {}
        self._checked = -1e9
