"""Shared state of a running emulator: tenants, identity, clock, throttling, faults, and the
record of what was served."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.responses import Response

from tenantwatch.emulator.auth import GRAPH_RESOURCE, IdentityProvider, TokenClaims
from tenantwatch.emulator.render.ual import CONTENT_TYPES
from tenantwatch.emulator.tenant import SimTenant
from tenantwatch.model.clock import Clock

__all__ = ["EmulatorState", "Faults", "Subscription", "graph_error", "manage_error"]

T = TypeVar("T")


def _body(data: Any) -> bytes:
    return orjson.dumps(data)


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
    return Response(_body(body), status_code=status, media_type="application/json", headers=headers)


def manage_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """A Management Activity API error body: ``{"error": {"code": "AF...", "message"}}``."""
    return Response(
        _body({"error": {"code": code, "message": message}}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


@dataclass
class Faults:
    """Trouble on demand. Rates are probabilities per request (0 = never)."""

    server_error_rate: float = 0.0
    truncate_rate: float = 0.0
    slow_rate: float = 0.0
    slow_secs: float = 2.0
    hang_rate: float = 0.0
    hang_secs: float = 30.0
    throttle_rate: float = 0.0
    throttle_until: float = 0.0  # wall clock: a throttling storm until then
    retry_after_secs: int = 1  # what throttled answers ask the client to wait
    expired_content: set[str] = field(default_factory=set)
    apis: set[str] = field(default_factory=lambda: {"graph", "manage"})
    # a stalled feed: nothing that became available after this (simulated) time is served on
    # the stream (a content type such as "Audit.Exchange", or "graph/signIns/interactiveUser",
    # "graph/directoryAudits"); set with {"stall_streams": [...]} , lifted with
    # {"resume_streams": [...]}, when the held records appear late
    stalled: dict[str, datetime] = field(default_factory=dict)
    seed: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults:{self.seed}")

    def pick(self, api: str) -> str | None:
        """The fault to inject into this request, if any."""
        if api not in self.apis:
            return None
        if time.time() < self.throttle_until:
            return "throttle"
        with self._lock:
            roll = self._rng.random()
        for name, rate in (
            ("throttle", self.throttle_rate),
            ("error", self.server_error_rate),
            ("truncate", self.truncate_rate),
            ("slow", self.slow_rate),
            ("hang", self.hang_rate),
        ):
            if roll < rate:
                return name
            roll -= rate
        return None

    def stalled_at(self, stream: str) -> datetime | None:
        """When the feed of ``stream`` stalled, if it is stalled."""
        return self.stalled.get(stream)

    def update(self, settings: dict[str, Any], now: datetime | None = None) -> None:
        """Change knobs by name (the control API's body); ``now`` is the simulated time a
        stall starts."""
        for name, given in settings.items():
            key, value = name, given
            if key in ("stall_streams", "resume_streams"):
                if not isinstance(given, list) or not all(isinstance(s, str) for s in given):
                    raise ValueError(f"{key} takes a list of stream names")
                for stream in given:
                    if key == "resume_streams":
                        self.stalled.pop(stream, None)
                    elif now is not None:
                        self.stalled.setdefault(stream, now)
                continue
            if key == "throttle_for_secs":  # a storm starting now
                key, value = "throttle_until", time.time() + float(given)
            if key.startswith("_") or not hasattr(self, key):
                raise ValueError(f"unknown fault setting {key!r}")
            setattr(self, key, set(value) if key in ("expired_content", "apis") else value)


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
class Subscription:
    """One content type's subscription for one tenant."""

    content_type: str
    enabled: bool = False
    webhook: dict[str, Any] | None = None
    periods: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    starts: deque[float] = field(default_factory=deque)  # wall times of recent start calls
    notified_slot: int = -1
    client_id: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)  # notification attempts

    def enabled_at(self, when: datetime, first_content_delay_secs: float = 0.0) -> bool:
        delay = timedelta(seconds=first_content_delay_secs)
        return any(a + delay <= when and (b is None or when < b) for a, b in self.periods)

    def to_dict(self) -> dict[str, Any]:
        return {
            "contentType": self.content_type,
            "status": "enabled" if self.enabled else "disabled",
            "webhook": self.webhook,
        }


