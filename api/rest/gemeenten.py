"""/gemeenten: the 26 gemeenten, their locations, BRO objects and quality metrics."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.context import Ctx, context, link
from api.output import CSV, GEOJSON, feature_response, features_response, json_response, rows_response
from api.params import (
    BBoxDep,
    CrsDep,
    FormatDep,
    Paging,
    PagingDep,
    RestFiltersDep,
)
from api.problems import Problem, invalid, not_found
from api.queries.features import fetch_one
from api.rest.common import ERRORS, GemeenteCode, require_gemeente, rest_query

router = APIRouter(prefix="/gemeenten", tags=["gemeenten"], responses=ERRORS)
PAGE_200 = {200: {"content": {GEOJSON: {}, CSV: {}}, "description": "GeoJSON FeatureCollection or CSV"}}
METRICS_200 = {200: {"content": {"application/json": {}, CSV: {}}, "description": "Metrics"}}
BRO_TYPES = ("CPT", "BHR-GT", "BHR-P", "BHR-G", "GMW")


@router.get("", summary="All gemeenten with omgevingsdienst and headline metrics", responses=PAGE_200)
async def list_gemeenten(
    ctx: Annotated[Ctx, Depends(context)],
    paging: PagingDep,
    crs: CrsDep,
    fmt: FormatDep,
) -> Response:
    q = rest_query(ctx.layer("gemeenten"), None, None)
    f = fmt.pick(ctx.request.headers.get("accept"))
    return await features_response(ctx, q, fmt=f, crs=crs.parse(), paging=paging)


@router.get("/{code}", summary="One gemeente", responses=PAGE_200)
async def get_gemeente(
    code: GemeenteCode,
    ctx: Annotated[Ctx, Depends(context)],
    crs: CrsDep,
    fmt: FormatDep,
) -> Response:
    layer = ctx.layer("gemeenten")
    f = fmt.pick(ctx.request.headers.get("accept"))
    if f == "csv":
        q = rest_query(layer, None, None)
        q.equals("t.code", code)
        return await features_response(ctx, q, fmt=f, crs=crs.parse(), paging=Paging(limit=1))
    async with ctx.pool.acquire() as conn:
        body = await fetch_one(conn, rest_query(layer, None, None), code, crs.parse())
    if body is None:
        raise not_found(f"Gemeente '{code}' does not exist; see /gemeenten")
    related = (("locations", GEOJSON), ("metrics", "application/json"), ("bro", GEOJSON))
    links = [link(ctx.url(f"/gemeenten/{code}/{p}"), "related", t, p) for p, t in related]
    return feature_response(body, links, crs.parse())


@router.get("/{code}/locations", summary="Locations in a gemeente", responses=PAGE_200)
async def gemeente_locations(
    code: GemeenteCode,
    ctx: Annotated[Ctx, Depends(context)],
    paging: PagingDep,
    bbox: BBoxDep,
    filters: RestFiltersDep,
    crs: CrsDep,
    fmt: FormatDep,
) -> Response:
    """Filters: bbox (+bbox-crs), parameter, klasse, source, from/to (investigation date)."""
    await require_gemeente(ctx, code)
    q = rest_query(ctx.layer("locations"), filters, bbox)
    q.equals("t.gemeente_code", code)
    f = fmt.pick(ctx.request.headers.get("accept"))
    return await features_response(ctx, q, fmt=f, crs=crs.parse(), paging=paging)


@router.get("/{code}/bro", summary="BRO objects in a gemeente", responses=PAGE_200)
async def gemeente_bro(
    code: GemeenteCode,
    ctx: Annotated[Ctx, Depends(context)],
    paging: PagingDep,
    bbox: BBoxDep,
    crs: CrsDep,
    fmt: FormatDep,
    type_: Annotated[
        str | None, Query(alias="type", description=f"Object type: {', '.join(BRO_TYPES)}.")
    ] = None,
) -> Response:
    await require_gemeente(ctx, code)
    if type_ is not None and type_ not in BRO_TYPES:
        raise invalid("type", f"type must be one of {', '.join(BRO_TYPES)}")
    q = rest_query(ctx.layer("bro_objects", ogc=False), None, bbox)
    q.equals("t.gemeente_code", code)
    if type_:
        q.equals("t.object_type", type_)
    f = fmt.pick(ctx.request.headers.get("accept"))
    return await features_response(ctx, q, fmt=f, crs=crs.parse(), paging=paging)


@router.get("/{code}/metrics", summary="Data quality and soil quality of a gemeente", responses=METRICS_200)
async def gemeente_metrics(
    code: GemeenteCode, ctx: Annotated[Ctx, Depends(context)], fmt: FormatDep
) -> Response:
    """``metrics``: the row of quality_gemeente; ``parameters``: quality_gemeente_parameter (CSV: these)."""
    f = fmt.pick(ctx.request.headers.get("accept"))
    try:
        async with ctx.pool.acquire() as conn:
            metrics = await conn.fetchval(
                "SELECT (to_jsonb(q) - 'gemeente_code')::text FROM quality_gemeente q "
                "WHERE q.gemeente_code = $1",
                code,
            )
            params = await conn.fetch(
                "SELECT * FROM quality_gemeente_parameter WHERE gemeente_code = $1 ORDER BY parameter_code",
                code,
            )
    except asyncpg.UndefinedTableError:
        raise Problem(503, "Quality metrics are not available yet (migration 0002 not applied).") from None
    if metrics is None:
        await require_gemeente(ctx, code)
    if f == "csv":
        return rows_response(params, "csv")
    doc = {
        "gemeente_code": code,
        "metrics": orjson.Fragment(metrics) if metrics else None,
        "parameters": [dict(r) for r in params],
    }
    return json_response(doc)
