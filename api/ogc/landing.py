"""OGC API landing page, conformance declaration and the OpenAPI 3.0 service description."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.context import Ctx, context, link
from api.ogc import html
from api.ogc.openapi30 import MEDIA_TYPE, ogc_openapi30
from api.output import json_response
from api.params import PageFormatDep
from api.problems import problem_responses

router = APIRouter(prefix="/ogc", tags=["OGC API – common"], responses=problem_responses(422, 500, 503))
JSON = "application/json"
F1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
F2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/"
F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
TMS = "http://www.opengis.net/spec/tms/2.0/conf/"
CONFORMANCE = [
    *(F1 + c for c in ("core", "geojson", "oas30", "html")),
    F2 + "crs",
    *(F3 + c for c in ("filter", "features-filter", "queryables", "queryables-query-parameters")),
    *(CQL2 + c for c in ("cql2-text", "basic-cql2", "advanced-comparison-operators")),
    *(CQL2 + c for c in ("basic-spatial-functions", "basic-spatial-functions-plus", "spatial-functions")),
    *(TILES + c for c in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt", "oas30")),
    *(TMS + c for c in ("tilematrixset", "json-tilematrixset")),
]
HTML_JSON = {"content": {JSON: {}, "text/html": {}}}


@router.get("", summary="Landing page", responses={200: HTML_JSON})
async def landing(ctx: Annotated[Ctx, Depends(context)], fmt: PageFormatDep) -> Response:
    f = fmt.pick(ctx.request.headers.get("accept"), ("json", "html"))
    links = [
        link(ctx.url("/ogc"), "self", JSON, "This document"),
        link(ctx.url("/ogc", {"f": "html"}), "alternate", "text/html", "This document as HTML"),
        link(ctx.url("/ogc/api"), "service-desc", MEDIA_TYPE, "The API definition (OpenAPI 3.0)"),
        link(ctx.url("/docs"), "service-doc", "text/html", "The API documentation"),
        link(ctx.url("/ogc/conformance"), "conformance", JSON, "Conformance classes"),
        link(ctx.url("/ogc/collections"), "data", JSON, "Feature collections"),
        link(ctx.url("/ogc/tileMatrixSets"), "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", JSON,
             "Tile matrix sets"),
    ]  # fmt: skip
    doc = {
        "title": "Grondslag – soil information, province of Utrecht",
        "description": "Harmonised municipal soil data and BRO objects as OGC API – Features (GeoJSON, "
        "CRS84/EPSG:4326/EPSG:28992, CQL2 filters) and vector tiles.",
        "links": links,
    }
    if f == "html":
        return html.page(
            doc["title"], doc["description"], html.links_html(links), ctx.url("/ogc", {"f": "json"})
        )
    return json_response(doc)


@router.get("/conformance", summary="Conformance declaration", responses={200: HTML_JSON})
async def conformance(ctx: Annotated[Ctx, Depends(context)], fmt: PageFormatDep) -> Response:
    f = fmt.pick(ctx.request.headers.get("accept"), ("json", "html"))
    if f == "html":
        body = "<ul>" + "".join(f"<li><code>{html.escape(c)}</code></li>" for c in CONFORMANCE) + "</ul>"
        return html.page("Conformance", "Conformance classes", body, ctx.url("/ogc/conformance"))
    return json_response({"conformsTo": CONFORMANCE})


@router.get("/api", summary="API definition (OpenAPI 3.0)", responses={200: {"content": {MEDIA_TYPE: {}}}})
async def api_definition(request: Request) -> Response:
    return json_response(ogc_openapi30(request.app.openapi()), MEDIA_TYPE)
