"""Operations: readiness, Prometheus metrics and structured request logs with a request id.

- ``GET /ready``: 200 when the database answers and the schema is at the migration head, else 503;
  it also reports the last ETL run (status, age) so a monitor can alert on a stale load.
- ``GET /metrics``: Prometheus text format — request counts and latency per route, and per source
  the last successful load (timestamp, seconds, rows loaded/quarantined) read from the store.
- Every request gets an ``X-Request-ID`` (taken from the request or generated) and one JSON log line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

router = APIRouter(tags=["operations"])
log = logging.getLogger("grondslag.api")

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "grondslag_http_requests", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "grondslag_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
ETL_LAST = Gauge(
    "grondslag_etl_last_run_timestamp_seconds", "End of the last ETL run", ["status"], registry=REGISTRY
)
ETL_DURATION = Gauge(
    "grondslag_etl_last_run_duration_seconds", "Duration of the last ETL run", registry=REGISTRY
)
SOURCE_LOADED_AT = Gauge(
    "grondslag_source_last_load_timestamp_seconds",
    "Last successful load per source",
    ["source"],
    registry=REGISTRY,
)
SOURCE_ROWS = Gauge(
    "grondslag_source_rows", "Rows of the current datasets per source", ["source", "kind"], registry=REGISTRY
)


def _json_logger() -> logging.Logger:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


class RequestIdMiddleware:
    """X-Request-ID in and out, per-route metrics, one JSON log line per request (pure ASGI: cheap)."""

    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:128] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(seconds)
            if self.access_log:
                _json_logger().info(
                    json.dumps(
                        {
                            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            "event": "request",
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "route": route,
                            "status": status,
                            "ms": round(seconds * 1000, 2),
                        }
                    )
                )


def install(app: FastAPI, *, access_log: bool = True) -> None:
    """Add the request-id/metrics middleware and the /ready and /metrics routes."""
    app.add_middleware(RequestIdMiddleware, access_log=access_log)
    app.include_router(router)


LAST_RUN_SQL = """
SELECT status, started_at, finished_at, extract(epoch FROM finished_at - started_at) AS seconds,
       n_loaded, n_quarantined, n_failed
FROM etl_run WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1
"""
SOURCES_SQL = """
SELECT s.name, max(d.loaded_at) AS loaded_at, sum(d.rows_loaded) AS loaded,
       sum(d.rows_quarantined) AS quarantined, sum(d.rows_read) AS read
FROM source s JOIN dataset d ON d.source_id = s.id GROUP BY s.name
"""


@router.get("/ready", summary="Readiness: database, migrations, last ETL run")
async def ready(request: Request) -> JSONResponse:
    from db.store import head_revision

    head = head_revision()
    body: dict = {"ready": False, "database": "unreachable", "migration_head": head}
    try:
        async with request.app.state.pool.acquire() as conn:
            migration = await conn.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
            last = await conn.fetchrow(LAST_RUN_SQL)
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        body["error"] = type(exc).__name__
        return JSONResponse(body, status_code=503)
    body |= {"database": "reachable", "migration": migration, "at_head": migration == head}
    if last is not None:
        age = (datetime.now(UTC) - last["finished_at"]).total_seconds()
        body["last_etl_run"] = {
            "status": last["status"],
            "finished_at": last["finished_at"].isoformat(),
            "age_hours": round(age / 3600, 2),
            "seconds": round(float(last["seconds"]), 3),
            "loaded": last["n_loaded"],
            "quarantined": last["n_quarantined"],
            "failed_datasets": last["n_failed"],
        }
    else:
        body["last_etl_run"] = None
    body["ready"] = migration == head
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    try:
        async with request.app.state.pool.acquire() as conn:
            last = await conn.fetchrow(LAST_RUN_SQL)
            sources = await conn.fetch(SOURCES_SQL)
        if last is not None:
            ETL_LAST.clear()
            ETL_LAST.labels(last["status"]).set(last["finished_at"].timestamp())
            ETL_DURATION.set(float(last["seconds"]))
        for row in sources:
            SOURCE_LOADED_AT.labels(row["name"]).set(row["loaded_at"].timestamp())
            for kind in ("read", "loaded", "quarantined"):
                SOURCE_ROWS.labels(row["name"], kind).set(float(row[kind] or 0))
    except Exception:  # noqa: BLE001 - request metrics are still served without the database
        log.warning(json.dumps({"event": "metrics_db_unavailable"}))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
