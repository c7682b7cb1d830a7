"""Every scenario's ground truth names records the APIs really serve."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from tenantwatch.emulator.render.ual import CONTENT_TYPES
from tenantwatch.emulator.scenarios import SCENARIOS
from tests.emulator.feed import NOW, SCENARIO_START, Feed


def _crawl(feed: Feed) -> dict[str, set[str]]:
    served: dict[str, set[str]] = defaultdict(set)
    base = f"{feed.server.base_url}/graph/beta/auditLogs"
    window = f"ge {SCENARIO_START - timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
    for event_type in (
        "interactiveUser",
        "nonInteractiveUser",
        "servicePrincipal",
        "managedIdentity",
    ):
        flt = f"signInEventTypes/any(t: t eq '{event_type}') and createdDateTime {window}"
        url, params = f"{base}/signIns", {"$filter": flt}
        while url:
            body = feed.call("GET", url, publisher=False, token=feed.graph_token, **params).json()
            served[f"graph/signIns/{event_type}"].update(r["id"] for r in body["value"])
            url, params = body.get("@odata.nextLink"), {}
    url, params = f"{base}/directoryAudits", {"$filter": f"activityDateTime {window}"}
    while url:
        body = feed.call("GET", url, publisher=False, token=feed.graph_token, **params).json()
        served["graph/directoryAudits"].update(r["id"] for r in body["value"])
        url, params = body.get("@odata.nextLink"), {}
    for ct in CONTENT_TYPES:
        for entry in feed.list_all(ct, SCENARIO_START, NOW):
            served[f"o365/{ct}"].update(
                r["Id"] for r in feed.call("GET", entry["contentUri"]).json()
            )
    return served


def test_every_ground_truth_record_is_served(feed: Feed) -> None:
    truth = feed.tenant.ground_truth_document()
    assert set(truth["scenarios"]) == set(SCENARIOS)
    served = _crawl(feed)
    missing = [
        (stage["scenario"], stage["stage"], r["stream"], r["id"])
        for stage in truth["stages"]
        for r in stage["records"]
        if r["id"] not in served[r["stream"]]
    ]
    assert not missing, missing[:5]
    scenarios = {s["scenario"] for s in truth["stages"] if s["records"]}
    assert scenarios == set(SCENARIOS)


def test_midnight_blizzard_stages_and_techniques(feed: Feed) -> None:
    stages = [
        s
        for s in feed.tenant.ground_truth_document()["stages"]
        if s["scenario"] == "midnight-blizzard"
    ]
    assert [(s["stage"], s["technique"]) for s in stages] == [
        ("password-spray", "T1110.003"),
        ("valid-account", "T1078.004"),
        ("app-credential", "T1098.001"),
        ("new-apps", "T1136.003"),
        ("new-user-consent", "T1136.003"),
        ("full-access-as-app", "T1098.003"),
        ("mail-collection", "T1114.002"),
    ]
    spray = stages[0]
    assert len(spray["source_ips"]) == len(
        {r["id"] for r in spray["records"] if r["stream"].startswith("graph")}
    )


def test_audit_disable_blacks_out_the_activity_api_only(feed: Feed) -> None:
    (begin, end) = feed.tenant.ground_truth.ual_blackouts[0]
    inside = [
        a
        for h in range(3)
        for a in feed.tenant.timeline.activities(
            begin.replace(minute=0, second=0, microsecond=0) + timedelta(hours=h)
        )
        if begin <= a.time < end
    ]
    assert inside
    served = _crawl(feed)
    from tenantwatch.emulator.streams import served_as

    for activity in inside:
        for stream, record_id in served_as(activity):
            assert (record_id in served[stream]) == stream.startswith("graph/"), (stream, activity)
