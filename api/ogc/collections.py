"""OGC collections: list, one collection's metadata (extent, CRS, links) and its queryables."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from api.context import Ctx, context, link
from api.ogc import html
from api.ogc.landing import HTML_JSON, JSON
from api.output import GEOJSON, json_response
from api.params import CRS84, CRS_LIST, EPSG28992, PageFormatDep
from api.problems import problem_responses
from api.queries.catalog import Layer
from api.queries.features import Query

router = APIRouter(
    prefix="/ogc", tags=["OGC API – Features"], responses=problem_responses(404, 422, 500, 503)
)
CollectionId = Annotated[str, Path(description="Collection id (see /ogc/collections).", max_length=64)]
SCHEMA_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean", "array": "array"}
MVT = "application/vnd.mapbox-vector-tile"


async def extent(ctx: Ctx, layer: Layer) -> dict[str, Any]:
    """Spatial (CRS84) and temporal extent, cached per data version."""
    cached = ctx.state.extents.get(layer.c.id)
    if cached is not None:
        return cached
    q = Query(layer)
    c = layer.c
    t0, t1 = (f"min({c.datetime})::text", f"max({c.datetime})::text") if c.datetime else ("NULL", "NULL")
    sql = f"""
SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b), ST_XMin(m), ST_YMin(m), ST_XMax(m), ST_YMax(m), t0, t1
FROM (SELECT ST_Transform(ST_Segmentize(ST_SetSRID(e::geometry, 28992), 1000), 4326) AS b,
             ST_Transform(ST_SetSRID(e::geometry, 28992), 3857) AS m, t0, t1
      FROM (SELECT ST_Extent({c.geom}) AS e, {t0} AS t0, {t1} AS t1
            FROM {q.from_sql}{q.where.sql()}) s) x"""
    async with ctx.pool.acquire() as conn:
        row = await conn.fetchrow(sql, *q.args.values)
    out: dict[str, Any] = {}
    if row[0] is not None:
        out["spatial"] = {"bbox": [[round(v, 6) for v in row[0:4]]], "crs": CRS84}
        out["_mercator"] = list(row[4:8])
    if c.datetime:
        out["temporal"] = {
            "interval": [[row[8], row[9]]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    ctx.state.extents[layer.c.id] = out
    return out


async def describe(ctx: Ctx, layer: Layer) -> dict[str, Any]:
    c = layer.c
    base = f"/ogc/collections/{c.id}"
    links = [
        link(ctx.url(base), "self", JSON, "This collection"),
        link(ctx.url(base, {"f": "html"}), "alternate", "text/html", "This collection as HTML"),
        link(ctx.url(base + "/items"), "items", GEOJSON, "Features"),
        link(ctx.url(base + "/items", {"f": "csv"}), "items", "text/csv", "Features as CSV"),
        link(ctx.url(base + "/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "application/schema+json", "Queryables"),
    ]  # fmt: skip
    if c.tiles:
        links.append(
            link(
                ctx.url(base + "/tiles"),
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                JSON,
                "Vector tilesets",
            )  # fmt: skip
        )
    ext = {k: v for k, v in (await extent(ctx, layer)).items() if not k.startswith("_")}
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "extent": ext,
        "crs": CRS_LIST,
        "storageCrs": EPSG28992,
        "links": links,
    }


def _html_collection(ctx: Ctx, doc: dict[str, Any]) -> Response:
    body = html.links_html(doc["links"]) + f"<p>Supported CRS: {html.escape(', '.join(doc['crs']))}</p>"
    return html.page(doc["title"], doc["description"], body, ctx.url(f"/ogc/collections/{doc['id']}"))


@router.get("/collections", summary="Feature collections", responses={200: HTML_JSON})
async def collections(ctx: Annotated[Ctx, Depends(context)], fmt: PageFormatDep) -> Response:
    f = fmt.pick(ctx.request.headers.get("accept"), ("json", "html"))
    docs = [await describe(ctx, layer) for layer in ctx.state.layers.values() if layer.c.ogc]
    doc = {
        "links": [
            link(ctx.url("/ogc/collections"), "self", JSON, "This document"),
            link(ctx.url("/ogc/collections", {"f": "html"}), "alternate", "text/html", "As HTML"),
        ],
        "collections": docs,
        "crs": CRS_LIST,
    }
    if f == "html":
        rows = [[html.a(ctx.url(f"/ogc/collections/{d['id']}", {"f": "html"}), d["title"]),
                 html.escape(d["description"])] for d in docs]  # fmt: skip
        body = html.table_html(["collection", "description"], rows)
        return html.page("Collections", "Feature collections of Grondslag", body, ctx.url("/ogc/collections"))
    return json_response(doc)


@router.get("/collections/{collectionId}", summary="One feature collection", responses={200: HTML_JSON})
async def collection(
    collection_id: Annotated[str, Path(alias="collectionId", max_length=64, description="Collection id.")],
    ctx: Annotated[Ctx, Depends(context)],
    fmt: PageFormatDep,
) -> Response:
    f = fmt.pick(ctx.request.headers.get("accept"), ("json", "html"))
    doc = await describe(ctx, ctx.layer(collection_id))
    return _html_collection(ctx, doc) if f == "html" else json_response(doc)


@router.get(
    "/collections/{collectionId}/queryables",
    summary="Queryable properties (JSON Schema)",
    responses={200: {"content": {"application/schema+json": {}}}},
)
async def queryables(
    collection_id: Annotated[str, Path(alias="collectionId", max_length=64, description="Collection id.")],
    ctx: Annotated[Ctx, Depends(context)],
) -> Response:
    layer = ctx.layer(collection_id)
    props: dict[str, Any] = {
        "geometry": {
            "title": "geometry",
            "format": f"geometry-{layer.c.geometry_type.lower()}",
            "x-ogc-role": "primary-geometry",
        }
    }
    for p in layer.props:
        schema: dict[str, Any] = {"title": p.name, "type": SCHEMA_TYPES.get(p.kind, "string")}
        if p.kind in ("date", "datetime"):
            schema["format"] = "date" if p.kind == "date" else "date-time"
        props[p.name] = schema
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ctx.url(f"/ogc/collections/{collection_id}/queryables"),
        "type": "object",
        "title": layer.c.title,
        "properties": props,
        "additionalProperties": False,
    }
    return json_response(doc, "application/schema+json")
