"""/locations/{id}: one location with investigations, samples, measurements, assessment, provenance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from api.context import Ctx, context
from api.output import CSV, GEOJSON, rows_response
from api.params import CrsDep, FormatDep
from api.problems import not_found
from api.queries.catalog import DataState
from api.rest.common import ERRORS
from api.sql import geometry_out

router = APIRouter(prefix="/locations", tags=["locations"], responses=ERRORS)
LocationId = Annotated[int, Path(ge=1, le=2**62, description="Location id (see the locations collection).")]


def _assessment(state: DataState, view: str, alias: str, on: str, drop: tuple[str, ...]) -> str:
    if view not in state.present:
        return "NULL::jsonb"
    drops = "".join(f" - '{d}'" for d in drop)
    return f"(SELECT to_jsonb({alias}){drops} FROM {view} {alias} WHERE {on} LIMIT 1)"


def detail_sql(state: DataState, geom: str, digits: int) -> str:
    """One statement rendering the whole location document (json text)."""
    la = _assessment(state, "location_assessment", "la", "la.location_id = l.id", ("location_id",))
    sa = _assessment(state, "sample_assessment", "sa", "sa.sample_id = sm.id", ("sample_id", "location_id"))
    ma = _assessment(
        state, "measurement_assessment", "ma", "ma.measurement_id = m.id",
        ("measurement_id", "sample_id", "location_id", "parameter_code"),
    )  # fmt: skip
    return f"""
SELECT json_build_object(
  'type', 'Feature', 'id', l.id, 'geometry', ST_AsGeoJSON({geom}, {digits})::json,
  'properties', json_build_object(
    'external_id', l.external_id, 'name', l.name, 'status', l.status, 'gemeente_code', l.gemeente_code,
    'coord_decimals', l.coord_decimals, 'attributes', l.attributes, 'assessment', {la},
    'provenance', json_build_object('locator', l.locator,
        'dataset', json_build_object('id', d.id, 'path', d.path, 'format', d.format, 'sha256', d.sha256,
                                     'loaded_at', d.loaded_at, 'run_id', d.run_id),
        'source', json_build_object('id', s.id, 'name', s.name, 'kind', s.kind,
                                    'gemeente_code', s.gemeente_code)),
    'investigations', (SELECT coalesce(json_agg(json_build_object('id', i.id, 'external_id', i.external_id,
          'investigation_date', i.investigation_date, 'investigation_type', i.investigation_type,
          'report_id', i.report_id, 'dataset_id', i.dataset_id) ORDER BY i.id), '[]')
        FROM investigation i WHERE i.id = l.investigation_id
           OR i.id IN (SELECT sm.investigation_id FROM sample sm WHERE sm.location_id = l.id)),
    'samples', (SELECT coalesce(json_agg(json_build_object('id', sm.id, 'external_id', sm.external_id,
          'depth_from_m', sm.depth_from_m, 'depth_to_m', sm.depth_to_m, 'sample_date', sm.sample_date,
          'lutum_pct', sm.lutum_pct, 'organic_matter_pct', sm.organic_matter_pct,
          'investigation_id', sm.investigation_id, 'assessment', {sa},
          'provenance', json_build_object('locator', sm.locator, 'dataset_id', sm.dataset_id,
                                          'path', (SELECT path FROM dataset WHERE id = sm.dataset_id)),
          'measurements', (SELECT coalesce(json_agg(json_build_object('id', m.id,
                'parameter_code', m.parameter_code, 'value', m.value, 'unit', m.unit,
                'below_detection_limit', m.below_detection_limit, 'detection_limit', m.detection_limit,
                'reported_value', m.reported_value, 'reported_unit', m.reported_unit, 'assessment', {ma},
                'provenance', json_build_object('locator', m.locator, 'dataset_id', m.dataset_id,
                                                'path', (SELECT path FROM dataset WHERE id = m.dataset_id)))
                ORDER BY m.id), '[]') FROM measurement m WHERE m.sample_id = sm.id)) ORDER BY sm.id), '[]')
        FROM sample sm WHERE sm.location_id = l.id)))::text
FROM location l JOIN dataset d ON d.id = l.dataset_id JOIN source s ON s.id = d.source_id
WHERE l.id = $1"""


def measurements_sql(state: DataState) -> str:
    """Flat rows for CSV: one per measurement, with sample and provenance columns."""
    klasse = "ma.klasse" if "measurement_assessment" in state.present else "NULL::text"
    join = (
        "LEFT JOIN measurement_assessment ma ON ma.measurement_id = m.id"
        if "measurement_assessment" in state.present
        else ""
    )
    return f"""
SELECT l.id AS location_id, l.external_id AS location_external_id, sm.id AS sample_id,
       sm.external_id AS sample_external_id, sm.depth_from_m, sm.depth_to_m, sm.sample_date,
       m.id AS measurement_id,
       m.parameter_code, m.value, m.unit, m.below_detection_limit, m.detection_limit, m.reported_value,
       m.reported_unit, {klasse} AS klasse, d.path AS dataset_path, l.locator AS location_locator,
       sm.locator AS sample_locator, m.locator AS measurement_locator
FROM location l JOIN sample sm ON sm.location_id = l.id JOIN measurement m ON m.sample_id = sm.id
JOIN dataset d ON d.id = m.dataset_id {join}
WHERE l.id = $1 ORDER BY sm.id, m.id"""


@router.get(
    "/{location_id}",
    summary="A location with everything measured there and where it came from",
    responses={
        200: {"content": {GEOJSON: {}, CSV: {}}, "description": "GeoJSON Feature (CSV: measurements)"}
    },
)
async def get_location(
    location_id: LocationId,
    ctx: Annotated[Ctx, Depends(context)],
    crs: CrsDep,
    fmt: FormatDep,
) -> Response:
    """Provenance: ``provenance.dataset.path`` (file), ``provenance.locator`` (row) per level."""
    out = crs.parse()
    f = fmt.pick(ctx.request.headers.get("accept"))
    async with ctx.pool.acquire() as conn:
        sql = detail_sql(ctx.state, geometry_out("l.geom", out.srid, out.flip), out.digits)
        doc = await conn.fetchval(sql, location_id)
        if doc is None:
            raise not_found(f"Location {location_id} does not exist")
        if f == "csv":
            return rows_response(await conn.fetch(measurements_sql(ctx.state), location_id), "csv")
    return Response(doc.encode(), media_type=GEOJSON, headers={"Content-Crs": f"<{out.uri}>"})
