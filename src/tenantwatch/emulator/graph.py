"""Microsoft Graph audit logs: ``/{version}/auditLogs/signIns`` and ``.../directoryAudits``.

Contract (learn.microsoft.com/graph/api/signin-list, .../directoryaudit-list): newest first;
``$filter`` on the time property (``createdDateTime`` / ``activityDateTime``) with ``ge``,
``gt``, ``le``, ``lt``, ``eq``; ``$top`` up to 1000 (the default); further pages through
``@odata.nextLink`` carrying an opaque ``$skiptoken``; the ``signInEventTypes`` filter in beta
(without it, only interactive user sign-ins are listed); HTTP 429 with ``Retry-After`` beyond
5 requests per 10 seconds per app and tenant (learn.microsoft.com/graph/throttling-limits).
Sign-ins are kept 30 days, directory audits 30 days.
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

from tenantwatch.emulator.activities import DirectoryAudit, SignIn
from tenantwatch.emulator.faults import with_faults
from tenantwatch.emulator.render.graph import graph_directory_audit, graph_signin
from tenantwatch.emulator.state import EmulatorState, graph_error
from tenantwatch.emulator.streams import GRAPH_DIRECTORY_AUDITS
from tenantwatch.emulator.timeline import Served

__all__ = ["FilterError", "GraphQuery", "graph_router", "parse_filter"]

MAX_TOP = 1000
RETENTION = timedelta(days=30)
EVENT_TYPES = ("interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity")
_TIME = re.compile(r"^\s*(?P<field>\w+)\s+(?P<op>ge|gt|le|lt|eq)\s+(?P<value>\S+)\s*$", re.I)
_EVENT_TYPE = re.compile(
    r"^\s*signInEventTypes/any\(\s*(?P<var>\w+)\s*:\s*(?P=var)\s+eq\s+'(?P<value>\w+)'\s*\)\s*$",
    re.I,
)
_STRING = re.compile(r"^\s*(?P<field>[\w/]+)\s+eq\s+'(?P<value>[^']*)'\s*$", re.I)
FILTERABLE = {
    True: (
        "id",
        "userPrincipalName",
        "userId",
        "userDisplayName",
        "appId",
        "appDisplayName",
        "ipAddress",
        "clientAppUsed",
        "conditionalAccessStatus",
        "correlationId",
        "location/city",
        "location/state",
        "location/countryOrRegion",
    ),
    False: (
        "id",
        "category",
        "activityDisplayName",
        "result",
        "loggedByService",
        "correlationId",
        "operationType",
        "initiatedBy/user/id",
        "initiatedBy/user/userPrincipalName",
        "initiatedBy/app/appId",
        "initiatedBy/app/displayName",
    ),
}


class FilterError(ValueError):
    """An OData ``$filter`` this endpoint does not support."""


@dataclass(frozen=True)
class GraphQuery:
    """A parsed ``$filter``."""

    start: datetime | None = None
    start_open: bool = False
    end: datetime | None = None
    end_open: bool = False
    event_type: str = "interactiveUser"
    equals: tuple[tuple[str, str], ...] = ()

    def in_window(self, when: datetime) -> bool:
        t = when.replace(microsecond=when.microsecond // 1000 * 1000)
        if self.start is not None and (t < self.start or (self.start_open and t == self.start)):
            return False
        return not (self.end is not None and (t > self.end or (self.end_open and t == self.end)))

    def matches(self, record: dict[str, Any]) -> bool:
        for path, expected in self.equals:
            value: Any = record
            for key in path.split("/"):
                value = value.get(key) if isinstance(value, dict) else None
            if str(value or "").lower() != expected.lower():
                return False
        return True


def parse_filter(text: str, *, time_field: str, beta: bool, signins: bool) -> GraphQuery:
    """Parse the subset of OData ``$filter`` that Graph documents for audit logs."""
    q: dict[str, Any] = {"equals": []}
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.I) if text.strip() else []:
        if (m := _TIME.match(clause)) and m["field"].lower() == time_field.lower():
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
        elif signins and (m := _EVENT_TYPE.match(clause)):
            if not beta:
                raise FilterError(
                    "Invalid filter clause: signInEventTypes is only supported on /beta"
                )
            if m["value"] not in EVENT_TYPES:
                raise FilterError(f"Invalid filter clause: unknown signInEventType {m['value']}")
            q["event_type"] = m["value"]
        elif (m := _STRING.match(clause)) and m["field"] in FILTERABLE[signins]:
            q["equals"].append((m["field"], m["value"]))
        else:
            raise FilterError(f"Invalid filter clause: {clause.strip()}")
    q["equals"] = tuple(q["equals"])
    return GraphQuery(**q)


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    value = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def graph_router(state: EmulatorState) -> APIRouter:
    """Routes mounted under the Graph base URL (``/graph`` on the emulator)."""
    router = APIRouter()

    def listing(version: str, request: Request, resource: str) -> Response:
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
        return with_faults(
            state,
            "graph",
            "GET",
            lambda: _page(state, claims.tenant_id, version, request, resource),
        )

    @router.get("/{version}/auditLogs/signIns")
    def list_signins(version: str, request: Request) -> Response:
        return listing(version, request, "signIns")

    @router.get("/{version}/auditLogs/directoryAudits")
    def list_directory_audits(version: str, request: Request) -> Response:
        return listing(version, request, "directoryAudits")

    return router


def _page(
    state: EmulatorState, tenant_id: str, version: str, request: Request, resource: str
) -> Response:
    params = request.query_params
    beta = version == "beta"
    signins = resource == "signIns"
    if "$skiptoken" in params:
        try:
            position = _decode(params["$skiptoken"])
            filter_text, asof = str(position["f"]), datetime.fromisoformat(str(position["a"]))
            offset, top = int(position["o"]), int(position["t"])
        except (ValueError, KeyError, TypeError):
            return graph_error(400, "BadRequest", "Invalid $skiptoken")
    else:
        filter_text, asof, offset = params.get("$filter", ""), state.clock.now(), 0
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
        query = parse_filter(
            filter_text,
            time_field="createdDateTime" if signins else "activityDateTime",
            beta=beta,
            signins=signins,
        )
    except FilterError as exc:
        return graph_error(400, "BadRequest", str(exc))
    tenant = state.tenants[tenant_id]
    stream = f"graph/signIns/{query.event_type}" if signins else GRAPH_DIRECTORY_AUDITS
    render: Callable[[Served], dict[str, Any]] = (
        (lambda s: graph_signin(_as(s, SignIn), beta=beta))
        if signins
        else (lambda s: graph_directory_audit(_as(s, DirectoryAudit)))
    )
    stalled = state.faults.stalled_at(stream)
    visible = asof if stalled is None else min(asof, stalled)  # a stalled feed shows no more
    matches = state.cached_query(
        (stream, tenant_id, filter_text, visible.isoformat(), version),
        lambda: _select(tenant.timeline.graph_records, stream, query, visible, render),
    )
    page = matches[offset : offset + top]
    state.record_served(tenant_id, stream, [r["id"] for r in page])
    body: dict[str, Any] = {
        "@odata.context": f"{state.graph_url}/{version}/$metadata#auditLogs/{resource}",
        "value": page,
    }
    if offset + top < len(matches):
        token = _encode({"f": filter_text, "a": asof.isoformat(), "o": offset + top, "t": top})
        body["@odata.nextLink"] = (
            f"{state.graph_url}/{version}/auditLogs/{resource}?$top={top}&$skiptoken={token}"
        )
    return state.json_response(body)


def _as(served: Served, kind: type[Any]) -> Any:
    assert isinstance(served.activity, kind)
    return served.activity


def _select(
    records: Callable[[str, datetime, datetime], list[Served]],
    stream: str,
    query: GraphQuery,
    asof: datetime,
    render: Callable[[Served], dict[str, Any]],
) -> list[dict[str, Any]]:
    start = max(query.start or asof - RETENTION, asof - RETENTION)
    end = min(query.end + timedelta(milliseconds=1) if query.end else asof, asof)
    rows = []
    for served in records(stream, start, end):
        if served.available > asof or not query.in_window(served.time):
            continue
        record = render(served)
        if query.matches(record):
            rows.append((served.time, served.id, record))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return [r[2] for r in rows]
