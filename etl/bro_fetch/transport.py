"""HTTP to BRO, politely: a token-bucket rate limit, retries with exponential back-off, Retry-After.

Every attempt (retries included) first takes a token, so the request rate never exceeds the
configured one. Retried: HTTP 429, 500, 502, 503, 504, timeouts and broken connections. A 429 or 503
with ``Retry-After`` (seconds or an HTTP date) waits exactly that long; otherwise the wait doubles per
retry from ``backoff_seconds`` up to ``max_backoff_seconds`` (plus up to 10% jitter). Other answers
(2xx, 4xx) go back to the caller, who knows what a 400 means for its request.

Plain ``urllib``: no dependency beyond the standard library.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from etl.bro_fetch.settings import BroFetchSettings
from etl.errors import GrondslagError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_NETWORK_ERRORS = (
    urllib.error.URLError,
    TimeoutError,
    ConnectionError,
    socket.timeout,
    http.client.HTTPException,
)
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
        self.opener = urllib.request.build_opener()
        self.headers = {"User-Agent": settings.user_agent}

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
        attempt = 0
        while True:
            self.stats.waited_seconds += self.bucket.acquire()
            self.stats.requests += 1
            try:
                response = self._once(method, url, body, {**self.headers, **headers}, dest)
            except _NETWORK_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
                delay = None
                status = None
            else:
                status = response.status
                self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
                if status not in RETRY_STATUSES:
                    return response
                if status == 429:
                    self.stats.throttled += 1
                    self.bucket.drain()
                problem = f"HTTP {status}"
                delay = parse_retry_after(response.headers.get("retry-after"))
                if delay is not None and delay > self.settings.max_retry_after_seconds:
                    raise FetchError(
                        f"{method} {url}: {problem} with Retry-After {delay:.0f} s, longer than "
                        f"GRONDSLAG_BRO_MAX_RETRY_AFTER_SECONDS={self.settings.max_retry_after_seconds:.0f}"
                    )
            if attempt >= self.settings.max_retries:
                raise FetchError(f"{method} {url}: {problem} after {attempt + 1} attempt(s)")
            if delay is None:
                delay = min(self.settings.max_backoff_seconds, self.settings.backoff_seconds * 2**attempt)
                delay += random.uniform(0, delay * 0.1)
            attempt += 1
            self.stats.retries += 1
            self.on_event(
                "bro_retry",
                method=method,
                url=url,
                problem=problem,
                wait_s=round(delay, 3),
                attempt=attempt,
                status=status,
            )
            self.sleep(delay)
            self.stats.waited_seconds += delay

    def _once(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], dest: Path | None
    ) -> Response:
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            handle = self.opener.open(request, timeout=self.settings.timeout)
        except urllib.error.HTTPError as err:  # a non-2xx answer: still an answer
            with err:
                return Response(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())
        with handle:
            status = handle.status
            response_headers = {k.lower(): v for k, v in handle.headers.items()}
            if dest is None or status != 200:
                return Response(status, response_headers, handle.read())
            digest = hashlib.sha256()
            size = 0
            with open(dest, "wb") as out:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            length = response_headers.get("content-length")
            if length is not None and length.isdigit() and int(length) != size:
                raise http.client.IncompleteRead(b"", int(length) - size)
            return Response(status, response_headers, b"", digest.hexdigest(), size)
