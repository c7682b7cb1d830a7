"""The Office 365 Management Activity API: ``{root}/api/v1.0/{tenant}/activity/feed/...``.

Contract: learn.microsoft.com/office/office-365-management-api/
office-365-management-activity-api-reference.

- subscriptions ``start`` (optional webhook, validated with a ``Webhook-ValidationCode`` POST),
  ``stop``, ``list``; content created while a subscription was stopped is never listed;
- ``subscriptions/content``: ``startTime``/``endTime`` both or neither, at most 24 hours apart,
  start at most 7 days back (``AF20030``), windowed on ``contentCreated`` (start inclusive, end
  exclusive); more results through a ``NextPageUri`` header that keeps the window but not the
  ``PublisherIdentifier`` (the caller adds it);
- ``audit/{contentId}``: the blob, a JSON array of records; expired content (older than 7 days)
  answers ``AF20051``;
- every call counts against a per-tenant, per-publisher quota (2 000 a minute); calls without
  ``PublisherIdentifier`` share one small global pool; throttling answers HTTP 403 ``AF429``.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from tenantwatch.emulator.auth import MANAGE_RESOURCE, TokenClaims
from tenantwatch.emulator.faults import with_faults
from tenantwatch.emulator.render.ual import CONTENT_TYPES, ual_record
from tenantwatch.emulator.state import EmulatorState, Subscription, manage_error
from tenantwatch.emulator.timeline import Blob

__all__ = ["WebhookNotifier", "manage_router", "parse_feed_time"]

PAGE_SIZE = 200
RETENTION = timedelta(days=7)
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_NEXT_PAGE = re.compile(r"^(?P<stamp>\d{10})R(?P<offset>\d{12})$")
_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")
DLP_TYPES = [
    {"id": "50842eb7-edc8-4019-85dd-5a5c1f2bb085", "name": "CreditCardNumber"},
    {"id": "0e9b3178-9678-47dd-a509-37222ca96b42", "name": "EUDebitCardNumber"},
    {"id": "a44669fe-0d48-453d-a9b1-2cc83f2cba77", "name": "U.S. Social Security Number (SSN)"},
]


def parse_feed_time(text: str) -> datetime | None:
    """The Activity API's datetime forms (UTC): date, minutes, seconds; a ``Z`` or fraction is
    tolerated. ``None`` if it is none of them."""
    value = text.strip().removesuffix("Z")
    if "." in value:
        value = value.split(".", 1)[0]
    for fmt in _FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _feed_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _content_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def manage_router(state: EmulatorState) -> APIRouter:
    """Routes mounted under the Activity API root (``/manage`` on the emulator)."""
    router = APIRouter()

    def guard(request: Request, tenant_id: str, method: str) -> TokenClaims | Response:
        if not _GUID.match(tenant_id):
            return manage_error(
                400,
                "AF20013",
                f"The tenant ID passed in the URL ({tenant_id}) is not a valid GUID.",
            )
        try:
            claims = state.idp.validate(request.headers.get("authorization"), MANAGE_RESOURCE)
        except ValueError:
            return state.json_response(
                {"Message": "Authorization has been denied for this request."}, 401
            )
        if claims.tenant_id.lower() != tenant_id.lower():
            return manage_error(
                401,
                "AF20010",
                f"The tenant ID passed in the URL ({tenant_id}) does not match the tenant ID "
                "passed "
                f"in the access token ({claims.tenant_id}).",
            )
        if tenant_id not in state.tenants:
            return manage_error(
                400,
                "AF20011",
                f"Specified tenant ID ({tenant_id}) does not exist in the system or has been "
                "deleted.",
            )
        if "ActivityFeed.Read" not in claims.roles:
            return manage_error(
                401,
                "AF10001",
                f"The permission set ({' '.join(claims.roles)}) sent in the request did not "
                "include "
                "the expected permission ActivityFeed.Read.",
            )
        throttled = state.manage_throttle(
            tenant_id, request.query_params.get("PublisherIdentifier"), method
        )
        return throttled if throttled is not None else claims

    def content_type_of(request: Request) -> str | Response:
        value = request.query_params.get("contentType")
        if value is None:
            return manage_error(400, "AF20001", "Missing parameter: contentType.")
        for known in CONTENT_TYPES:
            if value.lower() == known.lower():
                return known
        return manage_error(400, "AF20020", "The specified content type is not valid.")

    for prefix in ("/api/v1.0/{tenant_id}/activity/feed", "/api/v1/{tenant_id}/activity/feed"):

        @router.post(prefix + "/subscriptions/start")
        async def start(tenant_id: str, request: Request) -> Response:
            claims = guard(request, tenant_id, "POST")
            if isinstance(claims, Response):
                return claims
            ct = content_type_of(request)
            if isinstance(ct, Response):
                return ct
            body = await request.body()
            return _start(state, tenant_id, ct, claims, body)

        @router.post(prefix + "/subscriptions/stop")
        def stop(tenant_id: str, request: Request) -> Response:
            claims = guard(request, tenant_id, "POST")
            if isinstance(claims, Response):
                return claims
            ct = content_type_of(request)
            if isinstance(ct, Response):
                return ct
            sub = state.subscriptions[tenant_id][ct]
            if not sub.periods:
                return manage_error(
                    400, "AF20022", "No subscription found for the specified content type."
                )
            if sub.enabled:
                sub.enabled = False
                begin, _ = sub.periods[-1]
                sub.periods[-1] = (begin, state.clock.now())
            return Response(status_code=200)

        @router.get(prefix + "/subscriptions/list")
        def list_subscriptions(tenant_id: str, request: Request) -> Response:
            claims = guard(request, tenant_id, "GET")
            if isinstance(claims, Response):
                return claims
            subs = state.subscriptions[tenant_id].values()
            return state.json_response([s.to_dict() for s in subs if s.periods])

        @router.get(prefix + "/subscriptions/content")
        def list_content(tenant_id: str, request: Request) -> Response:
            claims = guard(request, tenant_id, "GET")
            if isinstance(claims, Response):
                return claims
            ct = content_type_of(request)
            if isinstance(ct, Response):
                return ct
            return with_faults(
                state, "manage", "GET", lambda: _content(state, tenant_id, ct, request)
            )

        @router.get(prefix + "/subscriptions/notifications")
        def list_notifications(tenant_id: str, request: Request) -> Response:
            claims = guard(request, tenant_id, "GET")
            if isinstance(claims, Response):
                return claims
            ct = content_type_of(request)
            if isinstance(ct, Response):
                return ct
            sub = state.subscriptions[tenant_id][ct]
            if not sub.enabled:
                return _subscription_error(sub)
            return state.json_response(sub.sent)

        @router.get(prefix + "/audit/{content_id}")
        def get_content(tenant_id: str, content_id: str, request: Request) -> Response:
            claims = guard(request, tenant_id, "GET")
            if isinstance(claims, Response):
                return claims
            return with_faults(state, "manage", "GET", lambda: _blob(state, tenant_id, content_id))

        @router.get(prefix + "/resources/dlpSensitiveTypes")
        def dlp_types(tenant_id: str, request: Request) -> Response:
            claims = guard(request, tenant_id, "GET")
            if isinstance(claims, Response):
                return claims
            return state.json_response(DLP_TYPES)

    return router


def _subscription_error(sub: Subscription) -> Response:
    if not sub.periods:
        return manage_error(400, "AF20022", "No subscription found for the specified content type.")
    return manage_error(400, "AF20023", "The subscription was disabled by a tenant admin.")


def _start(
    state: EmulatorState, tenant_id: str, ct: str, claims: TokenClaims, body: bytes
) -> Response:
    sub = state.subscriptions[tenant_id][ct]
    webhook: dict[str, Any] | None = None
    if body.strip():
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return manage_error(400, "AF20002", "Invalid parameter type: body. Expected type: json")
        webhook = parsed.get("webhook") if isinstance(parsed, dict) else None
    wait = state.start_allowed(sub)
    if wait > 0:
        minutes, seconds = divmod(int(wait), 60)
        return manage_error(
            429,
            "AF429",
            f"Too many frequent subscription start requests. Please retry again after "
            f"{minutes}m {seconds}s",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    if webhook is not None:
        error = _validate_webhook(state, webhook)
        if error is not None:
            return error
        sub.webhook = {
            "status": "enabled",
            "address": webhook["address"],
            "authId": webhook.get("authId"),
            "expiration": webhook.get("expiration") or None,
        }
        sub.client_id = claims.app_id
    elif sub.enabled:
        return manage_error(
            400, "AF20024", "The subscription is already enabled. No property change."
        )
    if not sub.enabled:
        sub.enabled = True
        sub.periods.append((state.clock.now(), None))
    return state.json_response(sub.to_dict())


def _validate_webhook(state: EmulatorState, webhook: dict[str, Any]) -> Response | None:
    address = str(webhook.get("address", ""))
    if not address.startswith("https://") and not state.allow_http_webhooks:
        return manage_error(
            400,
            "AF20021",
            "The webhook endpoint "
            f"{{{address}) could not be validated. The address must begin with HTTPS.",
        )
    code = secrets.token_urlsafe(16)
    headers = {"Webhook-ValidationCode": code}
    if webhook.get("authId"):
        headers["Webhook-AuthID"] = str(webhook["authId"])
    try:
        with httpx.Client(verify=state.webhook_verify, trust_env=False, timeout=10) as client:
            answer = client.post(address, json={"validationCode": code}, headers=headers)
    except httpx.HTTPError:
        answer = None
    if answer is None or answer.status_code != 200:
        return manage_error(
            400,
            "AF20021",
            "The webhook endpoint "
            f"{{{address}) could not be validated. The endpoint did not return HTTP 200.",
        )
    return None


def _content(state: EmulatorState, tenant_id: str, ct: str, request: Request) -> Response:
    params = request.query_params
    now = state.clock.now()
    sub = state.subscriptions[tenant_id][ct]
    if not sub.enabled:
        return _subscription_error(sub)
    start_text, end_text = params.get("startTime"), params.get("endTime")
    if (start_text is None) != (end_text is None):
        return _af20030()
    if start_text is None or end_text is None:
        start, end = now - timedelta(hours=24), now
    else:
        parsed_start, parsed_end = parse_feed_time(start_text), parse_feed_time(end_text)
        if parsed_start is None:
            return manage_error(
                400, "AF20002", "Invalid parameter type: startTime. Expected type: datetime"
            )
        if parsed_end is None:
            return manage_error(
                400, "AF20002", "Invalid parameter type: endTime. Expected type: datetime"
            )
        start, end = parsed_start, parsed_end
        if end <= start or end - start > timedelta(hours=24) or start < now - RETENTION:
            return _af20030()
    offset = 0
    if "nextPage" in params:
        m = _NEXT_PAGE.match(params["nextPage"])
        if m is None:
            return manage_error(400, "AF20031", f"Invalid nextPage Input: {params['nextPage']}.")
        offset = int(m["offset"])
    tenant = state.tenants[tenant_id]
    timeline = tenant.timeline
    listed: list[Blob] = []
    stalled = state.faults.stalled_at(ct)
    first_slot = max(timeline.slot_of(start) - 2, timeline.slot_of(timeline.history_start))
    last_slot = timeline.slot_of(min(end, now))
    for slot in range(first_slot, last_slot + 1):
        for blob, _records in timeline.blobs(ct, slot):
            created = blob.created
            if not (start <= created < end and created <= now and created >= now - RETENTION):
                continue
            if not sub.enabled_at(created, state.first_content_delay_secs):
                continue
            if stalled is not None and created > stalled:
                continue
            listed.append(blob)
    page = listed[offset : offset + PAGE_SIZE]
    root = f"{state.manage_url}/api/v1.0/{tenant_id}/activity/feed"
    body = [
        {
            "contentType": ct,
            "contentId": b.content_id,
            "contentUri": f"{root}/audit/{b.content_id}",
            "contentCreated": _content_time(b.created),
            "contentExpiration": _content_time(b.expiration),
        }
        for b in page
    ]
    headers = {}
    if offset + PAGE_SIZE < len(listed):
        token = f"{start:%Y%m%d%H}R{offset + PAGE_SIZE:012d}"
        headers["NextPageUri"] = (
            f"{state.manage_url}/api/v1/{tenant_id}/activity/feed/subscriptions/content"
            f"?contentType={ct}&startTime={_feed_time(start)}&endTime={_feed_time(end)}"
            f"&nextPage={token}"
        )
    return state.json_response(body, headers=headers)


def _af20030() -> Response:
    return manage_error(
        400,
        "AF20030",
        "Start time and end time must both be specified (or both omitted) and must be less than "
        "or equal to 24 hours apart, with the start time no more than 7 days in the past.",
    )


def _blob(state: EmulatorState, tenant_id: str, content_id: str) -> Response:
    parsed = Blob.parse(content_id)
    if parsed is None:
        return manage_error(400, "AF20052", f"Content ID {content_id} in the URL is invalid.")
    code, slot, part = parsed
    ct = CONTENT_TYPES[code]
    now = state.clock.now()
    tenant = state.tenants[tenant_id]
    found = tenant.timeline.blob(ct, slot, part)
    if found is None or found[0].created > now:
        return manage_error(404, "AF20050", f"The specified content ({content_id}) does not exist.")
    blob, activities = found
    if blob.created < now - RETENTION or content_id in state.faults.expired_content:
        return manage_error(
            400,
            "AF20051",
            f"Content requested with the key {content_id} has already expired. Content older "
            "than 7 days cannot be retrieved.",
        )
    sub = state.subscriptions[tenant_id][ct]
    if not sub.enabled_at(blob.created, state.first_content_delay_secs):
        return manage_error(404, "AF20050", f"The specified content ({content_id}) does not exist.")
    domain = tenant.directory.domain
    records = [ual_record(a, tenant_id, domain) for a in activities]
    state.record_served(tenant_id, f"o365/{ct}", [r["Id"] for r in records])
    return state.json_response(records)


class WebhookNotifier(threading.Thread):
    """Posts notifications of new content blobs to subscriptions' webhooks."""

    def __init__(self, state: EmulatorState, *, interval_secs: float = 2.0) -> None:
        super().__init__(daemon=True, name="emulator-webhooks")
        self.state = state
        self.interval = interval_secs
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                self.notify_once()
            except Exception:
                time.sleep(self.interval)

    def notify_once(self) -> None:
        state = self.state
        now = state.clock.now()
        for tenant_id, subs in state.subscriptions.items():
            timeline = state.tenants[tenant_id].timeline
            for ct, sub in subs.items():
                if not (sub.enabled and sub.webhook and sub.webhook.get("status") == "enabled"):
                    continue
                last = timeline.slot_of(now) - 1
                first = sub.notified_slot + 1 if sub.notified_slot >= 0 else last
                items = []
                for slot in range(first, last + 1):
                    for blob, _ in timeline.blobs(ct, slot):
                        if blob.created <= now and sub.enabled_at(blob.created):
                            root = f"{state.manage_url}/api/v1.0/{tenant_id}/activity/feed"
                            items.append(
                                {
                                    "tenantId": tenant_id,
                                    "clientId": sub.client_id,
                                    "contentType": ct,
                                    "contentId": blob.content_id,
                                    "contentUri": f"{root}/audit/{blob.content_id}",
                                    "contentCreated": _content_time(blob.created),
                                    "contentExpiration": _content_time(blob.expiration),
                                }
                            )
                if (items and self._post(sub, items)) or not items:
                    sub.notified_slot = last

    def _post(self, sub: Subscription, items: list[dict[str, Any]]) -> bool:
        assert sub.webhook is not None
        headers = {"Webhook-AuthID": str(sub.webhook.get("authId") or "")}
        try:
            with httpx.Client(verify=self.state.webhook_verify, trust_env=False, timeout=10) as c:
                ok = c.post(sub.webhook["address"], json=items, headers=headers).status_code == 200
        except httpx.HTTPError:
            ok = False
        stamp = _content_time(self.state.clock.now())
        status = "success" if ok else "failed"
        sub.sent.extend(
            {**i, "notificationSent": stamp, "notificationStatus": status} for i in items
        )
        del sub.sent[:-1000]
        return ok
