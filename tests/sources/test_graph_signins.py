"""GraphSignInSource: collects every served sign-in once, resumes, survives API trouble."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import httpx
import orjson
import pytest

from tenantwatch.errors import SourceError, ThrottledError
from tenantwatch.model.batch import Checkpoint
from tenantwatch.model.clock import ManualClock
from tenantwatch.sources.base import SourceMetrics
from tenantwatch.sources.graph import GraphSignInSource
from tenantwatch.sources.http import ApiClient, RequestBudget, RetryPolicy
from tests.conftest import START, Emulated


def _source(emulated: Emulated, **kwargs: object) -> GraphSignInSource:
    options: dict = {
        "source_id": "graph_signins",
        "tenant": emulated.tenant_id,
        "api": emulated.api(),
        "graph_url": emulated.cloud.graph,
        "clock": emulated.clock,
        "delay": timedelta(minutes=2),
        "lateness": timedelta(minutes=30),
        "initial_lookback": timedelta(hours=2),
        "page_size": 25,
    }
    options.update(kwargs)
    return GraphSignInSource(**options)


def _served_ids(emulated: Emulated, start, end) -> set[str]:  # type: ignore[no-untyped-def]
    now = emulated.clock.now()
    return {
        s.id
        for s in emulated.tenant.timeline.graph_records("graph/signIns/interactiveUser", start, end)
        if s.available <= now
    }


def test_one_poll_collects_the_window_page_by_page(emulated: Emulated) -> None:
    source = _source(emulated)
    now = emulated.clock.now()
    batches = list(source.poll({}))
    assert len(batches) > 1
    assert all(b.checkpoint is None for b in batches[:-1])
    last = batches[-1].checkpoint
    assert last is not None
    assert last.watermark == (now - timedelta(minutes=2)).replace(microsecond=0)
    ids = [orjson.loads(r)["id"] for b in batches for r in b.records]
    expected = _served_ids(emulated, now - timedelta(hours=2, minutes=30), last.watermark)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert source.metrics.pages == len(batches)


def test_resumes_from_checkpoint_and_sweeps_back_for_late_records(emulated: Emulated) -> None:
    source = _source(emulated)
    now = emulated.clock.now()
    watermark = now - timedelta(minutes=20)
    stream = "signIns/interactiveUser"
    # a poll right after a sweep reads from the watermark only
    fresh = Checkpoint(
        emulated.tenant_id, "graph_signins", stream, watermark, {"swept": now.isoformat()}
    )
    batches = list(source.poll({stream: fresh}))
    end = batches[-1].checkpoint.watermark  # type: ignore[union-attr]
    assert {orjson.loads(r)["id"] for b in batches for r in b.records} == _served_ids(
        emulated, watermark, end
    )
    assert batches[-1].checkpoint.state == {"swept": now.isoformat()}  # type: ignore[union-attr]
    # once the sweep interval passed, the poll reaches back `lateness` before the window end
    stale = Checkpoint(
        emulated.tenant_id,
        "graph_signins",
        stream,
        watermark,
        {"swept": (now - timedelta(minutes=11)).isoformat()},
    )
    batches = list(source.poll({stream: stale}))
    ids = {orjson.loads(r)["id"] for b in batches for r in b.records}
    assert ids == _served_ids(emulated, end - timedelta(minutes=30), end)
    assert batches[-1].checkpoint.state == {"swept": now.isoformat()}  # type: ignore[union-attr]


def test_no_poll_when_the_window_is_empty(emulated: Emulated) -> None:
    source = _source(emulated)
    cp = Checkpoint(
        emulated.tenant_id, "graph_signins", "signIns/interactiveUser", emulated.clock.now()
    )
    assert list(source.poll({cp.stream: cp})) == []


def test_beta_collects_service_principal_stream(emulated: Emulated) -> None:
    source = _source(emulated, version="beta", event_types=("interactiveUser", "servicePrincipal"))
    assert source.streams == ["signIns/interactiveUser", "signIns/servicePrincipal"]
    batches = list(source.poll({}))
    assert {b.stream for b in batches} == set(source.streams)
    assert all(b.checkpoint is not None for b in batches if b.stream == "signIns/servicePrincipal")


def test_v1_refuses_non_interactive_streams(emulated: Emulated) -> None:
    with pytest.raises(ValueError, match="beta"):
        _source(emulated, event_types=("nonInteractiveUser",))


# --- the HTTP layer, with a scripted transport ---------------------------------------------


class FakeCredential:
    tenant_id = "tenant-x"

    def __init__(self) -> None:
        self.invalidated = 0

    def token(self, resource: str) -> str:
        return f"token-{self.invalidated}"

    def invalidate(self) -> None:
        self.invalidated += 1


def _api(
    responses: list[httpx.Response], seen: list[httpx.Request] | None = None
) -> tuple[ApiClient, FakeCredential]:
    script = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return next(script)

    credential = FakeCredential()
    api = ApiClient(
        credential=credential,  # type: ignore[arg-type]
        resource="https://graph.microsoft.com",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        metrics=SourceMetrics(),
        retry=RetryPolicy(max_attempts=4, initial_backoff_secs=0.001, max_backoff_secs=0.01),
        stop=threading.Event(),
    )
    return api, credential


OK = httpx.Response(200, json={"value": [{"id": "a"}]})


def test_429_waits_retry_after_then_succeeds() -> None:
    api, _ = _api(
        [
            httpx.Response(
                429, headers={"Retry-After": "0"}, json={"error": {"code": "TooManyRequests"}}
            ),
            OK,
        ]
    )
    assert api.get("https://graph.test/x").body == {"value": [{"id": "a"}]}
    assert api.metrics.throttled == 1
    assert api.metrics.retries == 1


def test_403_af429_is_throttling_not_an_auth_failure() -> None:
    body = {
        "error": {"code": "AF429", "message": "Too many requests. Method=GetBlob, PublisherId=x"}
    }
    api, _ = _api([httpx.Response(403, json=body), OK])
    assert api.get("https://manage.test/x").status == 200
    assert api.metrics.throttled == 1


def test_5xx_and_truncated_bodies_are_retried() -> None:
    api, _ = _api([httpx.Response(503), httpx.Response(200, content=b'{"value": [{"id"'), OK])
    assert api.get("https://graph.test/x").status == 200
    assert api.metrics.retries == 2


def test_401_drops_the_token_and_retries_with_a_new_one() -> None:
    seen: list[httpx.Request] = []
    api, credential = _api(
        [httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken"}}), OK], seen
    )
    api.get("https://graph.test/x")
    assert credential.invalidated == 1
    assert [r.headers["authorization"] for r in seen] == ["Bearer token-0", "Bearer token-1"]


def test_other_4xx_raises_with_microsofts_code_without_retry() -> None:
    api, _ = _api(
        [
            httpx.Response(
                400, json={"error": {"code": "BadRequest", "message": "Invalid filter clause"}}
            )
        ]
    )
    with pytest.raises(SourceError, match="BadRequest: Invalid filter clause"):
        api.get("https://graph.test/x?$skiptoken=secret")
    assert api.metrics.retries == 0


def test_persistent_throttling_raises_throttled_error() -> None:
    throttle = httpx.Response(429, headers={"Retry-After": "0"})
    api, _ = _api([throttle] * 4)
    with pytest.raises(ThrottledError):
        api.get("https://graph.test/x")


def test_error_messages_do_not_carry_query_strings() -> None:
    api, _ = _api([httpx.Response(503)] * 4)
    with pytest.raises(SourceError) as caught:
        api.get("https://graph.test/x?$skiptoken=opaque-token-value")
    assert "opaque-token-value" not in str(caught.value)


def test_source_follows_next_links_as_given() -> None:
    seen: list[httpx.Request] = []
    page1 = httpx.Response(
        200,
        json={
            "value": [{"id": "1"}],
            "@odata.nextLink": "https://graph.test/v1.0/auditLogs/signIns?$skiptoken=abc",
        },
    )
    page2 = httpx.Response(200, json={"value": [{"id": "2"}]})
    api, _ = _api([page1, page2], seen)
    clock = ManualClock(START)
    source = GraphSignInSource(
        source_id="g", tenant="t", api=api, graph_url="https://graph.test", clock=clock
    )
    batches = list(source.poll({}))
    assert [orjson.loads(r)["id"] for b in batches for r in b.records] == ["1", "2"]
    assert str(seen[1].url) == "https://graph.test/v1.0/auditLogs/signIns?$skiptoken=abc"
    assert "createdDateTime ge" in seen[0].url.params["$filter"]


@pytest.mark.parametrize("read_to_now", [True, False])
def test_a_poll_reads_up_to_now_but_settles_only_up_to_now_minus_delay(read_to_now: bool) -> None:
    """What Graph already shows is fetched at once; the watermark stays ``delay`` behind, so
    the next poll reads those minutes again and catches the records that appear late in them."""
    seen: list[httpx.Request] = []
    api, _ = _api([httpx.Response(200, json={"value": [{"id": "a"}]})] * 2, seen)
    clock = ManualClock(START)
    source = GraphSignInSource(
        source_id="s",
        tenant="t",
        api=api,
        graph_url="https://graph.test",
        clock=clock,
        delay=timedelta(minutes=2),
        initial_lookback=timedelta(hours=1),
        sweep_interval=timedelta(hours=1),
        read_to_now=read_to_now,
    )
    (first,) = source.poll({})
    assert first.checkpoint is not None
    assert first.checkpoint.watermark == START - timedelta(minutes=2)
    end = START if read_to_now else START - timedelta(minutes=2)
    assert f"createdDateTime lt {end:%Y-%m-%dT%H:%M:%SZ}" in seen[0].url.params["$filter"]
    clock.advance(timedelta(minutes=1))
    assert len(list(source.poll({first.stream: first.checkpoint}))) == 1
    # the next window starts at the settled watermark: the last two minutes are read again
    assert (
        f"createdDateTime ge {START - timedelta(minutes=2):%Y-%m-%dT%H:%M:%SZ}"
        in (seen[1].url.params["$filter"])
    )


class _FakeTime(threading.Event):
    """A monotonic clock that waiting advances (no real sleeping)."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.now += timeout or 0.0
        return False


def test_the_graph_budget_spaces_requests_evenly() -> None:
    """Five requests per ten seconds go one every two seconds, never five at once followed by
    a silence in which new records would wait."""
    fake = _FakeTime()
    budget = RequestBudget(5, 10.0, monotonic=fake)
    granted = []
    for _ in range(11):
        budget.acquire(fake)
        granted.append(fake.now)
    assert [b - a for a, b in itertools.pairwise(granted)] == [2.0] * 10
    for t in granted:  # never more than five in any ten-second window
        assert sum(1 for g in granted if t - 10.0 < g <= t) <= 5
    fake.now += 60  # after a quiet spell the next request goes at once
    before = fake.now
    budget.acquire(fake)
    assert fake.now == before
