"""HTTP calls to Microsoft's APIs: bearer tokens, retries, throttling, request budgets.

One :class:`ApiClient` per (tenant, API). It retries what a retry can fix and nothing else:

- HTTP 429, and HTTP 403 whose error code is ``AF429`` (the Management Activity API's throttle),
  wait for ``Retry-After`` when given, else back off exponentially with jitter;
- HTTP 5xx, timeouts, broken connections and truncated JSON bodies back off and retry;
- HTTP 401 drops the cached token and retries once with a fresh one;
- any other 4xx raises :class:`~tenantwatch.errors.SourceError` with Microsoft's error code.

Retries are counted, not dropped (Vector's rule): see
:class:`~tenantwatch.sources.base.SourceMetrics`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import tenacity

from tenantwatch.errors import SourceError, ThrottledError
from tenantwatch.sources.base import SourceMetrics
from tenantwatch.sources.credential import MsalCredential

__all__ = ["ApiClient", "ApiResponse", "RequestBudget", "RetryPolicy", "Stopped"]


class Stopped(Exception):
    """The pipeline is shutting down; abandon the current request."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per request and the bounds of exponential backoff."""

    max_attempts: int = 8
    initial_backoff_secs: float = 0.5
    max_backoff_secs: float = 60.0
    timeout_secs: float = 60.0


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: httpx.Headers
    body: Any


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, throttled: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.throttled = throttled


class RequestBudget:
    """At most ``limit`` requests per ``window_secs``, shared by every caller (client side),
    spaced evenly: one every ``window_secs / limit``.

    Graph allows 5 audit-log requests per 10 s per app and tenant; staying inside the budget
    is cheaper than collecting 429s. Spacing rather than bursting keeps the wait for new
    records short and steady: five polls at once followed by eight silent seconds would leave
    a record that appears in the silence waiting for all of them.
    """

    def __init__(
        self,
        limit: int,
        window_secs: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window_secs
        self.spacing = window_secs / limit
        self._monotonic = monotonic
        self._next = float("-inf")  # the earliest time the next request may go
        self._lock = threading.Lock()

    def acquire(self, stop: threading.Event) -> None:
        while True:
            with self._lock:
                now = self._monotonic()
                if now >= self._next:
                    self._next = now + self.spacing
                    return
                wait = self._next - now
            if stop.wait(wait):
                raise Stopped


class ApiClient:
    """Authenticated, retried JSON requests against one Microsoft API for one tenant."""

    def __init__(
        self,
        *,
        credential: MsalCredential,
        resource: str,
        http: httpx.Client,
        metrics: SourceMetrics,
        retry: RetryPolicy | None = None,
        budget: RequestBudget | None = None,
        stop: threading.Event | None = None,
        stream: str = "",
    ) -> None:
        self.credential = credential
        self.resource = resource
        self.http = http
        self.metrics = metrics
        self.retry = retry or RetryPolicy()
        self.budget = budget
        self.stop = stop or threading.Event()
        self.stream = stream

    def get(self, url: str, params: dict[str, str] | None = None) -> ApiResponse:
        """GET ``url``; ``params`` are merged into the query the URL already has (a next-page
        link keeps its own parameters)."""
        return self.request("GET", url, params=params)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> ApiResponse:
        """Send with retries; return the decoded JSON body (``None`` for an empty body)."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Transient),
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda _state: self.metrics.add(retries=1),
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, url, params, json_body, ok_statuses)
        except _Transient as exc:
            self.metrics.add(errors=1)
            if exc.throttled:
                raise ThrottledError(
                    f"still throttled after {self.retry.max_attempts} attempts: {exc.reason}",
                    retry_after_secs=exc.retry_after or 0.0,
                    tenant=self.credential.tenant_id,
                    stream=self.stream,
                ) from None
            raise SourceError(
                f"{method} {_redact(url)} failed after {self.retry.max_attempts} attempts: "
                f"{exc.reason}",
                tenant=self.credential.tenant_id,
                stream=self.stream,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        json_body: Any,
        ok_statuses: tuple[int, ...],
    ) -> ApiResponse:
        if self.budget is not None:
            self.budget.acquire(self.stop)
        headers = {"Authorization": f"Bearer {self.credential.token(self.resource)}"}
        self.metrics.add(requests=1)
        try:
            target = httpx.URL(url).copy_merge_params(params) if params else url
            response = self.http.request(
                method,
                target,
                headers=headers,
                content=orjson.dumps(json_body) if json_body is not None else None,
                timeout=self.retry.timeout_secs,
            )
        except httpx.TimeoutException:
            raise _Transient("timed out") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection problem ({type(exc).__name__})") from None
        status = response.status_code
        body = _decode(response)
        error_code, message = _error_of(body)
        if status == 401:
            self.credential.invalidate()
            raise _Transient(f"HTTP 401 {error_code}: {message}")
        if status == 429 or (status == 403 and error_code == "AF429"):
            self.metrics.add(throttled=1)
            raise _Transient(
                f"HTTP {status} {error_code or 'throttled'}",
                retry_after=_retry_after(response),
                throttled=True,
            )
        if status >= 500:
            raise _Transient(
                f"HTTP {status} {error_code}".strip(), retry_after=_retry_after(response)
            )
        if status >= 400 and status not in ok_statuses:
            raise SourceError(
                f"{method} {_redact(url)} answered HTTP {status} {error_code}: {message}",
                tenant=self.credential.tenant_id,
                stream=self.stream,
                status=status,
                code=error_code,
            )
        if body is _TRUNCATED:
            raise _Transient("response body is not complete JSON (truncated)")
        return ApiResponse(status=status, headers=response.headers, body=body)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff: float = min(
            self.retry.max_backoff_secs,
            self.retry.initial_backoff_secs * 2 ** (state.attempt_number - 1),
        )
        backoff *= 0.5 + _jitter()
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self.retry.max_backoff_secs * 5)
        return backoff

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped


_TRUNCATED = object()


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return _TRUNCATED


def _error_of(body: Any) -> tuple[str, str]:
    """Microsoft's error code and message, from Graph's or the Activity API's error body."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return str(err.get("code", "")), str(err.get("message", ""))
    if isinstance(body, dict) and "error" in body:
        return str(body.get("error")), str(body.get("error_description", ""))
    return "", ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _jitter() -> float:
    return random.random()  # noqa: S311 - jitter, not security


def _redact(url: str) -> str:
    """A URL safe for logs: no query string (it may carry tokens such as $skiptoken)."""
    return url.split("?", 1)[0]
