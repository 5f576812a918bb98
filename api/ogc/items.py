"""OGC API – Features items: pages of GeoJSON built by PostGIS, and single features."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from api.context import Ctx, context, link
from api.ogc import cql2
from api.ogc.landing import JSON
from api.output import CSV, GEOJSON, feature_response, features_response
from api.params import (
    BBoxDep,
    BBoxParams,
    CrsDep,
    FilterDep,
    FilterParams,
    FormatDep,
    PagingDep,
    parse_crs,
    parse_interval,
)
from api.problems import Problem, invalid, not_found, problem_responses
from api.queries.catalog import Layer
from api.queries.features import Query, fetch_one

router = APIRouter(
    prefix="/ogc", tags=["OGC API – Features"], responses=problem_responses(400, 404, 422, 500, 503)
)
RESERVED = {
    "f", "limit", "offset", "after", "before", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang",
    "filter-crs",
}  # fmt: skip
CollectionId = Annotated[str, Path(alias="collectionId", max_length=64, description="Collection id.")]
FEATURES_200 = {200: {"content": {GEOJSON: {}, CSV: {}}, "description": "A page of features"}}


def _typed(kind: str, name: str, raw: str) -> Any:
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "date":
            return date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, f"'{raw}' is not a valid {kind} for '{name}'") from None
    if kind == "boolean":
        if raw.lower() not in ("true", "false"):
            raise invalid(name, f"'{name}' must be true or false")
        return raw.lower() == "true"
    return raw


def property_filters(q: Query, params: list[tuple[str, str]]) -> None:
    """``?name=value`` for queryables; unknown parameters are a 400 naming them."""
    queryables = q.layer.queryables
    for name, raw in params:
        if name in RESERVED:
            continue
        prop = queryables.get(name)
        if prop is None:
            raise Problem(400, f"Unknown query parameter '{name}'", param=name, kind="unknown-parameter")
        if prop.kind == "array":
            q.filter(f"{q.args.add(raw, 'text')} = ANY({prop.expr})")
        else:
            q.equals(prop.expr, _typed(prop.kind, name, raw))


def build_query(
    layer: Layer, ctx: Ctx, bbox: BBoxParams, filters: FilterParams, crs_param: str | None
) -> Query:
    """The items query for the OGC request (bbox, datetime, CQL2, property filters)."""
    q = Query(layer)
    if layer.c.on_date:
        span = parse_interval(filters.datetime)
        if span is not None and span[0] != span[1]:
            raise invalid("datetime", "give one date: the membership date of the omgevingsdiensten")
        q.on_date = span[0] if span else None
    else:
        span = parse_interval(filters.datetime)
        if span is not None:
            if layer.c.datetime is None:
                raise invalid("datetime", f"collection '{layer.c.id}' has no temporal property")
            q.interval(*span)
    box = bbox.parse()
    if box is not None:
        q.bbox(*box)
    if filters.filter:
        filter_crs = parse_crs(filters.filter_crs, "filter-crs")
        q.filter(cql2.to_sql(filters.filter, layer, q.args, filter_crs))
    property_filters(q, ctx.request.query_params.multi_items())
    return q


@router.get("/collections/{collectionId}/items", summary="Features of a collection", responses=FEATURES_200)
async def items(
    collection_id: CollectionId,
    ctx: Annotated[Ctx, Depends(context)],
    paging: PagingDep,
    bbox: BBoxDep,
    crs: CrsDep,
    filters: FilterDep,
    fmt: FormatDep,
) -> Response:
    """GeoJSON (default) or CSV. Property filters: ``?<queryable>=<value>``. Paging follows ``next``."""
    layer = ctx.layer(collection_id)
    f = fmt.pick(ctx.request.headers.get("accept"), ("json", "csv"))
    q = build_query(layer, ctx, bbox, filters, crs.crs)
    coll = ctx.url(f"/ogc/collections/{layer.c.id}")
    links = [
        link(ctx.self_url(f="csv"), "alternate", "text/csv", "This page as CSV"),
        link(coll, "collection", JSON, layer.c.title),
    ]
    return await features_response(ctx, q, fmt=f, crs=crs.parse(), paging=paging, links=links)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature",
    responses={200: {"content": {GEOJSON: {}}, "description": "A feature"}},
)
async def item(
    collection_id: CollectionId,
    feature_id: Annotated[str, Path(alias="featureId", max_length=64, description="Feature id.")],
    ctx: Annotated[Ctx, Depends(context)],
    crs: CrsDep,
    filters: FilterDep,
) -> Response:
    layer = ctx.layer(collection_id)
    out_crs = crs.parse()
    q = Query(layer)
    if layer.c.on_date:
        span = parse_interval(filters.datetime)
        q.on_date = span[0] if span else None
    async with ctx.pool.acquire() as conn:
        body = await fetch_one(conn, q, feature_id, out_crs)
    if body is None:
        raise not_found(f"Feature '{feature_id}' does not exist in collection '{collection_id}'")
    base = f"/ogc/collections/{layer.c.id}"
    links = [
        link(ctx.self_url(), "self", GEOJSON, "This feature"),
        link(ctx.url(base), "collection", JSON, layer.c.title),
    ]
    return feature_response(body, links, out_crs)
