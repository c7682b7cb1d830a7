"""A stream whose feed stops at the emulator raises a freshness finding within its threshold."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tenantwatch.config.model import SourceConfig
from tenantwatch.store import DuckDBStore
from tests.sources.harness import Tenant, run_once, start_tenant

THRESHOLD = timedelta(hours=1)


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[Tenant]:
    yield from start_tenant(tmp_path, users=30, history=timedelta(hours=6))


def _health_findings(data: Path) -> list[tuple[str, str, str]]:
    store = DuckDBStore(data / "tenantwatch.duckdb", read_only=True)
    try:
        rows = store.sql(
            "SELECT rule_id, entity->>'stream' AS stream, created_time FROM findings "
            "WHERE rule_id LIKE 'tw_health_%' ORDER BY created_time"
        )
    finally:
        store.close()
    return list(rows.iter_rows())


def test_a_stalled_stream_raises_a_finding_within_the_threshold(
    tenant: Tenant, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    config = tenant.config(
        data,
        SourceConfig(
            id="activity",
            type="o365_management",
            tenant="t",
            content_types=("Audit.AzureActiveDirectory", "Audit.Exchange"),
            initial_lookback_secs=6 * 3600,
            freshness_threshold_secs=THRESHOLD.total_seconds(),
        ),
    )
    run_once(tenant, config)
    assert _health_findings(data) == []

    # the Exchange feed stops, through the emulator's control API
    stalled_at = tenant.clock.now()
    response = httpx.post(
        f"{tenant.server.base_url}/_emulator/faults",
        json={"stall_streams": ["Audit.Exchange"]},
        headers={"X-Emulator-Key": tenant.state.control_key},
        verify=ssl.create_default_context(cafile=str(tenant.server.tls.ca_file)),
    )
    assert response.status_code == 200

    # polling every 10 minutes: quiet until the threshold passes, then one finding
    raised = None
    for _ in range(12):
        tenant.clock.advance(timedelta(minutes=10))
        run_once(tenant, config)
        found = _health_findings(data)
        if found:
            raised = tenant.clock.now()
            break
    assert raised is not None, "no freshness finding after two hours of a stalled feed"
    assert found == [("tw_health_stream_stale", "activity/Audit.Exchange", found[0][2])]
    # within the threshold: the newest Exchange content predates the stall, and the finding
    # came at the first poll after it was more than THRESHOLD old
    assert raised - stalled_at <= THRESHOLD + timedelta(minutes=10)

    # still stalled: the same spell raises nothing more; a live stream raises nothing
    tenant.clock.advance(timedelta(minutes=10))
    run_once(tenant, config)
    assert len(_health_findings(data)) == 1
