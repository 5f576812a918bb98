"""Shared pieces of the REST routers: filters, code checks and the page response."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from api.context import Ctx
from api.params import BBoxParams, RestFilters
from api.problems import invalid, not_found, problem_responses
from api.queries.catalog import Layer
from api.queries.features import Query

ERRORS = problem_responses(404, 422, 500, 503)
GemeenteCode = Annotated[
    str, Path(pattern=r"^GM[0-9]{4}$", description="CBS gemeente code, e.g. GM0344 (Utrecht).")
]


def rest_query(layer: Layer, filters: RestFilters | None, bbox: BBoxParams | None) -> Query:
    """A query on ``layer`` with the REST filters (bbox, parameter, klasse, source, from/to)."""
    q = Query(layer)
    box = bbox.parse() if bbox else None
    if box is not None:
        q.bbox(*box)
    if filters is None:
        return q
    c = layer.c
    if filters.parameter is not None:
        if c.parameter_filter is None:
            raise invalid("parameter", f"'parameter' does not apply to {c.id}")
        q.template(c.parameter_filter, filters.parameter)
    if filters.klasse is not None:
        prop = layer.queryables.get("klasse")
        if prop is None:
            raise invalid(
                "klasse", "assessment classes are not available (quality views of migration 0002 absent)"
            )
        q.equals(prop.expr, filters.klasse)
    if filters.source is not None:
        if c.source_filter is None:
            raise invalid("source", f"'source' does not apply to {c.id}")
        q.template(c.source_filter, filters.source)
    if filters.from_ and filters.to and filters.from_ > filters.to:
        raise invalid("to", "'to' is before 'from'")
    if filters.from_ or filters.to:
        if c.datetime is None:
            raise invalid("from", f"{c.id} has no date to filter on")
        q.interval(filters.from_, filters.to)
    return q


async def require_gemeente(ctx: Ctx, code: str) -> str:
    """The gemeente's name; 404 when the code is unknown."""
    async with ctx.pool.acquire() as conn:
        name = await conn.fetchval("SELECT name FROM gemeente WHERE code = $1", code)
    if name is None:
        raise not_found(f"Gemeente '{code}' does not exist; see /gemeenten")
    return name
