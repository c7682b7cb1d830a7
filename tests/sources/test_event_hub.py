"""The Event Hub source against the emulated namespace (AMQP 1.0 over TLS, claims-based SAS
auth, the real ``azure-eventhub`` SDK): every Entra record the hub carries reaches the store
once, a restart resumes after the last committed event, the Midnight Blizzard chain is detected
from the hub alone, a bad event is quarantined without holding up the rest, records the hub
dropped before they were read are a gap, and a wrong key is refused without leaking it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from tenantwatch.assemble import assemble
from tenantwatch.config.model import SecretConfig, SourceConfig
from tenantwatch.emulator.event_hub import ENTRA_STREAMS, EventHubNamespace
from tenantwatch.errors import SourceError
from tenantwatch.store import DuckDBStore
from tests.sources.harness import Tenant, run_once, start_tenant, stored_ids

HISTORY = timedelta(hours=22)  # the scenarios start 20 hours before "now"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    yield from start_tenant(tmp_path_factory.mktemp("hub"), users=20, history=timedelta(days=1))


@pytest.fixture
def hub(tenant: Tenant) -> Iterator[EventHubNamespace]:
    # published by the test (tick of an hour): the hub holds exactly what the test put in
    ns = EventHubNamespace(tenant.state, tls=tenant.server.tls, history=HISTORY, tick_secs=3600)
    with ns:
        yield ns


def _source(tenant: Tenant, ns: EventHubNamespace, tmp: Path, **options: object) -> SourceConfig:
    secret = tmp / "hub-connection"
    secret.write_text(options.pop("connection", ns.connection_string(_name(tenant))))  # type: ignore[arg-type]
    secret.chmod(0o600)
    return SourceConfig(
        id="entra",
        type="event_hub",
        tenant="t",
        connection_string=SecretConfig(file=secret),
        endpoint=ns.endpoint,
        initial_lookback_secs=HISTORY.total_seconds(),
        **options,  # type: ignore[arg-type]
    )


def _name(tenant: Tenant) -> str:
    return f"entra-{tenant.tenant_id}"


def _in_hub(tenant: Tenant, ns: EventHubNamespace) -> set[str]:
    hub = ns.hubs[_name(tenant)]
    return {rid for p in hub.partitions for e in p.events for rid in e.record_ids}


def _query(data: Path, sql: str) -> list[tuple[object, ...]]:
    store = DuckDBStore(data / "tenantwatch.duckdb", read_only=True)
    try:
        return store.sql(sql).rows()
    finally:
        store.close()


def test_every_record_once_then_resume_after_the_last_committed_event(
    tenant: Tenant, hub: EventHubNamespace, tmp_path: Path
) -> None:
    hub.publish()
    first = _in_hub(tenant, hub)
    assert len(first) > 300
    data = tmp_path / "data"
    config = tenant.config(data, _source(tenant, hub, tmp_path))
    run_once(tenant, config)
    assert set(stored_ids(data, "partition/")) == first
    categories = {
        orjson.loads(raw)["category"]
        for (raw,) in _query(data, "SELECT raw_data FROM events WHERE tw_source = 'entra'")
    }
    assert categories == {
        "SignInLogs",
        "NonInteractiveUserSignInLogs",
        "ServicePrincipalSignInLogs",
        "ManagedIdentitySignInLogs",
        "AuditLogs",
    }

    tenant.clock.advance(timedelta(minutes=30))
    try:
        hub.publish()
        both = _in_hub(tenant, hub)
        assert both > first
        second_run = run_once(tenant, config)
        # the second run started after the committed sequence numbers: it received only the new
        assert second_run.stats.received == len(both - first)
        assert set(stored_ids(data, "partition/")) == both  # nothing missing
        checkpoints = _query(data, "SELECT stream, state FROM checkpoints WHERE source = 'entra'")
        assert {s for s, _ in checkpoints} <= {f"partition/{i}" for i in range(4)}
        assert all("sequence_number" in orjson.loads(str(state)) for _, state in checkpoints)
    finally:
        tenant.clock.advance(-timedelta(minutes=30))


def test_the_midnight_blizzard_chain_is_detected_from_the_hub_alone(
    tenant: Tenant, hub: EventHubNamespace, tmp_path: Path
) -> None:
    hub.publish()
    data = tmp_path / "data"
    run_once(tenant, tenant.config(data, _source(tenant, hub, tmp_path)))
    stages = tenant.tenant.ground_truth_document()["stages"]
    entra_records = {
        r["id"]
        for s in stages
        if s["scenario"] == "midnight-blizzard"
        for r in s["records"]
        if r["stream"].startswith("graph/")
    }
    assert entra_records
    assert entra_records <= set(stored_ids(data, "partition/"))
    rules = {rule for (rule,) in _query(data, "SELECT DISTINCT rule_id FROM findings")}
    assert "tw_access_high_privilege_apps" in rules  # full_access_as_app granted to the new app
    assert "tw_access_mfa_required" in rules  # the legacy test account without MFA


def test_an_odd_event_is_quarantined_and_the_rest_goes_on(
    tenant: Tenant, hub: EventHubNamespace, tmp_path: Path
) -> None:
    hub.publish()
    partition = hub.hubs[_name(tenant)].partitions[0]
    at = partition.events[-1].enqueued
    with hub.lock:
        partition.append(at, b"{not json", ())
        partition.append(at, orjson.dumps({"records": [{"category": "SignInLogs"}, 42]}), ())
        partition.append(at, orjson.dumps({"value": []}), ())
    data = tmp_path / "data"
    run_once(tenant, tenant.config(data, _source(tenant, hub, tmp_path)))
    assert set(stored_ids(data, "partition/")) == _in_hub(tenant, hub)
    reasons = [r for (r,) in _query(data, "SELECT reason FROM quarantine ORDER BY reason")]
    assert any("body is not JSON" in r for r in reasons)
    assert any("records[1] is not an object" in r for r in reasons)
    assert any('no "records" array' in r for r in reasons)
    assert len(reasons) == 4  # the record without properties is quarantined by the normalizer


def test_events_dropped_by_the_hub_before_they_were_read_are_a_gap(
    tenant: Tenant, hub: EventHubNamespace, tmp_path: Path
) -> None:
    hub.publish()
    data = tmp_path / "data"
    config = tenant.config(data, _source(tenant, hub, tmp_path))
    run_once(tenant, config)
    # more events arrive, and the oldest unread ones expire before the next run
    try:
        for _ in range(12):
            tenant.clock.advance(timedelta(minutes=5))
            hub.publish()
        dropped = hub.hubs[_name(tenant)].partitions[1]
        (last_read,) = _query(
            data, "SELECT state FROM checkpoints WHERE source = 'entra' AND stream = 'partition/1'"
        )[0]
        unread = orjson.loads(str(last_read))["sequence_number"] + 1
        lost = set()
        with hub.lock:  # retention: the oldest events go, and with them two never read
            while dropped.events[0].sequence_number < unread + 2:
                event = dropped.events.popleft()
                if event.sequence_number >= unread:
                    lost.update(event.record_ids)
        assert lost
        run_once(tenant, config)
    finally:
        tenant.clock.advance(-timedelta(hours=1))
    gaps = _query(data, "SELECT stream, reason FROM gaps")
    assert any(
        stream.endswith("partition/1") and "dropped events" in str(reason)
        for stream, reason in gaps
    )
    rules = {r for (r,) in _query(data, "SELECT rule_id FROM findings")}
    assert "tw_health_data_lost" in rules


def test_a_wrong_key_is_refused_and_never_shown(
    tenant: Tenant, hub: EventHubNamespace, tmp_path: Path
) -> None:
    wrong_key = "d3Jvbmcta2V5LXRoYXQtbXVzdC1uZXZlci1iZS1sb2dnZWQ="
    connection = hub.connection_string(_name(tenant)).replace(hub.key, wrong_key)
    config = tenant.config(
        tmp_path / "data", _source(tenant, hub, tmp_path, connection=connection, max_attempts=1)
    )
    assembly = assemble(config, stop=threading.Event())
    (source,) = assembly.pipeline.sources
    try:
        source.clock = tenant.clock  # type: ignore[attr-defined]
        assert source.streams == []  # the management call is refused
        with pytest.raises(SourceError) as caught:
            list(source.poll({}))
    finally:
        assembly.close()
    assert wrong_key not in str(caught.value)
    assert wrong_key not in source.metrics.last_error
    assert "unreachable" in str(caught.value) or "Unauthorized" in source.metrics.last_error


def test_a_hub_gone_silent_raises_a_freshness_finding(
    tenant: Tenant, hub: EventHubNamespace, tmp_path: Path
) -> None:
    hub.publish()
    data = tmp_path / "data"
    config = tenant.config(data, _source(tenant, hub, tmp_path, freshness_threshold_secs=3600))
    run_once(tenant, config)
    # the diagnostic setting is removed: nothing more reaches the hub
    tenant.state.faults.update({"stall_streams": list(ENTRA_STREAMS)}, tenant.clock.now())
    try:
        tenant.clock.advance(timedelta(hours=2))
        hub.publish()
        run_once(tenant, config)  # quiet polls still move the watermarks
        run_once(tenant, config)  # and the restarted monitor sees them fall behind
    finally:
        tenant.state.faults.update({"resume_streams": list(ENTRA_STREAMS)})
        tenant.clock.advance(-timedelta(hours=2))
    stale = _query(data, "SELECT entity_key FROM findings WHERE rule_id = 'tw_health_stream_stale'")
    assert stale
    assert all("partition/" in str(key) for (key,) in stale)
