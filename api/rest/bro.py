"""/bro/{bro_id}: one BRO object with its CPT measurements, borehole layers or well tubes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from api.context import Ctx, context
from api.output import CSV, GEOJSON, rows_response
from api.params import CrsDep, FormatDep
from api.problems import not_found
from api.rest.common import ERRORS
from api.sql import geometry_out

router = APIRouter(prefix="/bro", tags=["BRO"], responses=ERRORS)
BroId = Annotated[
    str, Path(max_length=32, pattern=r"^[A-Z]{3}[0-9]{12}$", description="BRO id, e.g. CPT000000012345.")
]
CHILDREN = {
    "CPT": ("cpt_measurements", "bro_cpt_measurement", "seq"),
    "BHR-GT": ("borehole_layers", "bro_borehole_layer", "seq"),
    "BHR-P": ("borehole_layers", "bro_borehole_layer", "seq"),
    "BHR-G": ("borehole_layers", "bro_borehole_layer", "seq"),
    "GMW": ("well_tubes", "bro_well_tube", "tube_number"),
}


def detail_sql(geom: str, digits: int) -> str:
    children = ", ".join(
        f"'{key}', (SELECT coalesce(json_agg(to_jsonb(c) - 'bro_id' ORDER BY c.{order}), '[]') "
        f"FROM {table} c WHERE c.bro_id = b.bro_id)"
        for key, table, order in dict.fromkeys(CHILDREN.values())
    )
    return f"""
SELECT b.object_type, json_build_object(
  'type', 'Feature', 'id', b.bro_id, 'geometry', ST_AsGeoJSON({geom}, {digits})::json,
  'properties', json_build_object('bro_id', b.bro_id, 'object_type', b.object_type, 'status', b.status,
    'gemeente_code', b.gemeente_code, 'quality_regime', b.quality_regime,
    'research_report_date', b.research_report_date, 'registration_date', b.registration_date,
    'delivery_accountable_party', b.delivery_accountable_party, 'final_depth', b.final_depth,
    'vertical_datum', b.vertical_datum, 'offset', b."offset", 'source_crs', b.source_crs,
    'source_format', b.source_format, 'loaded_at', b.loaded_at,
    'provenance', json_build_object('dataset_id', d.id, 'path', d.path, 'source', s.name)),
  {children})::text
FROM bro_object b LEFT JOIN dataset d ON d.id = b.dataset_id LEFT JOIN source s ON s.id = d.source_id
WHERE b.bro_id = $1"""


@router.get(
    "/{bro_id}",
    summary="A BRO object with its measurements, layers or tubes",
    responses={
        200: {"content": {GEOJSON: {}, CSV: {}}, "description": "GeoJSON Feature (CSV: the child rows)"}
    },
)
async def get_bro(
    bro_id: BroId,
    ctx: Annotated[Ctx, Depends(context)],
    crs: CrsDep,
    fmt: FormatDep,
) -> Response:
    out = crs.parse()
    f = fmt.pick(ctx.request.headers.get("accept"))
    async with ctx.pool.acquire() as conn:
        row = await conn.fetchrow(detail_sql(geometry_out("b.geom", out.srid, out.flip), out.digits), bro_id)
        if row is None:
            raise not_found(f"BRO object '{bro_id}' is not in Grondslag")
        if f == "csv":
            _, table, order = CHILDREN.get(row[0], ("", "bro_cpt_measurement", "seq"))
            rows = await conn.fetch(f"SELECT * FROM {table} WHERE bro_id = $1 ORDER BY {order}", bro_id)
            return rows_response(rows, "csv")
    return Response(row[1].encode(), media_type=GEOJSON, headers={"Content-Crs": f"<{out.uri}>"})
