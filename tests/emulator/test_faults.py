"""Faults on demand: 5xx, truncated bodies, slow answers, throttling storms; the control API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest

from tests.emulator.feed import Feed


@pytest.fixture
def faulty(feed: Feed) -> Iterator[Feed]:
    yield feed
    feed.state.faults.update(
        {
            "server_error_rate": 0.0,
            "truncate_rate": 0.0,
            "slow_rate": 0.0,
            "throttle_rate": 0.0,
            "throttle_until": 0.0,
        }
    )


def test_server_errors_answer_af50000(faulty: Feed) -> None:
    faulty.state.faults.update({"server_error_rate": 1.0})
    r = faulty.call("GET", "subscriptions/content", contentType="Audit.Exchange")
    assert (r.status_code, r.json()["error"]["code"]) == (500, "AF50000")


def test_truncated_bodies_are_not_json(faulty: Feed) -> None:
    faulty.state.faults.update({"truncate_rate": 1.0})
    r = faulty.call("GET", "subscriptions/content", contentType="Audit.Exchange")
    assert r.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(r.content)


def test_slow_answers_take_their_time(faulty: Feed) -> None:
    faulty.state.faults.update({"slow_rate": 1.0, "slow_secs": 0.3})
    begin = time.monotonic()
    assert (
        faulty.call("GET", "subscriptions/content", contentType="Audit.Exchange").status_code == 200
    )
    assert time.monotonic() - begin >= 0.3


def test_a_throttling_storm_throttles_both_apis(faulty: Feed) -> None:
    faulty.state.faults.update({"throttle_for_secs": 30})
    r = faulty.call("GET", "subscriptions/content", contentType="Audit.Exchange")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "AF429")
    g = faulty.call(
        "GET",
        f"{faulty.server.base_url}/graph/v1.0/auditLogs/signIns",
        publisher=False,
        token=faulty.graph_token,
    )
    assert g.status_code == 429
    assert g.headers["Retry-After"] == "1"


def test_control_api_needs_its_key(faulty: Feed) -> None:
    url = f"{faulty.server.base_url}/_emulator/faults"
    with faulty.http() as http:
        assert http.post(url, json={"server_error_rate": 1}).status_code == 401
        assert (
            http.post(
                url, json={"server_error_rate": 1}, headers={"X-Emulator-Key": "wrong"}
            ).status_code
            == 401
        )
        ok = http.post(
            url,
            json={"truncate_rate": 0.0, "slow_secs": 1.0},
            headers={"X-Emulator-Key": faulty.state.control_key},
        )
        assert ok.status_code == 200
        bad = http.post(
            url, json={"nonsense": 1}, headers={"X-Emulator-Key": faulty.state.control_key}
        )
        assert bad.status_code == 400


def test_health_needs_no_authentication(feed: Feed) -> None:
    with feed.http() as http:
        r = http.get(f"{feed.server.base_url}/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
