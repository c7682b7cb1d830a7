"""Downtime: three days off are backfilled on restart; a week off leaves a gap, recorded with its
time range; an expired blob is recorded as a gap with its content id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tenantwatch.config.model import SourceConfig
from tenantwatch.store import DuckDBStore
from tests.sources.harness import NOW, Tenant, run_once, start_tenant, stored_ids

FAST = {"poll_interval_secs": 0.1, "retry_backoff_secs": 0.02, "initial_lookback_secs": 3600}


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    # a week of backfill is thousands of blobs: past the Activity API's 2,000 requests a minute,
    # which the collector honours (AF429 Retry-After; see test_compliance) at real-time cost
    yield from start_tenant(
        tmp_path_factory.mktemp("outage"),
        users=25,
        history=timedelta(days=12),
        manage_requests_per_minute=0,
    )


def _gaps(data: Path) -> list:  # type: ignore[type-arg]
    store = DuckDBStore(data / "tenantwatch.duckdb", read_only=True)
    try:
        return store.gaps()
    finally:
        store.close()


def test_three_days_off_are_backfilled(tenant: Tenant, tmp_path: Path) -> None:
    config = tenant.config(
        tmp_path,
        SourceConfig(id="activity", type="o365_management", tenant="t", **FAST),
        SourceConfig(id="signins", type="graph_signins", tenant="t", **FAST),
    )
    try:
        tenant.clock.set(NOW - timedelta(days=4))
        run_once(tenant, config)
        before = len(stored_ids(tmp_path))
        tenant.state.served.clear()
        tenant.clock.set(NOW - timedelta(days=1))  # the collector was down for three days
        run_once(tenant, config)
    finally:
        tenant.clock.set(NOW)
    activity = stored_ids(tmp_path, "activity/")
    served = tenant.served("o365/")
    assert served <= set(activity)
    created = {
        b.created
        for ct in ("Audit.Exchange",)
        for slot in range(
            tenant.tenant.timeline.slot_of(NOW - timedelta(days=4)),
            tenant.tenant.timeline.slot_of(NOW - timedelta(days=1)),
        )
        for b, _ in tenant.tenant.timeline.blobs(ct, slot)
    }
    assert min(created) < NOW - timedelta(days=3, hours=23)  # the whole outage had content
    assert len(activity) > before
    graph = stored_ids(tmp_path, "signIns/")
    assert tenant.served("graph/signIns") <= set(graph)
    assert _gaps(tmp_path) == []


def test_a_week_off_is_a_gap_with_its_time_range(tenant: Tenant, tmp_path: Path) -> None:
    config = tenant.config(
        tmp_path,
        SourceConfig(
            id="activity",
            type="o365_management",
            tenant="t",
            content_types=("Audit.Exchange",),
            **FAST,
        ),
    )
    try:
        tenant.clock.set(NOW - timedelta(days=11))
        run_once(tenant, config)
        tenant.clock.set(NOW - timedelta(days=2, hours=12))  # 8.5 days later
        run_once(tenant, config)
    finally:
        tenant.clock.set(NOW)
    (gap,) = _gaps(tmp_path)
    assert gap.stream == "activity/Audit.Exchange"
    assert "7-day retention" in gap.reason
    assert gap.start == NOW - timedelta(days=11)
    assert gap.end == NOW - timedelta(days=2, hours=12) - timedelta(days=7) + timedelta(minutes=5)


def test_an_expired_blob_is_a_gap_with_its_content_id(tenant: Tenant, tmp_path: Path) -> None:
    config = tenant.config(
        tmp_path,
        SourceConfig(
            id="activity",
            type="o365_management",
            tenant="t",
            content_types=("Audit.SharePoint",),
            **FAST,
        ),
    )
    timeline = tenant.tenant.timeline
    expired = next(
        b
        for slot in range(timeline.slot_of(NOW - timedelta(minutes=50)), timeline.slot_of(NOW))
        for b, _ in timeline.blobs("Audit.SharePoint", slot)
    )
    tenant.state.faults.expired_content.add(expired.content_id)
    try:
        run_once(tenant, config)
    finally:
        tenant.state.faults.expired_content.clear()
    (gap,) = _gaps(tmp_path)
    assert gap.content_ids == (expired.content_id,)
    assert "expired" in gap.reason
    assert (
        gap.start
        == gap.end
        == expired.created.replace(microsecond=expired.created.microsecond // 1000 * 1000)
    )


def test_a_disabled_subscription_is_restarted_and_the_gap_recorded(
    tenant: Tenant, tmp_path: Path
) -> None:
    config = tenant.config(
        tmp_path,
        SourceConfig(
            id="activity",
            type="o365_management",
            tenant="t",
            content_types=("Audit.General",),
            **FAST,
        ),
    )
    subscription = tenant.state.subscriptions[tenant.tenant_id]["Audit.General"]
    try:
        tenant.clock.set(NOW - timedelta(hours=3))
        run_once(tenant, config)
        subscription.enabled = False  # an admin stopped it
        begin, _ = subscription.periods[-1]
        subscription.periods[-1] = (begin, tenant.clock.now())
        tenant.clock.set(NOW - timedelta(hours=1))
        run_once(tenant, config)
    finally:
        tenant.clock.set(NOW)
    (gap,) = _gaps(tmp_path)
    assert "disabled" in gap.reason
    assert gap.end == NOW - timedelta(hours=1)
    assert subscription.enabled
