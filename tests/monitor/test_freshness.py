"""The freshness monitor's rules, one at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenantwatch.errors import Gap
from tenantwatch.model.batch import Checkpoint, RawBatch
from tenantwatch.monitor.freshness import FreshnessMonitor
from tests.normalize.helpers import run

T0 = datetime(2026, 1, 14, 10, tzinfo=UTC)
KEY = ("tenant-1", "activity", "activity/Audit.Exchange")


def batch(available: datetime | None, watermark: datetime, records: int = 1) -> RawBatch:
    return RawBatch(
        tenant=KEY[0],
        source=KEY[1],
        stream=KEY[2],
        shape="o365.management",
        records=[b"{}"] * records,
        fetched_time=watermark,
        available_time=available,
        checkpoint=Checkpoint(*KEY, watermark),
    )


def monitor() -> FreshnessMonitor:
    m = FreshnessMonitor({"activity": timedelta(hours=1), "files": timedelta(0)})
    m.watch(KEY, T0)
    return m


def test_a_feed_that_keeps_answering_with_nothing_new_goes_stale_once() -> None:
    m = monitor()
    m.observe([batch(T0, T0)])
    for minutes in (20, 40, 60):  # polls answer, empty
        m.observe([batch(None, T0 + timedelta(minutes=minutes), records=0)])
        assert m.check(T0 + timedelta(minutes=minutes)) == []
    m.observe([batch(None, T0 + timedelta(minutes=61), records=0)])
    (found,) = m.check(T0 + timedelta(minutes=61))
    assert found.rule_id == "tw_health_stream_stale"
    assert found.entity == {"source": "activity", "stream": "activity/Audit.Exchange"}
    assert found.first_seen == T0
    m.observe([batch(None, T0 + timedelta(minutes=90), records=0)])
    assert m.check(T0 + timedelta(minutes=90)) == []  # the same spell
    # data again ends the spell; a later stall is a new finding
    m.observe([batch(T0 + timedelta(minutes=95), T0 + timedelta(minutes=95))])
    m.observe([batch(None, T0 + timedelta(minutes=200), records=0)])
    (again,) = m.check(T0 + timedelta(minutes=200))
    assert again.uid != found.uid


def test_a_collector_catching_up_on_a_backlog_is_not_a_stalled_feed() -> None:
    m = monitor()
    for hours in range(6):  # yesterday's records, in order, hours later by the clock
        when = T0 - timedelta(hours=24 - hours)
        m.observe([batch(when, when + timedelta(minutes=5))])
        assert m.check(T0) == []


def test_a_stream_first_seen_after_the_start_is_watched_too() -> None:
    m = FreshnessMonitor({"activity": timedelta(hours=1)})  # no watch(): unknown at start
    m.observe([batch(T0, T0)])
    m.observe([batch(None, T0 + timedelta(minutes=61), records=0)])
    (found,) = m.check(T0 + timedelta(minutes=61))
    assert found.rule_id == "tw_health_stream_stale"


def test_a_source_without_a_threshold_is_not_watched() -> None:
    m = FreshnessMonitor({"activity": timedelta(0)})
    m.watch(KEY, T0)
    m.observe([batch(T0, T0), batch(None, T0 + timedelta(days=2), records=0)])
    assert m.check(T0 + timedelta(days=2)) == []


def test_every_gap_becomes_a_data_lost_finding() -> None:
    gap = Gap(
        KEY[0], KEY[2], T0, T0, "content blob expired before it was fetched (AF20051)", ("b1",)
    )
    (found,) = FreshnessMonitor.from_gaps([gap], {(KEY[0], KEY[2]): "activity"}, T0)
    assert found.rule_id == "tw_health_data_lost"
    assert found.severity == "high"
    assert "AF20051" in found.description
    assert "b1" in found.description
    assert FreshnessMonitor.from_gaps([gap], {}, T0)[0].uid == found.uid  # stable id


def _cmdlet(value: str) -> str:
    return (
        '{"CreationTime": "2026-01-12T09:05:00", "Id": "67ae0c23-3ba2-4a93-bfa1-9384549aff93",'
        ' "Operation": "Set-AdminAuditLogConfig", "RecordType": 1, "ResultStatus": "True",'
        ' "UserType": 2, "Workload": "Exchange", "UserId": "admin@contoso.com",'
        ' "OrganizationId": "82c60fa7-4dcb-4f73-98fa-9dd50c0a99d0",'
        ' "Parameters": [{"Name": "UnifiedAuditLogIngestionEnabled", "Value": "' + value + '"}]}'
    )


def test_turning_audit_ingestion_off_is_a_critical_finding() -> None:
    off = run("o365.management", _cmdlet("False").encode()).events
    on = run("o365.management", _cmdlet("True").encode()).events
    (found,) = FreshnessMonitor.ingestion_turned_off(off, T0)
    assert found.rule_id == "tw_health_audit_ingestion_off"
    assert found.severity == "critical"
    assert found.entity == {"user": "admin@contoso.com"}
    assert found.evidence_uids == off["tw_uid"].to_list()
    assert FreshnessMonitor.ingestion_turned_off(on, T0) == []
