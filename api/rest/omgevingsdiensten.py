"""/omgevingsdiensten: ODRU, RUD Utrecht and (from 2026) the Omgevingsdienst Utrecht, on a date."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from api.context import Ctx, context
from api.output import CSV, GEOJSON, features_response, json_response, rows_response
from api.params import CrsDep, FormatDep, PagingDep
from api.problems import Problem, not_found
from api.queries.features import fetch_one
from api.rest.common import ERRORS, rest_query

router = APIRouter(prefix="/omgevingsdiensten", tags=["omgevingsdiensten"], responses=ERRORS)
OdId = Annotated[str, Path(max_length=16, description="Omgevingsdienst code: ODRU, RUDU or ODU.")]
OnDate = Annotated[date | None, Query(alias="date", description="Membership date (default: today).")]
FEATURES_200 = {200: {"content": {GEOJSON: {}, CSV: {}}, "description": "GeoJSON (CSV: members)"}}
METRICS_200 = {200: {"content": {"application/json": {}, CSV: {}}, "description": "Metrics"}}
MEMBERS_SQL = """
SELECT m.gemeente_code AS code,
       coalesce(g.name, CASE WHEN m.gemeente_code LIKE 'PV%' THEN 'Provincie Utrecht' END) AS name,
       m.valid_from, m.valid_to
FROM omgevingsdienst_membership m LEFT JOIN gemeente g ON g.code = m.gemeente_code
WHERE m.omgevingsdienst_code = $1
  AND daterange(coalesce(m.valid_from, '-infinity'::date), coalesce(m.valid_to, 'infinity'::date)) @> $2::date
ORDER BY m.gemeente_code"""


async def _require(ctx: Ctx, od: str) -> str:
    async with ctx.pool.acquire() as conn:
        name = await conn.fetchval("SELECT name FROM omgevingsdienst WHERE code = $1", od)
    if name is None:
        raise not_found(f"Omgevingsdienst '{od}' does not exist; see /omgevingsdiensten")
    return name


@router.get("", summary="Omgevingsdiensten with their area on a date", responses=FEATURES_200)
async def list_omgevingsdiensten(
    ctx: Annotated[Ctx, Depends(context)],
    paging: PagingDep,
    crs: CrsDep,
    fmt: FormatDep,
    on_date: Annotated[
        date | None, Query(alias="date", description="Membership date (default: today).")
    ] = None,
) -> Response:
    q = rest_query(ctx.layer("omgevingsdiensten"), None, None)
    q.on_date = on_date
    f = fmt.pick(ctx.request.headers.get("accept"))
    return await features_response(ctx, q, fmt=f, crs=crs.parse(), paging=paging)


@router.get("/{od}", summary="One omgevingsdienst and its members on a date", responses=FEATURES_200)
async def get_omgevingsdienst(
    od: OdId,
    ctx: Annotated[Ctx, Depends(context)],
    crs: CrsDep,
    fmt: FormatDep,
    on_date: Annotated[
        date | None, Query(alias="date", description="Membership date (default: today).")
    ] = None,
) -> Response:
    """The dissolved area (null when it has no members on the date) and the member list with validity."""
    name = await _require(ctx, od)
    day = on_date or date.today()
    f = fmt.pick(ctx.request.headers.get("accept"))
    q = rest_query(ctx.layer("omgevingsdiensten"), None, None)
    q.on_date = day
    async with ctx.pool.acquire() as conn:
        members = await conn.fetch(MEMBERS_SQL, od, day)
        body = await fetch_one(conn, q, od, crs.parse())
    if f == "csv":
        return rows_response(members, "csv")
    if body is None:
        body = orjson.dumps(
            {"type": "Feature", "id": od, "geometry": None, "properties": {"code": od, "name": name}}
        )
    extra = b',"date":' + orjson.dumps(day) + b',"members":' + orjson.dumps([dict(m) for m in members]) + b"}"
    return Response(body[:-1] + extra, media_type=GEOJSON, headers={"Content-Crs": f"<{crs.parse().uri}>"})


@router.get("/{od}/metrics", summary="Quality metrics of an omgevingsdienst on a date", responses=METRICS_200)
async def omgevingsdienst_metrics(
    od: OdId,
    ctx: Annotated[Ctx, Depends(context)],
    fmt: FormatDep,
    on_date: Annotated[
        date | None, Query(alias="date", description="Membership date (default: today).")
    ] = None,
) -> Response:
    await _require(ctx, od)
    day = on_date or date.today()
    try:
        async with ctx.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM quality_omgevingsdienst($1::date) q WHERE q.area_code = $2", day, od
            )
    except (asyncpg.UndefinedFunctionError, asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError):
        raise Problem(503, "Quality metrics are not available yet (migration 0002 not applied).") from None
    f = fmt.pick(ctx.request.headers.get("accept"))
    if f == "csv":
        return rows_response(rows, "csv")
    return json_response(
        {"omgevingsdienst_code": od, "date": day, "metrics": dict(rows[0]) if rows else None}
    )
