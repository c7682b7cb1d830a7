"""Office 365 Management Activity API contract, from the documented examples and error table."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import orjson
import pytest

from tenantwatch.emulator.render.ual import CONTENT_TYPES
from tests.emulator.feed import NOW, Feed

FMT = "%Y-%m-%dT%H:%M:%S"


def test_all_five_subscriptions_start_enabled(feed: Feed) -> None:
    r = feed.call("GET", "subscriptions/list")
    assert r.status_code == 200
    assert {(s["contentType"], s["status"]) for s in r.json()} == {
        (ct, "enabled") for ct in CONTENT_TYPES
    }
    assert all(s["webhook"] is None for s in r.json())


def test_content_listing_entries_have_the_documented_fields(feed: Feed) -> None:
    r = feed.call("GET", "subscriptions/content", contentType="Audit.Exchange")
    assert r.status_code == 200
    entries = r.json()
    assert entries
    for e in entries:
        assert set(e) == {
            "contentType",
            "contentId",
            "contentUri",
            "contentCreated",
            "contentExpiration",
        }
        assert e["contentUri"] == f"{feed.root}/audit/{e['contentId']}"
        created = datetime.fromisoformat(e["contentCreated"])
        assert NOW - timedelta(hours=24) <= created < NOW
        assert datetime.fromisoformat(e["contentExpiration"]) - created == timedelta(days=7)
        assert e["contentCreated"].endswith("Z")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"startTime": "2026-01-12T00:00:00"}, "AF20030"),
        ({"endTime": "2026-01-12T00:00:00"}, "AF20030"),
        (
            {"startTime": (NOW - timedelta(hours=30)).strftime(FMT), "endTime": NOW.strftime(FMT)},
            "AF20030",
        ),
        (
            {
                "startTime": (NOW - timedelta(days=8)).strftime(FMT),
                "endTime": (NOW - timedelta(days=7, hours=23)).strftime(FMT),
            },
            "AF20030",
        ),
        ({"startTime": "yesterday", "endTime": NOW.strftime(FMT)}, "AF20002"),
    ],
)
def test_window_rules_answer_af_codes(feed: Feed, params: dict[str, str], code: str) -> None:
    r = feed.call("GET", "subscriptions/content", contentType="Audit.Exchange", **params)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == code


def test_time_formats_of_the_reference_are_accepted(feed: Feed) -> None:
    day = (NOW - timedelta(hours=20)).strftime("%Y-%m-%d")
    for start, end in (
        (day, (NOW - timedelta(hours=1)).strftime("%Y-%m-%d")),
        ((NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"), NOW.strftime("%Y-%m-%dT%H:%M")),
    ):
        r = feed.call(
            "GET",
            "subscriptions/content",
            contentType="Audit.SharePoint",
            startTime=start,
            endTime=end,
        )
        assert r.status_code == 200, (start, end, r.text)


def test_paging_follows_next_page_uri_to_the_end(feed: Feed) -> None:
    start, end = NOW - timedelta(hours=24), NOW
    r = feed.call(
        "GET",
        "subscriptions/content",
        contentType="Audit.AzureActiveDirectory",
        startTime=start.strftime(FMT),
        endTime=end.strftime(FMT),
    )
    first = r.json()
    assert "NextPageUri" in r.headers, "a day of AAD content spans several pages"
    next_uri = r.headers["NextPageUri"]
    assert "PublisherIdentifier" not in next_uri  # the caller must add it
    assert f"startTime={start.strftime(FMT)}" in next_uri
    assert "nextPage=" in next_uri
    everything = feed.list_all("Audit.AzureActiveDirectory", start, end)
    ids = [e["contentId"] for e in everything]
    assert len(ids) == len(set(ids)) > len(first)
    created = [e["contentCreated"] for e in everything]
    assert created == sorted(created)


def test_windows_partition_content_on_content_created(feed: Feed) -> None:
    a, b, c = (
        NOW - timedelta(hours=10),
        NOW - timedelta(hours=5, minutes=2),
        NOW - timedelta(minutes=1),
    )
    whole = {e["contentId"] for e in feed.list_all("Audit.Exchange", a, c)}
    halves = [
        {e["contentId"] for e in feed.list_all("Audit.Exchange", x, y)} for x, y in ((a, b), (b, c))
    ]
    assert halves[0] | halves[1] == whole
    assert not halves[0] & halves[1]


def test_blob_is_a_json_array_of_records(feed: Feed) -> None:
    entry = feed.list_all("Audit.Exchange", NOW - timedelta(hours=6), NOW)[0]
    r = feed.call("GET", entry["contentUri"])
    assert r.status_code == 200
    records = r.json()
    assert isinstance(records, list)
    assert records
    for record in records:
        assert record["Workload"] == "Exchange"
        assert record["OrganizationId"] == feed.tenant.tenant_id
        assert "Z" not in record["CreationTime"]
        assert "+" not in record["CreationTime"]


def test_records_are_duplicated_across_blobs_and_not_in_event_order(feed: Feed) -> None:
    seen: dict[str, int] = {}
    out_of_order = False
    for entry in feed.list_all("Audit.AzureActiveDirectory", NOW - timedelta(hours=20), NOW):
        records = feed.call("GET", entry["contentUri"]).json()
        times = [r["CreationTime"] for r in records]
        out_of_order |= times != sorted(times)
        for record in records:
            seen[record["Id"]] = seen.get(record["Id"], 0) + 1
    assert any(n > 1 for n in seen.values()), "duplicate_rate 2% should repeat some records"
    assert out_of_order


def test_stop_makes_a_gap_that_restart_does_not_fill(feed: Feed) -> None:
    ct = "Audit.General"
    try:
        assert feed.call("POST", "subscriptions/stop", contentType=ct).status_code == 200
        r = feed.call("GET", "subscriptions/content", contentType=ct)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "AF20023")
        feed.clock.advance(timedelta(hours=2))
        r = feed.call("POST", "subscriptions/start", contentType=ct)
        assert r.status_code == 200
        assert r.json()["status"] == "enabled"
        feed.clock.advance(timedelta(minutes=30))
        created = [
            datetime.fromisoformat(e["contentCreated"])
            for e in feed.list_all(ct, NOW - timedelta(hours=2), feed.clock.now())
        ]
        assert created
        assert not [c for c in created if NOW <= c < NOW + timedelta(hours=2)]
    finally:
        feed.clock.set(NOW)


def test_starting_an_enabled_subscription_is_af20024(feed: Feed) -> None:
    r = feed.call("POST", "subscriptions/start", contentType="Audit.Exchange")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "AF20024")


def test_unknown_content_type_is_af20020(feed: Feed) -> None:
    r = feed.call("GET", "subscriptions/content", contentType="Audit.Everything")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "AF20020")


def test_tenant_in_url_must_match_the_token(feed: Feed) -> None:
    other = feed.root.replace(feed.tenant.tenant_id, "11111111-2222-4333-8444-555555555555")
    r = feed.call("GET", f"{other}/subscriptions/list")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "AF20010")


def test_tenant_in_url_must_be_a_guid(feed: Feed) -> None:
    r = feed.call(
        "GET", feed.root.replace(feed.tenant.tenant_id, "contoso") + "/subscriptions/list"
    )
    assert (r.status_code, r.json()["error"]["code"]) == (400, "AF20013")


def test_graph_token_is_refused(feed: Feed) -> None:
    r = feed.call("GET", "subscriptions/list", token=feed.graph_token)
    assert r.status_code == 401


def test_expired_content_is_af20051(feed: Feed) -> None:
    entry = feed.list_all("Audit.SharePoint", NOW - timedelta(hours=6), NOW)[0]
    try:
        feed.clock.advance(timedelta(days=7, hours=1))
        r = feed.call("GET", entry["contentUri"])
        assert (r.status_code, r.json()["error"]["code"]) == (400, "AF20051")
        listed = feed.call("GET", "subscriptions/content", contentType="Audit.SharePoint").json()
        assert entry["contentId"] not in {e["contentId"] for e in listed}
    finally:
        feed.clock.set(NOW)


def test_an_expired_blob_can_be_injected(feed: Feed) -> None:
    entry = feed.list_all("Audit.SharePoint", NOW - timedelta(hours=6), NOW)[-1]
    feed.state.faults.expired_content.add(entry["contentId"])
    try:
        r = feed.call("GET", entry["contentUri"])
        assert r.json()["error"]["code"] == "AF20051"
    finally:
        feed.state.faults.expired_content.clear()


def test_unknown_content_is_af20050_and_malformed_af20052(feed: Feed) -> None:
    r = feed.call("GET", "audit/000000000001$000000000001$12099010100$abc$00")
    assert r.json()["error"]["code"] == "AF20050"
    r = feed.call("GET", "audit/not-a-content-id")
    assert r.json()["error"]["code"] == "AF20052"


def test_calls_without_publisher_identifier_share_a_small_pool(feed: Feed) -> None:
    statuses = [
        feed.call("GET", "subscriptions/list", publisher=False).status_code for _ in range(70)
    ]
    assert statuses[:60] == [200] * 60
    assert 403 in statuses[60:]
    r = feed.call("GET", "subscriptions/list", publisher=False)
    assert r.json()["error"]["code"] == "AF429"
    assert (
        feed.call("GET", "subscriptions/list").status_code == 200
    )  # a publisher has its own quota


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], object]]] = []

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/o365"
    server.shutdown()


def test_webhook_is_validated_then_notified(feed: Feed, receiver: str) -> None:
    ct = "DLP.All"
    with feed.http() as http:
        r = http.post(
            f"{feed.root}/subscriptions/start",
            params={"contentType": ct, "PublisherIdentifier": "x"},
            headers={"Authorization": f"Bearer {feed.manage_token}"},
            json={"webhook": {"address": receiver, "authId": "tw-secret-id", "expiration": ""}},
        )
    assert r.status_code == 200, r.text
    assert r.json()["webhook"]["address"] == receiver
    headers, body = _Receiver.received[0]
    assert headers["Webhook-ValidationCode"] == body["validationCode"]  # type: ignore[index]
    assert headers["Webhook-AuthID"] == "tw-secret-id"
    sub = feed.state.subscriptions[feed.tenant.tenant_id][ct]
    sub.webhook = None
