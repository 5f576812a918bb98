"""/parameters, /sources, /etl/runs: the catalogue and the ETL's own record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from api.context import Ctx, context
from api.output import CSV, rows_response
from api.params import FormatDep, PagingDep
from api.rest.common import ERRORS

router = APIRouter(tags=["catalogue"], responses=ERRORS)
ROWS_200 = {200: {"content": {"application/json": {}, CSV: {}}, "description": "Rows"}}


@router.get("/parameters", summary="Parameter catalogue with norms", responses=ROWS_200)
async def parameters(ctx: Annotated[Ctx, Depends(context)], fmt: FormatDep) -> Response:
    sql = """
SELECT p.code, p.name_nl, p.name_en, p.cas, p.aquo_code, p."group", p.canonical_unit, p.aliases, p.sum_of,
       n.achtergrondwaarde, n.maximaal_wonen, n.maximaal_industrie, n.interventiewaarde, n.unit AS norm_unit,
       n.verified AS norm_verified
FROM parameter p
LEFT JOIN LATERAL (SELECT * FROM soil_norm s WHERE s.parameter_code = p.code
                   ORDER BY s.valid_from DESC LIMIT 1) n ON true
ORDER BY p.code"""
    async with ctx.pool.acquire() as conn:
        rows = await conn.fetch(sql)
    return rows_response(rows, fmt.pick(ctx.request.headers.get("accept")), wrap="parameters")


@router.get("/sources", summary="Configured sources and their datasets", responses=ROWS_200)
async def sources(ctx: Annotated[Ctx, Depends(context)], fmt: FormatDep) -> Response:
    sql = """
SELECT s.id, s.name, s.kind, s.gemeente_code, s.mapping_path, s.created_at, count(d.id) AS n_datasets,
       coalesce(sum(d.rows_loaded), 0) AS rows_loaded,
       coalesce(sum(d.rows_quarantined), 0) AS rows_quarantined, max(d.loaded_at) AS last_loaded_at
FROM source s LEFT JOIN dataset d ON d.source_id = s.id
GROUP BY s.id ORDER BY s.name"""
    async with ctx.pool.acquire() as conn:
        rows = await conn.fetch(sql)
    return rows_response(rows, fmt.pick(ctx.request.headers.get("accept")), wrap="sources")


@router.get("/etl/runs", summary="ETL runs, newest first", responses=ROWS_200)
async def etl_runs(
    ctx: Annotated[Ctx, Depends(context)],
    paging: PagingDep,
    fmt: FormatDep,
) -> Response:
    limit = paging.size(ctx.settings)
    sql = """
SELECT id, started_at, finished_at, status, command, n_datasets, n_read, n_loaded, n_quarantined, n_skipped,
       n_failed, error
FROM etl_run ORDER BY id DESC LIMIT $1 OFFSET $2"""
    async with ctx.pool.acquire() as conn:
        rows = await conn.fetch(sql, limit + 1, paging.offset)
    more = len(rows) > limit
    rows = rows[:limit]
    links = []
    if more:
        links.append({"href": ctx.self_url(offset=paging.offset + limit, limit=limit), "rel": "next",
                      "type": "application/json"})  # fmt: skip
    if paging.offset:
        links.append({"href": ctx.self_url(offset=max(0, paging.offset - limit), limit=limit), "rel": "prev",
                      "type": "application/json"})  # fmt: skip
    return rows_response(
        rows, fmt.pick(ctx.request.headers.get("accept")), wrap="runs", extra={"links": links}
    )
