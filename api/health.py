"""Liveness: is the database reachable, which PostGIS, which migration."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness and database status")
async def health(request: Request) -> JSONResponse:
    from db.store import head_revision

    body: dict = {"status": "ok", "database": {"reachable": False}, "migration_head": head_revision()}
    try:
        async with request.app.state.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT version() AS pg, postgis_lib_version() AS postgis, "
                "(SELECT version_num FROM alembic_version LIMIT 1) AS migration"
            )
        body["database"] = {
            "reachable": True,
            "postgresql": row["pg"].split(" on ")[0],
            "postgis": row["postgis"],
            "migration": row["migration"],
            "at_head": row["migration"] == body["migration_head"],
        }
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        body["status"] = "degraded"
        body["database"]["error"] = type(exc).__name__
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
