"""Microsoft Graph audit-log endpoints: ``/{version}/auditLogs/signIns``.

Contract (learn.microsoft.com/graph/api/signin-list): newest first; ``$filter`` on
``createdDateTime`` with ``ge``/``gt``/``le``/``lt``/``eq``; ``$top`` up to 1000 (the default);
further pages through ``@odata.nextLink`` carrying an opaque ``$skiptoken``; ``signInEventTypes``
filter in beta; HTTP 429 with ``Retry-After`` beyond 5 requests per 10 seconds per app and
tenant (learn.microsoft.com/graph/throttling-limits).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from tenantwatch.emulator.render import graph_signin
from tenantwatch.emulator.state import EmulatorState, graph_error
from tenantwatch.emulator.timeline import Served

__all__ = ["FilterError", "SignInQuery", "graph_router", "parse_filter"]

MAX_TOP = 1000
SIGNIN_RETENTION = timedelta(days=30)
_TIME_CLAUSE = re.compile(
    r"^\s*(?P<field>createdDateTime)\s+(?P<op>ge|gt|le|lt|eq)\s+(?P<value>\S+)\s*$", re.I
)
_EVENT_TYPE_CLAUSE = re.compile(
    r"^\s*signInEventTypes/any\(\s*(?P<var>\w+)\s*:\s*(?P=var)\s+eq\s+'(?P<value>\w+)'\s*\)\s*$",
    re.I,
)
_STRING_CLAUSE = re.compile(
    r"^\s*(?P<field>userPrincipalName|userId|appId|ipAddress)\s+eq\s+'(?P<value>[^']*)'\s*$", re.I
)
EVENT_TYPES = ("interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity")


class FilterError(ValueError):
    """An OData ``$filter`` this endpoint does not support."""


@dataclass(frozen=True)
class SignInQuery:
    """A parsed ``$filter`` for sign-ins."""

    start: datetime | None = None  # inclusive
    start_open: bool = False  # gt instead of ge
    end: datetime | None = None  # inclusive
    end_open: bool = False  # lt instead of le
    event_type: str = "interactiveUser"
    equals: tuple[tuple[str, str], ...] = ()

    def matches(self, served: Served, record: dict[str, Any]) -> bool:
        t = served.time.replace(microsecond=served.time.microsecond // 1000 * 1000)
        if self.start is not None and (t < self.start or (self.start_open and t == self.start)):
            return False
        if self.end is not None and (t > self.end or (self.end_open and t == self.end)):
            return False
        if served.activity.event_type != self.event_type:
            return False
        return all(str(record.get(k) or "").lower() == v.lower() for k, v in self.equals)


def parse_filter(text: str, *, beta: bool) -> SignInQuery:
    """Parse the subset of OData ``$filter`` that Graph documents for sign-ins."""
    q: dict[str, Any] = {"equals": []}
    if not text.strip():
        return SignInQuery()
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.I):
        if m := _TIME_CLAUSE.match(clause):
            try:
                when = datetime.fromisoformat(m["value"])
            except ValueError:
                raise FilterError(
                    f"Invalid filter clause: bad DateTimeOffset {m['value']}"
                ) from None
            if when.tzinfo is None:
                raise FilterError("Invalid filter clause: DateTimeOffset needs a time zone (Z)")
            op = m["op"].lower()
            if op in ("ge", "gt", "eq"):
                q["start"], q["start_open"] = when, op == "gt"
            if op in ("le", "lt", "eq"):
                q["end"], q["end_open"] = when, op == "lt"
        elif m := _EVENT_TYPE_CLAUSE.match(clause):
            if not beta:
                raise FilterError(
                    "Invalid filter clause: signInEventTypes is only supported on /beta"
                )
            if m["value"] not in EVENT_TYPES:
                raise FilterError(f"Invalid filter clause: unknown signInEventType {m['value']}")
            q["event_type"] = m["value"]
        elif m := _STRING_CLAUSE.match(clause):
            q["equals"].append((m["field"], m["value"]))
        else:
            raise FilterError(f"Invalid filter clause: {clause.strip()}")
    q["equals"] = tuple(q["equals"])
    return SignInQuery(**q)


def _encode_token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, Any]:
    padded = token + "=" * (-len(token) % 4)
    value = orjson.loads(base64.urlsafe_b64decode(padded))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def graph_router(state: EmulatorState) -> APIRouter:
    """Routes mounted under the Graph base URL (``/graph`` on the emulator)."""
    router = APIRouter()

    @router.get("/{version}/auditLogs/signIns")
    def list_signins(version: str, request: Request) -> Response:
        if version not in ("v1.0", "beta"):
            return graph_error(400, "BadRequest", f"Invalid version: {version}")
        claims = state.authorize_graph(request)
        if isinstance(claims, Response):
            return claims
        if "AuditLog.Read.All" not in claims.roles:
            return graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        throttled = state.graph_throttle(claims)
        if throttled is not None:
            return throttled
        fault = state.faults.graph_fault()
        if fault is not None:
            return fault
        tenant = state.tenants[claims.tenant_id]
        params = request.query_params
        beta = version == "beta"
        if "$skiptoken" in params:
            try:
                position = _decode_token(params["$skiptoken"])
                filter_text, asof_text = str(position["f"]), str(position["a"])
                offset, top = int(position["o"]), int(position["t"])
                asof = datetime.fromisoformat(asof_text)
            except (ValueError, KeyError, TypeError):
                return graph_error(400, "BadRequest", "Invalid $skiptoken")
        else:
            filter_text = params.get("$filter", "")
            asof, offset = state.clock.now(), 0
            try:
                top = int(params.get("$top", MAX_TOP))
            except ValueError:
                return graph_error(400, "BadRequest", "Invalid $top value")
            if not 1 <= top <= MAX_TOP:
                return graph_error(
                    400,
                    "BadRequest",
                    f"Invalid page size specified: '{top}'. Must be between 1 and {MAX_TOP}.",
                )
        try:
            query = parse_filter(filter_text, beta=beta)
        except FilterError as exc:
            return graph_error(400, "BadRequest", str(exc))
        matches = state.cached_query(
            ("signIns", claims.tenant_id, filter_text, asof.isoformat(), version),
            lambda: _select(tenant.timeline.signins, query, asof, beta),
        )
        page = matches[offset : offset + top]
        body: dict[str, Any] = {
            "@odata.context": f"{state.graph_url}/{version}/$metadata#auditLogs/signIns",
            "value": page,
        }
        if offset + top < len(matches):
            token = _encode_token(
                {"f": filter_text, "a": asof.isoformat(), "o": offset + top, "t": top}
            )
            body["@odata.nextLink"] = (
                f"{state.graph_url}/{version}/auditLogs/signIns?$top={top}&$skiptoken={token}"
            )
        return state.json_response(body)

    return router


def _select(
    signins: Callable[[datetime, datetime], list[Served]],
    query: SignInQuery,
    asof: datetime,
    beta: bool,
) -> list[dict[str, Any]]:
    start = query.start or asof - SIGNIN_RETENTION
    start = max(start, asof - SIGNIN_RETENTION)
    end = min(query.end + timedelta(milliseconds=1) if query.end else asof, asof)
    rows = []
    for served in signins(start, end):
        if served.available > asof:
            continue
        record = graph_signin(served.activity, beta=beta)
        if query.matches(served, record):
            rows.append((served.time, served.id, record))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return [r[2] for r in rows]
