"""RFC 9457 problem documents: one exception type, one handler table, no stack traces; request bounds.

Domain code raises :class:`Problem` (or lets a library error surface); :func:`install` maps every
exception to ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and, for
bad input, ``parameter`` (the name of the offending query/path parameter) plus ``invalid-params``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://grondslag.nl/problems/"
log = logging.getLogger("grondslag.api")


class Problem(Exception):
    """An error to answer with a problem document (``param`` names the bad parameter)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        param: str | None = None,
        title: str | None = None,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.param = param
        self.title = title or HTTPStatus(status).phrase
        self.kind = kind
        self.headers = headers or {}


def invalid(param: str, detail: str) -> Problem:
    """A 422 naming the bad parameter."""
    return Problem(422, detail, param=param, kind="invalid-parameter")


def not_found(detail: str) -> Problem:
    return Problem(404, detail, kind="not-found")


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    kind: str | None = None,
    param: str | None = None,
    invalid_params: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a problem document."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + (kind or HTTPStatus(status).phrase.lower().replace(" ", "-")),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if param:
        body["parameter"] = param
    if invalid_params or param:
        body["invalid-params"] = invalid_params or [{"name": param, "reason": detail}]
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def _problem(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status, exc.detail, title=exc.title, kind=exc.kind, param=exc.param, headers=exc.headers
    )


async def _validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    items = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "header", "body")]
        items.append({"name": ".".join(loc) or "request", "reason": str(err.get("msg", "invalid"))})
    first = items[0] if items else {"name": "request", "reason": "invalid"}
    return problem_response(
        422,
        f"Invalid value for '{first['name']}': {first['reason']}",
        kind="invalid-parameter",
        param=first["name"],
        invalid_params=items,
    )


async def _http(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _timeout(_: Request, exc: Exception) -> Response:
    return problem_response(
        503, "The query took too long; narrow it with bbox, a filter or a smaller limit.", kind="timeout"
    )


async def _unavailable(_: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(503, "The database is not reachable right now.", kind="unavailable")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "An unexpected error occurred; it has been logged.")


Handler = Callable[[Request, Exception], Awaitable[Response]]

#: The one table: exception type -> handler (first match wins, most specific first).
EXCEPTION_TABLE: list[tuple[type[Exception], Handler]] = [
    (Problem, _problem),
    (RequestValidationError, _validation),
    (StarletteHTTPException, _http),
    (asyncpg.exceptions.QueryCanceledError, _timeout),
    (asyncpg.exceptions.CannotConnectNowError, _unavailable),
    (asyncpg.exceptions.TooManyConnectionsError, _unavailable),
    (ConnectionError, _unavailable),
    (OSError, _unavailable),
    (Exception, _unexpected),
]


def install(app: FastAPI) -> None:
    """Register the handler table on ``app``."""
    for exc_type, handler in EXCEPTION_TABLE:
        app.add_exception_handler(exc_type, handler)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem documents for ``statuses``."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        s: {"description": HTTPStatus(s).phrase, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}
        for s in statuses
    }


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "parameter": {"type": "string", "description": "Name of the offending parameter."},
        "invalid-params": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}


class RequestLimits:
    """Refuse requests whose target or declared body exceeds the configured bounds."""

    def __init__(self, app: ASGIApp, *, max_url_chars: int, max_body_bytes: int) -> None:
        self.app = app
        self.max_url_chars = max_url_chars
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = len(scope.get("raw_path") or scope["path"]) + len(scope.get("query_string") or b"")
        if target > self.max_url_chars:
            response = problem_response(
                414, f"The request target is longer than {self.max_url_chars} characters."
            )
            await response(scope, receive, send)
            return
        for name, value in scope.get("headers") or ():
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_body_bytes):
                response = problem_response(
                    413, f"The request body is larger than {self.max_body_bytes} bytes."
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
