"""Graph ``auditLogs/signIns`` contract: filters, paging, limits, errors, throttling."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tenantwatch.emulator.auth import GRAPH_RESOURCE
from tests.conftest import NO_ROLES_CLIENT_ID, START, Emulated


def _get(emulated: Emulated, token: str, url: str, **params: str) -> tuple[int, dict, dict]:
    with emulated.http() as http:
        r = http.get(url, params=params or None, headers={"Authorization": f"Bearer {token}"})
    return r.status_code, r.json(), dict(r.headers)


def _signins_url(emulated: Emulated, version: str = "v1.0") -> str:
    return f"{emulated.cloud.graph}/{version}/auditLogs/signIns"


def _window(start: datetime, end: datetime) -> str:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return f"createdDateTime ge {start.strftime(fmt)} and createdDateTime lt {end.strftime(fmt)}"


def test_paging_to_the_last_page_returns_each_record_once(
    emulated: Emulated, graph_token: str
) -> None:
    flt = _window(START - timedelta(hours=1), START + timedelta(hours=1))
    status, body, _ = _get(
        emulated, graph_token, _signins_url(emulated), **{"$filter": flt, "$top": "17"}
    )
    assert status == 200
    ids, pages = [r["id"] for r in body["value"]], 1
    while "@odata.nextLink" in body:
        status, body, _ = _get(emulated, graph_token, body["@odata.nextLink"])
        assert status == 200
        ids += [r["id"] for r in body["value"]]
        pages += 1
    expected = [
        s.id
        for s in emulated.tenant.timeline.graph_records(
            "graph/signIns/interactiveUser", START - timedelta(hours=1), START + timedelta(hours=1)
        )
        if s.available <= emulated.clock.now()
    ]
    assert pages > 2
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(expected)


def test_records_come_newest_first(emulated: Emulated, graph_token: str) -> None:
    flt = _window(START - timedelta(hours=1), START + timedelta(hours=1))
    _, body, _ = _get(emulated, graph_token, _signins_url(emulated), **{"$filter": flt})
    times = [r["createdDateTime"] for r in body["value"]]
    assert times == sorted(times, reverse=True)
    assert all(
        START - timedelta(hours=1) <= datetime.fromisoformat(t) < START + timedelta(hours=1)
        for t in times
    )


def test_records_not_yet_available_are_not_served(emulated: Emulated, graph_token: str) -> None:
    now = emulated.clock.now()
    _, body, _ = _get(emulated, graph_token, _signins_url(emulated))
    served = {r["id"] for r in body["value"]}
    pending = [
        s
        for s in emulated.tenant.timeline.graph_records(
            "graph/signIns/interactiveUser", now - timedelta(hours=1), now
        )
        if s.available > now
    ]
    assert pending, "the simulation should have records still in flight"
    assert not served & {s.id for s in pending}


def test_top_above_1000_is_rejected(emulated: Emulated, graph_token: str) -> None:
    status, body, _ = _get(emulated, graph_token, _signins_url(emulated), **{"$top": "1001"})
    assert status == 400
    assert body["error"]["code"] == "BadRequest"


def test_unsupported_filter_is_a_bad_request(emulated: Emulated, graph_token: str) -> None:
    status, body, _ = _get(
        emulated, graph_token, _signins_url(emulated), **{"$filter": "foo eq 'bar'"}
    )
    assert status == 400
    assert "Invalid filter clause" in body["error"]["message"]


def test_event_type_filter_needs_beta(emulated: Emulated, graph_token: str) -> None:
    flt = "signInEventTypes/any(t: t eq 'servicePrincipal')"
    status, _, _ = _get(emulated, graph_token, _signins_url(emulated), **{"$filter": flt})
    assert status == 400
    status, body, _ = _get(
        emulated, graph_token, _signins_url(emulated, "beta"), **{"$filter": flt}
    )
    assert status == 200
    assert all("servicePrincipal" in r["signInEventTypes"] for r in body["value"])


def test_beta_adds_beta_only_properties(emulated: Emulated, graph_token: str) -> None:
    _, v1, _ = _get(emulated, graph_token, _signins_url(emulated), **{"$top": "1"})
    _, beta, _ = _get(emulated, graph_token, _signins_url(emulated, "beta"), **{"$top": "1"})
    assert "authenticationMethodsUsed" not in v1["value"][0]
    assert "authenticationMethodsUsed" in beta["value"][0]


def test_missing_token_is_401_invalid_authentication_token(emulated: Emulated) -> None:
    with emulated.http() as http:
        r = http.get(_signins_url(emulated))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_token_without_audit_log_role_is_403(emulated: Emulated) -> None:
    token = emulated.credential(client_id=NO_ROLES_CLIENT_ID).token(GRAPH_RESOURCE)
    status, body, _ = _get(emulated, token, _signins_url(emulated))
    assert status == 403
    assert body["error"]["code"] == "Authorization_RequestDenied"


def test_revoked_token_is_401_until_renewed(emulated: Emulated) -> None:
    credential = emulated.credential()
    token = credential.token(GRAPH_RESOURCE)
    emulated.state.idp.revoke_all()
    status, body, _ = _get(emulated, token, _signins_url(emulated), **{"$top": "1"})
    assert status == 401
    assert "expired" in body["error"]["message"]
    credential.invalidate()
    status, _, _ = _get(
        emulated, credential.token(GRAPH_RESOURCE), _signins_url(emulated), **{"$top": "1"}
    )
    assert status == 200


@pytest.fixture
def throttled(emulated: Emulated):  # type: ignore[no-untyped-def]
    emulated.state.set_graph_limit(5)
    yield emulated
    emulated.state.set_graph_limit(0)


def test_sixth_request_in_ten_seconds_is_429_with_retry_after(
    throttled: Emulated, graph_token: str
) -> None:
    statuses = []
    headers: dict = {}
    for _ in range(6):
        status, _, headers = _get(throttled, graph_token, _signins_url(throttled), **{"$top": "1"})
        statuses.append(status)
    assert statuses == [200] * 5 + [429]
    assert 1 <= int(headers["retry-after"]) <= 10
