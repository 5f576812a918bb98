"""The FastAPI application: an asyncpg pool opened in the lifespan, routers per audience."""

from __future__ import annotations

from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import health
from api.settings import ApiSettings


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the app for ``settings`` (read from the environment when not given)."""
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.pool = await asyncpg.create_pool(
            settings.libpq_url, min_size=settings.pool_min, max_size=settings.pool_max
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="Grondslag",
        description="Harmonised soil information for the province of Utrecht: REST (GeoJSON) and OGC API.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"], allow_headers=["*"]
        )
    app.include_router(health.router)
    return app
