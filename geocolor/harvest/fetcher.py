"""Polite HTTP fetching: one shared client, a request-rate cap, and retries with backoff and jitter.

What is retried: timeouts, connection errors (refused, reset, dropped mid-body), any 5xx and 429.
A ``Retry-After`` header (seconds or an HTTP date) is honoured, capped by the policy. Other 4xx are
final at once: asking again will not change a 404 or a 403. Every request carries a User-Agent that
names geocolor, plus the user's own headers (API keys).

All waiting goes through a cancel event, so a cancelled harvest stops sleeping at once.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from geocolor import __version__
from geocolor.harvest.errors import FetchError

log = logging.getLogger(__name__)


def user_agent() -> str:
    """The User-Agent every geocolor request sends."""
    return f"geocolor/{__version__} (aerial photo colorization; tile harvest) httpx/{httpx.__version__}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: exponential backoff with jitter, ``Retry-After`` honoured."""

    attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        wait = ceiling / 2 + rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date); None if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def is_retryable_status(status: int) -> bool:
    """429 and every 5xx are worth another try; other statuses are final."""
    return status == 429 or 500 <= status <= 599


class RateLimiter:
    """Spaces requests at least ``1/rate`` seconds apart across all threads (no rate: no limit)."""

    def __init__(self, rate: float | None, cancel: threading.Event) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._cancel = cancel

    def acquire(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._cancel.wait(slot - now)


@dataclass(frozen=True)
class Response:
    """A final answer from the server (2xx, or a 4xx that must not be retried)."""

    url: str
    status: int
    content: bytes
    content_type: str


class Fetcher:
    """Thread-safe GETs through one connection pool, rate-capped and retried per :class:`RetryPolicy`."""

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rate: float | None = None,
        max_connections: int = 8,
        client: httpx.Client | None = None,
        seed: int | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.cancelled = threading.Event()
        self._rate = RateLimiter(rate, self.cancelled)
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._own_client = client is None
        self._client = client or httpx.Client(
            headers={"User-Agent": user_agent(), **dict(headers or {})},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=True,
        )
        self._count_lock = threading.Lock()
        self.requests = 0
        self.retries = 0

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def cancel(self) -> None:
        """Stop waiting and refuse further attempts (in-flight requests finish or time out)."""
        self.cancelled.set()

    def get(self, url: str) -> Response:
        """GET ``url`` with retries; the final answer, or :class:`FetchError` when retries run out."""
        last = "no attempt made"
        for attempt in range(1, self.retry.attempts + 1):
            if self.cancelled.is_set():
                raise FetchError(f"cancelled before {url} was fetched")
            self._rate.acquire()
            retry_after: float | None = None
            try:
                with self._count_lock:
                    self.requests += 1
                resp = self._client.get(url)
                if not is_retryable_status(resp.status_code):
                    return Response(url, resp.status_code, resp.content, resp.headers.get("content-type", ""))
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
                last = f"HTTP {resp.status_code}"
            except httpx.TransportError as e:  # timeouts, refused/reset/dropped connections, truncated bodies
                last = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            if attempt < self.retry.attempts:
                self._wait_before_retry(url, attempt, last, retry_after)
        raise FetchError(f"{url}: gave up after {self.retry.attempts} attempts ({last})")

    def _wait_before_retry(self, url: str, attempt: int, reason: str, retry_after: float | None) -> None:
        with self._rng_lock:
            wait = self.retry.delay(attempt, self._rng, retry_after)
            self.retries += 1
        log.debug("retry %d for %s in %.2fs (%s)", attempt, url, wait, reason)
        self.cancelled.wait(wait)
