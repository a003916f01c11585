"""Polite HTTP fetching: one shared client, a request-rate cap, and retries with backoff and jitter.

What is retried: timeouts, connection errors (refused, reset, dropped mid-body), any 5xx and 429.
A ``Retry-After`` header (seconds or an HTTP date) is honoured, capped by the policy. Other 4xx are
final at once: asking again will not change a 404 or a 403. Every request carries a User-Agent that
names geocolor, plus the user's own headers (API keys).

Every byte from a server is treated as hostile: a response body larger than ``max_bytes`` is cut
off and refused (an endless body cannot fill memory), one URL gets ``deadline`` seconds in all,
retries included (a server that drips a byte a second cannot hang a harvest), and redirects are
followed by hand, at most ``max_redirects`` (a loop is one clear error), with the user's headers sent
only to the origin (scheme, host, port) the URL names: an API key never follows a redirect elsewhere.

All waiting goes through a cancel event, so a cancelled harvest stops sleeping at once. The rate cap
is this process's (``RateLimiter``) unless a ``limiter`` shared wider is given (``geocolor.cluster.ratelimit``).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

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


MAX_BYTES = 64 * 1024 * 1024  # per response: far above any tile or capabilities document
DEADLINE = 300.0  # seconds per URL, all attempts together
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the default port made explicit: what "same origin" compares."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def is_retryable_status(status: int) -> bool:
    """429 and every 5xx are worth another try; other statuses are final."""
    return status == 429 or 500 <= status <= 599


class Limiter(Protocol):
    """What paces requests: ``acquire()`` returns when the next request may start."""

    def acquire(self) -> None: ...


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
        max_bytes: int = MAX_BYTES,
        deadline: float = DEADLINE,
        max_redirects: int = MAX_REDIRECTS,
        limiter: Limiter | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.cancelled = threading.Event()
        self._rate: Limiter = limiter if limiter is not None else RateLimiter(rate, self.cancelled)
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._own_client = client is None
        self._headers = dict(headers or {})  # sent only to the origin a URL names, never to a redirect elsewhere
        self.max_bytes, self.deadline, self.max_redirects = max_bytes, deadline, max_redirects
        self._client = client or httpx.Client(
            headers={"User-Agent": user_agent()},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
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
        """GET ``url`` with retries; the final answer, or :class:`FetchError` when retries or time run out."""
        last = "no attempt made"
        due = time.monotonic() + self.deadline
        for attempt in range(1, self.retry.attempts + 1):
            if self.cancelled.is_set():
                raise FetchError(f"cancelled before {url} was fetched")
            self._rate.acquire()
            retry_after: float | None = None
            try:
                with self._count_lock:
                    self.requests += 1
                resp, headers = self._attempt(url, due)
                if not is_retryable_status(resp.status):
                    return resp
                retry_after = parse_retry_after(headers.get("retry-after"))
                last = f"HTTP {resp.status}"
            except httpx.TransportError as e:  # timeouts, refused/reset/dropped connections, truncated bodies
                last = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            if time.monotonic() >= due:
                break
            if attempt < self.retry.attempts:
                self._wait_before_retry(url, attempt, last, retry_after, due)
        if time.monotonic() >= due:
            raise FetchError(f"{url}: no complete answer within {self.deadline:g} s ({last})")
        raise FetchError(f"{url}: gave up after {self.retry.attempts} attempts ({last})")

    def _attempt(self, url: str, due: float) -> tuple[Response, httpx.Headers]:
        """One GET, redirects followed by hand; the body read within ``max_bytes`` and the deadline."""
        home = origin(url)
        current = url
        for _ in range(self.max_redirects + 1):
            try:
                request = self._client.build_request("GET", current, headers=self._headers if origin(current) == home else None)
            except httpx.InvalidURL as e:
                raise FetchError(f"{current}: not a valid URL ({e})") from None
            resp = self._client.send(request, stream=True)
            try:
                location = resp.headers.get("location")
                if resp.status_code in REDIRECTS and location:
                    current = str(resp.url.join(location))
                    if origin(current)[0] not in ("http", "https"):
                        raise FetchError(f"{url}: redirected to {current}, which is not http(s)")
                    continue
                body = self._read_body(resp, url, due)
                return Response(url, resp.status_code, body, resp.headers.get("content-type", "")), resp.headers
            finally:
                resp.close()
        raise FetchError(f"{url}: more than {self.max_redirects} redirects (a redirect loop?)")

    def _read_body(self, resp: httpx.Response, url: str, due: float) -> bytes:
        length = resp.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise FetchError(f"{url}: the server announces {int(length)} bytes, more than the {self.max_bytes} allowed")
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_bytes():
            total += len(chunk)
            if total > self.max_bytes:
                raise FetchError(f"{url}: the body passed {self.max_bytes} bytes; refused")
            if time.monotonic() > due:
                raise FetchError(f"{url}: the body was still arriving after {self.deadline:g} s ({total} bytes); refused")
            chunks.append(chunk)
        return b"".join(chunks)

    def _wait_before_retry(self, url: str, attempt: int, reason: str, retry_after: float | None, due: float) -> None:
        with self._rng_lock:
            wait = self.retry.delay(attempt, self._rng, retry_after)
            self.retries += 1
        wait = min(wait, max(0.0, due - time.monotonic()))
        log.debug("retry %d for %s in %.2fs (%s)", attempt, url, wait, reason)
        self.cancelled.wait(wait)
