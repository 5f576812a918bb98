"""Vector tiles (OGC API – Tiles, WebMercatorQuad) built by ``ST_AsMVT``, plus tileset metadata.

Tiles carry a weak ETag of the data version (it changes when an ETL run finishes); a matching
``If-None-Match`` is answered 304 without touching the database, and tiles outside the collection's
extent are answered 204 without a query. Non-empty tiles are one statement.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from api.context import Ctx, context, link
from api.ogc.collections import MVT, extent
from api.ogc.landing import JSON
from api.output import json_response
from api.params import CRS84
from api.problems import not_found, problem_responses
from api.queries.catalog import Layer
from api.queries.features import Query
from api.sql import STORAGE_SRID

router = APIRouter(prefix="/ogc", tags=["OGC API – Tiles"], responses=problem_responses(404, 422, 500, 503))
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
ORIGIN = 20037508.3427892
MAX_ZOOM = 22
EXTENT, BUFFER = 4096, 64
CollectionId = Annotated[str, Path(alias="collectionId", max_length=64, description="Collection id.")]
TmsId = Annotated[str, Path(alias="tileMatrixSetId", description="Tile matrix set (only WebMercatorQuad).")]


def tile_matrix_set() -> dict[str, Any]:
    """The WebMercatorQuad definition (OGC Two Dimensional Tile Matrix Set 2.0)."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        cell = 2 * ORIGIN / 256 / 2**z
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": cell / 0.00028,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-ORIGIN, ORIGIN],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": 2**z,
                "matrixHeight": 2**z,
            }  # fmt: skip
        )
    return {
        "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }  # fmt: skip


def _tiled(ctx: Ctx, collection_id: str, tms: str) -> Layer:
    layer = ctx.layer(collection_id)
    if not layer.c.tiles:
        raise not_found(f"Collection '{collection_id}' has no vector tiles")
    if tms != TMS_ID:
        raise not_found(f"Tile matrix set '{tms}' is not offered; use {TMS_ID}")
    return layer


def _template(ctx: Ctx, cid: str) -> str:
    return ctx.url(f"/ogc/collections/{cid}/tiles/{TMS_ID}") + "/{tileMatrix}/{tileCol}/{tileRow}"


@router.get("/tileMatrixSets", summary="Tile matrix sets")
async def tile_matrix_sets(ctx: Annotated[Ctx, Depends(context)]) -> Response:
    href = ctx.url(f"/ogc/tileMatrixSets/{TMS_ID}")
    return json_response({"tileMatrixSets": [{"id": TMS_ID, "title": TMS_ID, "uri": TMS_URI,
                                              "links": [link(href, "self", JSON, TMS_ID)]}]})  # fmt: skip


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="A tile matrix set definition")
async def tile_matrix_set_doc(tms: TmsId) -> Response:
    if tms != TMS_ID:
        raise not_found(f"Tile matrix set '{tms}' is not offered; use {TMS_ID}")
    return json_response(tile_matrix_set())


@router.get("/collections/{collectionId}/tiles", summary="Vector tilesets of a collection")
async def tilesets(collection_id: CollectionId, ctx: Annotated[Ctx, Depends(context)]) -> Response:
    layer = _tiled(ctx, collection_id, TMS_ID)
    base = ctx.url(f"/ogc/collections/{layer.c.id}/tiles/{TMS_ID}")
    return json_response({"tilesets": [{
        "title": f"{layer.c.title} ({TMS_ID})", "dataType": "vector", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": TMS_URI,
        "links": [link(base, "self", JSON, "Tileset metadata"),
                  link(ctx.url(f"/ogc/tileMatrixSets/{TMS_ID}"),
                       "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", JSON, TMS_ID),
                  link(_template(ctx, layer.c.id), "item", MVT, "Tiles")],
    }]})  # fmt: skip


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", summary="Tileset metadata")
async def tileset(collection_id: CollectionId, tms: TmsId, ctx: Annotated[Ctx, Depends(context)]) -> Response:
    layer = _tiled(ctx, collection_id, tms)
    bbox = await _bbox(ctx, layer)
    schema = {p.name: {"type": "string" if p.kind in ("date", "array") else p.kind} for p in layer.props}
    tilejson_url = ctx.url(f"/ogc/collections/{layer.c.id}/tiles/{TMS_ID}/tilejson.json")
    return json_response(
        {
            "title": layer.c.title,
            "dataType": "vector",
            "tileMatrixSetURI": TMS_URI,
            "crs": MERCATOR,
            "boundingBox": {"lowerLeft": bbox[:2], "upperRight": bbox[2:], "crs": CRS84},
            "layers": [
                {
                    "id": layer.c.id,
                    "dataType": "vector",
                    "geometryDimension": 0 if layer.c.geometry_type == "Point" else 2,
                    "minTileMatrix": "0",
                    "maxTileMatrix": str(MAX_ZOOM),
                    "propertiesSchema": {"type": "object", "properties": schema},
                }
            ],
            "links": [
                link(_template(ctx, layer.c.id), "item", MVT, "Tiles"),
                link(ctx.url(f"/ogc/tileMatrixSets/{TMS_ID}"), TILING_SCHEME, JSON, TMS_ID),
                link(tilejson_url, "alternate", JSON, "TileJSON"),
            ],
        }
    )


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json", summary="TileJSON 3.0")
async def tilejson(
    collection_id: CollectionId, tms: TmsId, ctx: Annotated[Ctx, Depends(context)]
) -> Response:
    layer = _tiled(ctx, collection_id, tms)
    bbox = await _bbox(ctx, layer)
    url = ctx.url(f"/ogc/collections/{layer.c.id}/tiles/{TMS_ID}") + "/{z}/{x}/{y}"
    return json_response(
        {
            "tilejson": "3.0.0",
            "name": layer.c.title,
            "description": layer.c.description,
            "tiles": [url],
            "minzoom": 0,
            "maxzoom": MAX_ZOOM,
            "bounds": bbox,
            "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, 10],
            "vector_layers": [{"id": layer.c.id, "fields": {p.name: p.kind for p in layer.props}}],
        }
    )


