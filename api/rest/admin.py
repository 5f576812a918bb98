"""Endpoints that trigger work: API key (header ``X-API-Key``) required."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import Response
from fastapi.security import APIKeyHeader

from api.output import json_response
from api.problems import Problem, problem_responses

router = APIRouter(tags=["operations"], responses=problem_responses(401, 403, 500))
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="One of GRONDSLAG_API_KEYS.")


def require_api_key(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> None:
    """401 without a key, 403 with a wrong one (or when no keys are configured)."""
    keys: list[str] = request.app.state.settings.api_keys
    if not key:
        raise Problem(401, "This endpoint needs an API key in the X-API-Key header.", kind="unauthorized",
                      headers={"WWW-Authenticate": "APIKey"})  # fmt: skip
    if not any(secrets.compare_digest(key.encode(), k.encode()) for k in keys):
        raise Problem(403, "The API key is not valid.", kind="forbidden")


@router.post(
    "/etl/refresh-cache",
    summary="Drop the API's caches (counts, extents, tile ETags) now",
    dependencies=[Depends(require_api_key)],
)
async def refresh_cache(request: Request) -> Response:
    """Normally unnecessary: caches follow finished ETL runs within a second. Use after manual edits."""
    state = request.app.state.data
    state.invalidate()
    await state.ensure(request.app.state.pool)
    return json_response({"status": "ok", "generation": state.generation, "version": state.version})
