"""HTTP to BRO, politely: a token-bucket rate limit, retries with exponential back-off, Retry-After.

Every attempt (retries included) first takes a token, so the request rate never exceeds the
configured one. Retried: HTTP 429, 500, 502, 503, 504, timeouts and broken connections. A 429 or 503
with ``Retry-After`` (seconds or an HTTP date) waits exactly that long; otherwise the wait doubles per
retry from ``backoff_seconds`` up to ``max_backoff_seconds`` (plus up to 10% jitter). Other answers
(2xx, 4xx) go back to the caller, who knows what a 400 means for its request.

HTTP by ``httpx`` (one connection pool per transport), the retry policy by ``tenacity``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from etl.bro_fetch.settings import BroFetchSettings
from etl.errors import GrondslagError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 1 << 16

EventSink = Callable[..., None]


class FetchError(GrondslagError):
    """BRO could not be reached or answered with something unusable (the run fails, exit code 1)."""


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, ``burst`` back to back."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self.tokens = float(burst)
        self.stamp = clock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is there; returns the seconds slept."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        waited = 0.0
        if self.tokens < 1:
            waited = (1 - self.tokens) / self.rate
            self.sleep(waited)
            self.tokens = 1.0
            self.stamp = self.clock()
        self.tokens -= 1
        return waited

    def drain(self) -> None:
        """Forget saved-up tokens (after the server said to slow down)."""
        self.tokens = min(self.tokens, 0.0)
        self.stamp = self.clock()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    sha256: str | None = None  # downloads: of the file written
    size: int = 0

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(slots=True)
class TransportStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429 answers
    waited_seconds: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)


class _RetryableAnswer(Exception):
    """An answer worth another attempt (429, 5xx); ``delay`` is the server's Retry-After, if any."""

    def __init__(self, response: Response, delay: float | None) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response
        self.delay = delay


class _IncompleteBody(httpx.TransportError):
    """Fewer bytes arrived than the Content-Length announced."""


class BroTransport:
    """Requests to BRO under the rate limit and retry policy of ``settings``."""

    def __init__(
        self,
        settings: BroFetchSettings,
        *,
        on_event: EventSink | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.bucket = TokenBucket(settings.requests_per_second, settings.burst, clock=clock, sleep=sleep)
        self.on_event = on_event or (lambda name, **fields: None)
        self.stats = TransportStats()
        self.client = httpx.Client(
            headers={"User-Agent": settings.user_agent}, timeout=settings.timeout, follow_redirects=True
        )

    def close(self) -> None:
        self.client.close()

    def post_json(self, url: str, payload: dict[str, Any]) -> Response:
        """POST ``payload`` as JSON, accepting XML; the final answer whatever its status."""
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/xml"}
        return self._request("POST", url, body=body, headers=headers)

    def download(self, url: str, dest: Path) -> Response:
        """GET ``url`` into ``dest`` (overwritten per attempt) when the answer is 200; body kept otherwise."""
        return self._request("GET", url, headers={"Accept": "application/xml"}, dest=dest)

    def _request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str],
        dest: Path | None = None,
    ) -> Response:
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.max_retries + 1),
            retry=retry_if_exception_type((_RetryableAnswer, httpx.TransportError)),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=lambda state: self._before_sleep(method, url, state),
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, url, body, headers, dest)
        except _RetryableAnswer as exc:
            problem = str(exc)
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        attempts = retrying.statistics.get("attempt_number", 1)
        raise FetchError(f"{method} {url}: {problem} after {attempts} attempt(s)")

    def _attempt(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], dest: Path | None
    ) -> Response:
        """One request under the rate limit; a retryable answer is raised, any other returned."""
        self.stats.waited_seconds += self.bucket.acquire()
        self.stats.requests += 1
        response = self._once(method, url, body, headers, dest)
        status = response.status
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        if status not in RETRY_STATUSES:
            return response
        if status == 429:
            self.stats.throttled += 1
            self.bucket.drain()
        delay = parse_retry_after(response.headers.get("retry-after"))
        if delay is not None and delay > self.settings.max_retry_after_seconds:
            raise FetchError(
                f"{method} {url}: HTTP {status} with Retry-After {delay:.0f} s, longer than "
                f"GRONDSLAG_BRO_MAX_RETRY_AFTER_SECONDS={self.settings.max_retry_after_seconds:.0f}"
            )
        raise _RetryableAnswer(response, delay)

    def _wait(self, state: RetryCallState) -> float:
        """The server's Retry-After, else a doubling back-off with up to 10% jitter."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableAnswer) and exc.delay is not None:
            return exc.delay
        retry = state.attempt_number - 1
        delay = min(self.settings.max_backoff_seconds, self.settings.backoff_seconds * 2**retry)
        return delay + random.uniform(0, delay * 0.1)

    def _before_sleep(self, method: str, url: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        self.stats.retries += 1
        self.stats.waited_seconds += wait
        status = exc.response.status if isinstance(exc, _RetryableAnswer) else None
        problem = str(exc) if status else f"{type(exc).__name__}: {exc}"
        self.on_event(
            "bro_retry",
            method=method,
            url=url,
            problem=problem,
            wait_s=round(wait, 3),
            attempt=state.attempt_number,
            status=status,
        )

    def _once(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], dest: Path | None
    ) -> Response:
        with self.client.stream(method, url, content=body, headers=headers) as handle:
            response_headers = {k.lower(): v for k, v in handle.headers.items()}
            if dest is None or handle.status_code != 200:
                return Response(handle.status_code, response_headers, handle.read())
            digest = hashlib.sha256()
            size = 0
            with open(dest, "wb") as out:
                for chunk in handle.iter_bytes(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        length = response_headers.get("content-length")
        encoded = "content-encoding" in response_headers  # the length then counts compressed bytes
        if not encoded and length is not None and length.isdigit() and int(length) != size:
            raise _IncompleteBody(f"{size} of {length} bytes")
        return Response(200, response_headers, b"", digest.hexdigest(), size)