async def _bbox(ctx: Ctx, layer: Layer) -> list[float]:
    ext = await extent(ctx, layer)
    return ext.get("spatial", {}).get("bbox", [[-180, -85.05, 180, 85.05]])[0]


def mvt_sql(layer: Layer, q: Query) -> str:
    """ST_AsMVT of the tile ($z, $x, $y are the first three arguments)."""
    c = layer.c
    cols = [f'{_mvt_expr(p.expr, p.kind)} AS "{p.name}"' for p in layer.props]
    if c.id_kind == "integer":
        cols.insert(0, f"{c.id_expr} AS _fid")
    where = q.where.copy()
    env = f"ST_TileEnvelope($1, $2, $3, margin => {BUFFER / EXTENT})"
    where.add(
        f"{c.geom} && ST_Transform(ST_Segmentize({env}, ST_XMax({env}) - ST_XMin({env})), {STORAGE_SRID})"
    )
    fid = "'_fid'" if c.id_kind == "integer" else "NULL"
    return f"""
SELECT ST_AsMVT(m, '{c.id}', {EXTENT}, 'g', {fid}) FROM (
  SELECT ST_AsMVTGeom(ST_Transform({c.geom}, 3857), ST_TileEnvelope($1, $2, $3), {EXTENT}, {BUFFER}, true)
         AS g,
         {", ".join(cols)}
  FROM {q.from_sql}{where.sql()}) m
WHERE g IS NOT NULL"""


def _mvt_expr(expr: str, kind: str) -> str:
    if kind == "array":
        return f"array_to_string({expr}, ',')"
    if kind in ("date", "datetime", "string"):
        return f"({expr})::text"
    return expr


def _overlaps(z: int, x: int, y: int, merc: list[float] | None) -> bool:
    if not merc:
        return False
    size = 2 * ORIGIN / 2**z
    pad = size * BUFFER / EXTENT
    minx, maxy = -ORIGIN + x * size - pad, ORIGIN - y * size + pad
    maxx, miny = minx + size + 2 * pad, maxy - size - 2 * pad
    return not (maxx < merc[0] or minx > merc[2] or maxy < merc[1] or miny > merc[3])


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{x}/{y}",
    summary="A vector tile (Mapbox Vector Tile)",
    responses={
        200: {"content": {MVT: {}}, "description": "The tile"},
        204: {"description": "Empty tile"},
        304: {"description": "Not modified"},
    },  # fmt: skip
)
async def tile(
    collection_id: CollectionId,
    tms: TmsId,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description="Zoom level (tileMatrix).")],
    x: Annotated[int, Path(ge=0, description="Column (tileCol).")],
    y: Annotated[int, Path(ge=0, description="Row (tileRow).")],
    ctx: Annotated[Ctx, Depends(context)],
) -> Response:
    layer = _tiled(ctx, collection_id, tms)
    if x >= 2**z or y >= 2**z:
        raise not_found(f"Tile {z}/{x}/{y} is outside the tile matrix (0 ≤ x, y < {2**z})")
    etag = ctx.state.etag
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if ctx.request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    ext = await extent(ctx, layer)
    if not _overlaps(z, x, y, ext.get("_mercator")):
        return Response(status_code=204, headers=headers)
    q = Query(layer)
    q.args.add(z)
    q.args.add(x)
    q.args.add(y)
    async with ctx.pool.acquire() as conn:
        data = await conn.fetchval(mvt_sql(layer, q), *q.args.values)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(bytes(data), media_type=MVT, headers=headers)