@dataclass
class EmulatorState:
    """Everything the HTTP handlers share."""

    clock: Clock
    idp: IdentityProvider
    tenants: dict[str, SimTenant]
    base_url: str = ""
    graph_requests_per_10s: int = 5
    manage_requests_per_minute: int = 2000
    shared_pool_requests_per_minute: int = 60
    subscription_starts_per_15min: int = 10
    first_content_delay_secs: float = 0.0
    subscribed: bool = True
    track_served: bool = True
    allow_http_webhooks: bool = False
    webhook_verify: Any = True  # TLS verification for webhook calls: True, a CA path, or a context
    faults: Faults = field(default_factory=Faults)
    control_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    requests_served: int = 0
    served: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    subscriptions: dict[str, dict[str, Subscription]] = field(default_factory=dict)
    _graph_limit: SlidingWindowLimit = field(init=False, repr=False)
    _manage_limit: SlidingWindowLimit = field(init=False, repr=False)
    _shared_limit: SlidingWindowLimit = field(init=False, repr=False)
    _query_cache: OrderedDict[tuple[str, ...], Any] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._graph_limit = SlidingWindowLimit(self.graph_requests_per_10s, 10.0)
        self._manage_limit = SlidingWindowLimit(self.manage_requests_per_minute, 60.0)
        self._shared_limit = SlidingWindowLimit(self.shared_pool_requests_per_minute, 60.0)
        for tenant_id, tenant in self.tenants.items():
            self.subscriptions[tenant_id] = {}
            for content_type in CONTENT_TYPES:
                sub = Subscription(content_type)
                if self.subscribed:
                    sub.enabled = True
                    sub.periods.append((tenant.timeline.history_start, None))
                self.subscriptions[tenant_id][content_type] = sub

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

    def json_response(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        with self._lock:
            self.requests_served += 1
        return Response(
            _body(body), status_code=status, media_type="application/json", headers=headers
        )

    def record_served(self, tenant_id: str, stream: str, ids: list[str]) -> None:
        if self.track_served and ids:
            with self._lock:
                self.served[(tenant_id, stream)].update(ids)

    # -- Graph -------------------------------------------------------------------------------

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
        return graph_error(
            429,
            "TooManyRequests",
            "Too many requests.",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )

    # -- Management Activity API --------------------------------------------------------------

    def manage_throttle(
        self, tenant_id: str, publisher: str | None, method: str
    ) -> Response | None:
        if publisher:
            wait = self._manage_limit.retry_after((tenant_id, publisher.lower()))
        else:
            wait = self._shared_limit.retry_after(("", ""))
        if wait <= 0:
            return None
        return manage_error(
            403,
            "AF429",
            f"Too many requests. Method={method}, "
            f"PublisherId={publisher or '00000000-0000-0000-0000-000000000000'}",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )

    def start_allowed(self, sub: Subscription) -> float:
        """0 if a subscription start is allowed now, else seconds until it is."""
        now = time.time()
        while sub.starts and sub.starts[0] <= now - 900:
            sub.starts.popleft()
        if len(sub.starts) >= self.subscription_starts_per_15min > 0:
            return sub.starts[0] + 900 - now
        sub.starts.append(now)
        return 0.0

    def cached_query(self, key: tuple[str, ...], compute: Callable[[], T]) -> T:
        """Results of one query as of one instant, kept so later pages are cheap and stable."""
        with self._lock:
            if key in self._query_cache:
                self._query_cache.move_to_end(key)
                return self._query_cache[key]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._query_cache[key] = value
            while len(self._query_cache) > 64:
                self._query_cache.popitem(last=False)
        return value
