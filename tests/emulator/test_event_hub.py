"""The emulated Event Hubs namespace keeps the documented AMQP contract, checked with Microsoft's
own client (``azure-eventhub``): SAS tokens verified, ``$management`` reads, the selector
filters on offset, sequence number and enqueued time, annotations on every event, the
diagnostic-setting body, and retention."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from azure.eventhub import EventData, EventHubConsumerClient, PartitionContext
from azure.eventhub.exceptions import EventHubError

from tenantwatch.emulator import EmulatorState, IdentityProvider, SimTenant
from tenantwatch.emulator.event_hub import EventHubNamespace, _check_sas, sas_token
from tenantwatch.emulator.tls import ensure_tls
from tenantwatch.model.clock import ManualClock

NOW = datetime(2026, 1, 14, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def namespace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventHubNamespace]:
    clock = ManualClock(NOW)
    tenant = SimTenant.build(seed=3, users=20, start=NOW, history=timedelta(hours=4), scenarios=[])
    state = EmulatorState(clock=clock, idp=IdentityProvider(), tenants={tenant.tenant_id: tenant})
    tls = ensure_tls(tmp_path_factory.mktemp("tls"))
    ns = EventHubNamespace(state, tls=tls, history=timedelta(hours=3), tick_secs=3600)
    ns.publish()
    for _ in range(6):  # events at several enqueued times
        clock.advance(timedelta(minutes=10))
        ns.publish()
    with ns:
        yield ns


def _hub(ns: EventHubNamespace) -> str:
    return next(iter(ns.hubs))


def _client(ns: EventHubNamespace, connection: str | None = None) -> EventHubConsumerClient:
    return EventHubConsumerClient.from_connection_string(
        connection or ns.connection_string(_hub(ns)),
        consumer_group="$Default",
        custom_endpoint_address=ns.endpoint,
        connection_verify=str(ns.tls.ca_file),
        retry_total=0,
    )


def _receive(
    ns: EventHubNamespace, partition: str, position: object, inclusive: bool = False
) -> list[EventData]:
    """Everything the partition delivers from ``position`` (until quiet for a second)."""
    client = _client(ns)
    got: list[EventData] = []
    last = [time.monotonic()]

    def on_batch(_: PartitionContext, events: list[EventData]) -> None:
        if events:
            got.extend(events)
            last[0] = time.monotonic()

    thread = threading.Thread(
        target=client.receive_batch,
        kwargs={
            "on_event_batch": on_batch,
            "partition_id": partition,
            "starting_position": position,
            "starting_position_inclusive": inclusive,
            "max_wait_time": 0.2,
        },
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not got or time.monotonic() - last[0] < 1.0):
        time.sleep(0.05)
    client.close()
    thread.join(timeout=10)
    return got


def test_management_reads_the_hub_and_its_partitions(namespace: EventHubNamespace) -> None:
    client = _client(namespace)
    try:
        props = client.get_eventhub_properties()
        assert props["eventhub_name"] == _hub(namespace)
        assert props["partition_ids"] == ["0", "1", "2", "3"]
        partition = client.get_partition_properties("2")
    finally:
        client.close()
    events = namespace.hubs[_hub(namespace)].partitions[2].events
    assert partition["beginning_sequence_number"] == events[0].sequence_number
    assert partition["last_enqueued_sequence_number"] == events[-1].sequence_number
    assert partition["last_enqueued_offset"] == str(events[-1].offset)
    assert partition["last_enqueued_time_utc"] == events[-1].enqueued.replace(
        microsecond=events[-1].enqueued.microsecond // 1000 * 1000
    )
    assert partition["is_empty"] is False


def test_every_event_carries_its_position_and_a_diagnostic_setting_body(
    namespace: EventHubNamespace,
) -> None:
    stored = namespace.hubs[_hub(namespace)].partitions[1].events
    got = _receive(namespace, "1", "-1")
    assert [e.sequence_number for e in got] == [e.sequence_number for e in stored]
    assert [e.offset for e in got] == [str(e.offset) for e in stored]
    assert [e.enqueued_time for e in got] == [
        e.enqueued.replace(microsecond=e.enqueued.microsecond // 1000 * 1000) for e in stored
    ]
    for event in got:
        records = orjson.loads(event.body_as_str())["records"]
        assert records
        for record in records:
            assert record["category"] in {
                "SignInLogs",
                "NonInteractiveUserSignInLogs",
                "ServicePrincipalSignInLogs",
                "ManagedIdentitySignInLogs",
                "AuditLogs",
            }
            assert record["tenantId"] == namespace.hubs[_hub(namespace)].tenant_id
            assert "properties" in record


def test_selectors_on_sequence_number_offset_and_enqueued_time(
    namespace: EventHubNamespace,
) -> None:
    stored = list(namespace.hubs[_hub(namespace)].partitions[0].events)
    assert len(stored) >= 4
    middle = stored[len(stored) // 2]
    after = [e.sequence_number for e in stored if e.sequence_number > middle.sequence_number]
    assert after
    assert [e.sequence_number for e in _receive(namespace, "0", middle.sequence_number)] == after
    from_it = [e.sequence_number for e in stored if e.sequence_number >= middle.sequence_number]
    assert [
        e.sequence_number for e in _receive(namespace, "0", middle.sequence_number, True)
    ] == from_it
    assert [e.sequence_number for e in _receive(namespace, "0", str(middle.offset))] == after
    later = [e.sequence_number for e in stored if e.enqueued > middle.enqueued]
    assert later
    assert [e.sequence_number for e in _receive(namespace, "0", middle.enqueued)] == later


def test_a_wrong_or_expired_token_is_refused(namespace: EventHubNamespace) -> None:
    wrong = namespace.connection_string(_hub(namespace)).replace(namespace.key, "bm90LXRoZS1rZXk=")
    client = _client(namespace, wrong)
    with pytest.raises(EventHubError):
        client.get_partition_ids()
    client.close()
    resource = f"sb://{namespace.namespace}/{_hub(namespace)}"
    now = time.time()
    good = sas_token(resource, namespace.key_name, namespace.key, int(now) + 60)
    expired = sas_token(resource, namespace.key_name, namespace.key, int(now) - 1)
    other_policy = sas_token(resource, "manage", namespace.key, int(now) + 60)
    assert _check_sas(good, namespace.key_name, namespace.key, now) == (
        f"{namespace.namespace}/{_hub(namespace)}",
        int(now) + 60,
    )
    assert _check_sas(expired, namespace.key_name, namespace.key, now) is None
    assert _check_sas(other_policy, namespace.key_name, namespace.key, now) is None
    assert _check_sas("Bearer x", namespace.key_name, namespace.key, now) is None


def test_events_older_than_the_retention_are_gone(tmp_path: Path) -> None:
    clock = ManualClock(NOW - timedelta(hours=2))
    tenant = SimTenant.build(seed=4, users=10, start=NOW, history=timedelta(hours=3), scenarios=[])
    state = EmulatorState(clock=clock, idp=IdentityProvider(), tenants={tenant.tenant_id: tenant})
    ns = EventHubNamespace(
        state, tls=ensure_tls(tmp_path), retention=timedelta(minutes=30), tick_secs=3600
    )
    ns.stop()  # never served: only its partitions are looked at
    for _ in range(12):  # two hours, published every 10 minutes
        clock.advance(timedelta(minutes=10))
        ns.publish()
    partitions = ns.hubs[_hub(ns)].partitions
    for partition in partitions:
        assert partition.events
        assert all(e.enqueued >= clock.now() - timedelta(minutes=30) for e in partition.events)
        # older events were dropped; sequence numbers go on from the first event ever enqueued
        assert partition.events[0].sequence_number > 0
        assert partition.events[-1].sequence_number == partition.next_sequence - 1
