"""Feature pages built entirely by PostGIS: one statement per page returns the finished bytes.

The statement orders by the collection id, fetches ``limit + 1`` rows (the extra one only tells
whether a next page exists), renders each feature with ``ST_AsGeoJSON`` and a concatenated properties
object (or a CSV line) and joins them with ``string_agg``; the bytes are returned as ``bytea`` and
written to the response without being parsed. ``numberMatched`` is exact: computed in the same statement the first
time a filter (or the unfiltered collection) is seen, then taken from the per-data-version cache
(:class:`~api.queries.catalog.DataState`), which is dropped when a newer ETL run finishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from typing import Any

import asyncpg

from api.params import CrsDef
from api.queries.catalog import Layer
from api.sql import Args, Where, bbox_condition, csv_field, geometry_out


@dataclass
class Query:
    """A feature query: the layer, its filters (``where``), arguments and the membership date."""

    layer: Layer
    args: Args = field(default_factory=Args)
    where: Where = field(default_factory=Where)
    filtered: bool = False  # user filters present (a database error then blames the filter)
    on_date: date | None = None
    _from: str | None = None

    def __post_init__(self) -> None:
        if self.layer.c.where:
            self.where.add(self.layer.c.where)

    @property
    def from_sql(self) -> str:
        if self._from is None:
            sql = self.layer.from_sql
            if "{on_date}" in sql:
                sql = sql.replace("{on_date}", self.args.add(self.on_date or date.today(), "date"))
            self._from = sql
        return self._from

    def filter(self, condition: str) -> None:
        self.where.add(condition)
        self.filtered = True

    def bbox(self, box: tuple[float, float, float, float], srid: int) -> None:
        self.filter(bbox_condition(self.layer.c.geom, box, srid, self.args))

    def interval(self, start: date | None, end: date | None) -> None:
        col = self.layer.c.datetime
        if col is None:
            return
        if start is not None:
            self.filter(f"{col} >= {self.args.add(start, 'date')}")
        if end is not None:
            self.filter(f"{col} <= {self.args.add(end, 'date')}")

    def equals(self, expr: str, value: Any, cast: str | None = None) -> None:
        self.filter(f"{expr} = {self.args.add(value, cast)}")

    def template(self, template: str, value: Any) -> None:
        self.filter(template.replace("{value}", self.args.add(value)))

    @cached_property
    def cache_key(self) -> tuple:
        """Identifies the set of matching features: collection, date, and the filter SQL with its values."""
        from_sql = self.from_sql  # binds the date argument first
        return (from_sql, self.where.sql(), tuple(repr(v) for v in self.args.values))


@dataclass
class Page:
    body: bytes
    returned: int
    more: bool
    first_id: str | None
    last_id: str | None
    matched: int | None


@lru_cache(maxsize=256)
def feature_sql(layer: Layer, crs: CrsDef) -> str:
    """SQL text of one GeoJSON feature (a text value)."""
    geom = geometry_out(layer.c.geom, crs.srid, crs.flip)
    return (
        f"""'{{"type":"Feature","id":' || to_json({layer.c.id_expr})::text"""
        f""" || ',"geometry":' || coalesce(ST_AsGeoJSON({geom}, {crs.digits}), 'null')"""
        f""" || ',"properties":' || {layer.properties_json()} || '}}'"""
    )


@lru_cache(maxsize=256)
def csv_columns(layer: Layer, crs: CrsDef) -> tuple[tuple[str, ...], str]:
    """(header names, SQL of one CSV line). Point layers get x/y columns in ``crs``."""
    names = ["id"]
    fields = [csv_field(layer.c.id_expr, layer.c.id_kind)]
    if layer.c.geometry_type == "Point":
        geom = geometry_out(layer.c.geom, crs.srid, crs.flip)
        names += ["x", "y"]
        fields += [f"coalesce(round(ST_X({geom})::numeric, {crs.digits})::text, '')"]
        fields += [f"coalesce(round(ST_Y({geom})::numeric, {crs.digits})::text, '')"]
    names += [p.name for p in layer.props]
    fields += [csv_field(p.expr, p.kind) for p in layer.props]
    return tuple(names), " || ',' || ".join(fields)


def page_sql(
    q: Query,
    row_sql: str,
    *,
    limit: int,
    offset: int = 0,
    key: str | None = None,
    descending: bool = False,
    cached_count: int | None = None,
    want_count: bool = True,
    separator: str = ",",
) -> tuple[str, list[Any]]:
    """The page statement and its arguments; ``row_sql`` renders one item (feature JSON or CSV line)."""
    c = q.layer.c
    from_sql = q.from_sql  # adds the date argument first when needed
    where = q.where.copy()
    args = Args(list(q.args.values))
    if key is not None:
        value = int(key) if c.id_kind == "integer" else key
        where.add(f"{c.id_expr} {'<' if descending else '>'} {args.add(value)}")
    n = args.add(limit, "bigint")
    off = args.add(offset, "bigint")
    sep = args.add(separator)
    if not want_count:
        count_sql = "NULL::bigint"
    elif cached_count is not None:
        count_sql = args.add(cached_count, "bigint")
    else:
        count_sql = f"(SELECT count(*) FROM {from_sql}{q.where.sql()})"
    order = "DESC" if descending else ""
    agg_order = " ORDER BY _id" if descending else ""
    sql = f"""
WITH page AS (
    SELECT {c.id_expr} AS _id, {row_sql} AS _f FROM {from_sql}{where.sql()}
    ORDER BY {c.id_expr} {order} LIMIT {n} + 1 OFFSET {off}
), r AS (SELECT _id, _f, row_number() OVER (ORDER BY _id {order}) AS _rn FROM page)
SELECT convert_to(coalesce(string_agg(_f, {sep}{agg_order}) FILTER (WHERE _rn <= {n}), ''), 'UTF8'),
       count(*) FILTER (WHERE _rn <= {n}), count(*) > {n},
       (min(_id) FILTER (WHERE _rn <= {n}))::text, (max(_id) FILTER (WHERE _rn <= {n}))::text,
       {count_sql}
FROM r"""
    return sql, args.values


async def fetch_page(conn: asyncpg.Connection, q: Query, row_sql: str, **options: Any) -> Page:
    """Run the page statement (see :func:`page_sql` for the options)."""
    sql, args = page_sql(q, row_sql, **options)
    row = await conn.fetchrow(sql, *args)
    return Page(bytes(row[0]), row[1], row[2], row[3], row[4], row[5])


async def fetch_one(conn: asyncpg.Connection, q: Query, fid: str, crs: CrsDef) -> bytes | None:
    """One feature's GeoJSON bytes, or None."""
    c = q.layer.c
    from_sql = q.from_sql
    where = q.where.copy()
    args = Args(list(q.args.values))
    if c.id_kind == "integer":
        if not fid.lstrip("-").isdigit() or len(fid) > 18:
            return None
        where.add(f"{c.id_expr} = {args.add(int(fid))}")
    else:
        where.add(f"{c.id_expr} = {args.add(fid)}")
    sql = f"SELECT convert_to({feature_sql(q.layer, crs)}, 'UTF8') FROM {from_sql}{where.sql()} LIMIT 1"
    value = await conn.fetchval(sql, *args.values)
    return bytes(value) if value is not None else None


async def count(conn: asyncpg.Connection, q: Query) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {q.from_sql}{q.where.sql()}", *q.args.values)
