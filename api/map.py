"""The map page for people without QGIS: ``GET /map`` and its static files under ``/static``.

The page (``static/map.html`` + ``map.js`` + ``map.css``) draws the API's own vector tiles and REST
documents with MapLibre GL JS, vendored in ``static/vendor/`` (no CDN, no base map from the internet).
It uses only relative URLs, so it works behind a proxy that serves the API under a path prefix.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.context import link
from api.output import json_response

STATIC = Path(__file__).resolve().parent / "static"
START_LINKS = [
    ("/map", "text/html", "Map page"),
    ("/docs", "text/html", "API documentation"),
    ("/ogc", "application/json", "OGC API landing page"),
    ("/gemeenten", "application/geo+json", "Gemeenten with their metrics"),
    ("/health", "application/json", "Health"),
]
router = APIRouter(tags=["map"])


@router.get("/map", summary="Map page", response_class=HTMLResponse)
async def map_page() -> Response:
    """The gemeenten coloured by a metric, omgevingsdienst borders, locations and BRO objects."""
    return FileResponse(STATIC / "map.html", media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get(
    "/",
    summary="Start: browsers are sent to the map page, other clients get links",
    responses={
        200: {"content": {"application/json": {}}, "description": "Links"},
        303: {"description": "To the map page (when the client accepts text/html)"},
    },
)
async def start(request: Request) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("map", status_code=303)  # relative, so it stays under a proxy prefix
    settings = request.app.state.settings
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return json_response(
        {"title": "Grondslag", "links": [link(base + p, "service", t, x) for p, t, x in START_LINKS]}
    )


def mount_map(app: FastAPI) -> None:
    """Add ``/map``, the ``/`` start and ``/static`` (the page's files and MapLibre GL JS) to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
