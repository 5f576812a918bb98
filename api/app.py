"""The FastAPI application: an asyncpg pool opened in the lifespan, routers per audience."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import health, ops, problems
from api.map import mount_map
from api.ogc import collections as ogc_collections
from api.ogc import items as ogc_items
from api.ogc import landing as ogc_landing
from api.ogc import tiles as ogc_tiles
from api.problems import RequestLimits
from api.queries.catalog import DataState
from api.rest import admin, bro, catalogue, gemeenten, locations, omgevingsdiensten
from api.settings import ApiSettings

ROUTERS = [
    health.router, gemeenten.router, omgevingsdiensten.router, locations.router, bro.router, catalogue.router,
    admin.router, ogc_landing.router, ogc_collections.router, ogc_items.router, ogc_tiles.router,
]  # fmt: skip


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the app for ``settings`` (read from the environment when not given)."""
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.pool = await asyncpg.create_pool(
            settings.libpq_url,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            server_settings={
                "statement_timeout": str(settings.statement_timeout_ms),
                "jit": "off",
                "plan_cache_mode": "force_custom_plan",
            },
        )
        try:
            yield
        finally:
            app.state.data.drop_pages()
            await app.state.pool.close()

    app = FastAPI(
        title="Grondslag",
        description="Harmonised soil information for the province of Utrecht: REST (GeoJSON/CSV), "
        "OGC API – Features (under /ogc) and vector tiles. Errors are RFC 9457 problem documents. "
        f"Page size: `limit` ≤ {settings.max_limit} (default {settings.default_limit}); request target "
        f"≤ {settings.max_url_chars} characters, request body ≤ {settings.max_body_bytes} bytes.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.data = DataState(check_seconds=settings.version_check_seconds)
    problems.install(app)
    app.add_middleware(
        RequestLimits, max_url_chars=settings.max_url_chars, max_body_bytes=settings.max_body_bytes
    )
    if settings.cors_origins:  # added last: outermost, so problem responses carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["Content-Crs", "Link", "ETag", "OGC-NumberMatched"],
        )
    for router in ROUTERS:
        app.include_router(router)
    mount_map(app)
    ops.install(app, access_log=settings.access_log)
    app.openapi = lambda: _openapi(app, settings)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, settings: ApiSettings) -> dict[str, Any]:
    """FastAPI's document plus the Problem schema and the settings-bound ``limit`` bounds."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = problems.PROBLEM_SCHEMA
    for path in doc.get("paths", {}).values():
        for op in path.values():
            for param in op.get("parameters", []) if isinstance(op, dict) else []:
                if param.get("name") == "limit" and param.get("in") == "query":
                    schema = param.setdefault("schema", {})
                    schema.pop("anyOf", None)
                    schema.update(
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": settings.max_limit,
                            "default": settings.default_limit,
                        }  # fmt: skip
                    )
    app.openapi_schema = doc
    return doc
