"""Shared state of a running emulator: tenants, identity, clock, throttling and faults."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.responses import Response

from tenantwatch.emulator.auth import GRAPH_RESOURCE, IdentityProvider, TokenClaims
from tenantwatch.emulator.tenant import SimTenant
from tenantwatch.model.clock import Clock

__all__ = ["EmulatorState", "Faults", "graph_error"]

T = TypeVar("T")


def graph_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """A Graph error body: ``{"error": {"code", "message", "innerError"}}``."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": str(uuid.uuid4()),
                "client-request-id": str(uuid.uuid4()),
            },
        }
    }
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


@dataclass
class Faults:
    """Faults injected on demand (each a probability per request, 0 = off)."""

    server_error_rate: float = 0.0
    seed: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults:{self.seed}")

    def graph_fault(self) -> Response | None:
        if self.server_error_rate and self._rng.random() < self.server_error_rate:
            return graph_error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        return None


class SlidingWindowLimit:
    """At most ``limit`` requests per ``window_secs`` per key (wall-clock time)."""

    def __init__(self, limit: int, window_secs: float) -> None:
        self.limit = limit
        self.window = window_secs
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: tuple[str, str]) -> float:
        """0 if the request may proceed (and is counted), else seconds to wait."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.001, hits[0] + self.window - now)
            hits.append(now)
            return 0.0


@dataclass
class EmulatorState:
    """Everything the HTTP handlers share."""

    clock: Clock
    idp: IdentityProvider
    tenants: dict[str, SimTenant]
    base_url: str = ""
    graph_requests_per_10s: int = 5
    faults: Faults = field(default_factory=Faults)
    requests_served: int = 0
    _graph_limit: SlidingWindowLimit = field(init=False, repr=False)
    _query_cache: OrderedDict[tuple[str, ...], Any] = field(default_factory=OrderedDict, repr=False)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._graph_limit = SlidingWindowLimit(self.graph_requests_per_10s, 10.0)

    def set_graph_limit(self, requests_per_10s: int) -> None:
        """Change Graph's per-app, per-tenant request limit (0 = unlimited)."""
        self.graph_requests_per_10s = requests_per_10s
        self._graph_limit = SlidingWindowLimit(requests_per_10s, 10.0)

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/graph"

    @property
    def manage_url(self) -> str:
        return f"{self.base_url}/manage"

    def json_response(self, body: dict[str, Any], status: int = 200) -> Response:
        self.requests_served += 1
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")

    def authorize_graph(self, request: Request) -> TokenClaims | Response:
        try:
            claims = self.idp.validate(request.headers.get("authorization"), GRAPH_RESOURCE)
        except ValueError as exc:
            code, message = exc.args
            return graph_error(401, code, message)
        if claims.tenant_id not in self.tenants:
            return graph_error(401, "InvalidAuthenticationToken", "Tenant not served here.")
        return claims

    def graph_throttle(self, claims: TokenClaims) -> Response | None:
        wait = self._graph_limit.retry_after((claims.tenant_id, claims.app_id))
        if wait <= 0:
            return None
        seconds = max(1, int(wait + 0.999))
        return graph_error(
            429,
            "TooManyRequests",
            "Too many requests.",
            headers={"Retry-After": str(seconds)},
        )

    def cached_query(self, key: tuple[str, ...], compute: Callable[[], T]) -> T:
        """Results of one query as of one instant, kept so later pages are cheap and stable."""
        with self._cache_lock:
            if key in self._query_cache:
                self._query_cache.move_to_end(key)
                return self._query_cache[key]  # type: ignore[no-any-return]
        value = compute()
        with self._cache_lock:
            self._query_cache[key] = value
            while len(self._query_cache) > 32:
                self._query_cache.popitem(last=False)
        return value
