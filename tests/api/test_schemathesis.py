"""Property-based API test: schemathesis generates requests from /openapi.json (bounded examples).

Every response must be a documented status code and content type, match its schema, and never be a
5xx. Schemathesis' own pytest plugin does not run under pytest 9, so the operations are driven
here with hypothesis directly; ``MAX_EXAMPLES`` per operation keeps the run well under two minutes.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed (pip install schemathesis)"
)
from hypothesis import HealthCheck, given, settings  # noqa: E402  (schemathesis brings hypothesis)

from tests.api.conftest import Server  # noqa: E402

MAX_EXAMPLES = 12
# Not ``positive_data_acceptance``: a schema cannot say "bbox minimum ≤ maximum" or "date ≤ to", and the
# API rightly answers such requests with a 422 naming the parameter.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


def test_api_conforms(server: Server) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    failures: list[str] = []
    n_operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        n_operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def check(case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, report together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert n_operations > 20
    assert not failures, "\n\n".join(failures)
