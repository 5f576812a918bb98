"""Operations endpoints: /ready, /metrics (Prometheus), request ids."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from db.store import head_revision


def test_ready_reports_database_migration_and_last_run(client: httpx.Client) -> None:
    r = client.get("/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] is True and body["database"] == "reachable"
    assert body["migration"] == head_revision() and body["at_head"] is True
    assert body["last_etl_run"]["status"] == "succeeded"
    assert body["last_etl_run"]["age_hours"] >= 0


def test_request_id_is_echoed_or_generated(client: httpx.Client) -> None:
    given = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32 and generated != "abc-123"


def test_metrics_count_requests_per_route_and_expose_etl_state(client: httpx.Client) -> None:
    for _ in range(3):
        assert client.get("/gemeenten/GM0344").status_code == 200
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    requests = families["grondslag_http_requests"]
    by_route = {
        (s.labels["route"], s.labels["status"]): s.value
        for s in requests.samples
        if s.name == "grondslag_http_requests_total"
    }
    assert by_route[("/gemeenten/{code}", "200")] >= 3
    assert "grondslag_http_request_seconds" in families
    last = families["grondslag_etl_last_run_timestamp_seconds"].samples
    assert last and last[0].labels["status"] == "succeeded" and last[0].value > 0
