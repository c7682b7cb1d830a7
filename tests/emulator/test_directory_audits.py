"""Graph ``auditLogs/directoryAudits``: activityDateTime filters, paging, the resource shape."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.emulator.feed import NOW, SCENARIO_START, Feed


def _get(feed: Feed, url: str, **params: str) -> dict:
    r = feed.call("GET", url, publisher=False, token=feed.graph_token, **params)
    assert r.status_code == 200, r.text
    return r.json()


def _all(feed: Feed, start: datetime, end: datetime, top: int = 50) -> list[dict]:
    flt = f"activityDateTime ge {start:%Y-%m-%dT%H:%M:%SZ} and activityDateTime lt {end:%Y-%m-%dT%H:%M:%SZ}"
    body = _get(
        feed,
        f"{feed.server.base_url}/graph/v1.0/auditLogs/directoryAudits",
        **{"$filter": flt, "$top": str(top)},
    )
    rows = body["value"]
    while "@odata.nextLink" in body:
        body = _get(feed, body["@odata.nextLink"])
        rows += body["value"]
    return rows


def test_directory_audits_are_filtered_paged_and_newest_first(feed: Feed) -> None:
    rows = _all(feed, NOW - timedelta(hours=24), NOW, top=7)
    times = [r["activityDateTime"] for r in rows]
    assert len(rows) > 7
    assert times == sorted(times, reverse=True)
    assert len({r["id"] for r in rows}) == len(rows)


def test_the_full_access_as_app_grant_has_graph_shaped_modified_properties(feed: Feed) -> None:
    rows = _all(feed, SCENARIO_START, NOW)
    grant = next(
        r
        for r in rows
        if r["activityDisplayName"] == "Add app role assignment to service principal"
        and any(
            m["newValue"] == '"full_access_as_app"'
            for t in r["targetResources"]
            for m in t["modifiedProperties"]
        )
    )
    assert grant["id"].startswith("Directory_")
    assert grant["initiatedBy"]["user"] is None
    assert grant["initiatedBy"]["app"]["displayName"] == "legacy-test-app"
    assert grant["targetResources"][0]["type"] == "ServicePrincipal"
    assert grant["category"] == "ApplicationManagement"


def test_credential_operation_keeps_its_en_dash(feed: Feed) -> None:
    names = {r["activityDisplayName"] for r in _all(feed, SCENARIO_START, NOW)}
    assert "Update application – Certificates and secrets management" in names
    assert "Add user" in names
    assert "Consent to application" in names
