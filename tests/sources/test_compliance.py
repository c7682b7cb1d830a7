"""One compliance test, every source: against an emulator that duplicates records, serves blobs
out of order, throttles, fails with 5xx and truncates bodies, a pipeline that is restarted
between polls stores every record the emulator served exactly once, and every ground-truth
record of the collected period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tenantwatch.config.model import SourceConfig
from tests.sources.harness import NOW, Tenant, run_once, start_tenant, stored_ids

FAST = {"poll_interval_secs": 0.1, "retry_backoff_secs": 0.02, "max_attempts": 10}
SOURCES = {
    "graph_signins": (
        SourceConfig(
            id="signins",
            type="graph_signins",
            tenant="t",
            version="beta",
            event_types=(
                "interactiveUser",
                "nonInteractiveUser",
                "servicePrincipal",
                "managedIdentity",
            ),
            initial_lookback_secs=86400,
            **FAST,
        ),
        "graph/signIns",
        "signIns/",
    ),
    "graph_directory_audits": (
        SourceConfig(
            id="audits",
            type="graph_directory_audits",
            tenant="t",
            initial_lookback_secs=86400,
            **FAST,
        ),
        "graph/directoryAudits",
        "directoryAudits",
    ),
    "o365_management": (
        SourceConfig(
            id="activity",
            type="o365_management",
            tenant="t",
            initial_lookback_secs=86400,
            max_concurrent_blobs=4,
            **FAST,
        ),
        "o365/",
        "activity/",
    ),
}


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    yield from start_tenant(tmp_path_factory.mktemp("compliance"))


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_every_served_record_is_stored_exactly_once(
    tenant: Tenant, tmp_path: Path, kind: str
) -> None:
    config_source, served_prefix, stream_prefix = SOURCES[kind]
    config = tenant.config(tmp_path / kind, config_source)
    faults = tenant.state.faults
    tenant.state.served.clear()
    faults.update(
        {
            "server_error_rate": 0.08,
            "truncate_rate": 0.04,
            "throttle_rate": 0.03,
            "retry_after_secs": 0,
        }
    )
    try:
        tenant.clock.set(NOW - timedelta(hours=6))
        faulty = [run_once(tenant, config)]
        for _ in range(4):  # restarts: each pipeline resumes from the committed checkpoints
            tenant.clock.advance(timedelta(hours=1, minutes=30))
            faulty.append(run_once(tenant, config))
        faults.update({"server_error_rate": 0.0, "truncate_rate": 0.0, "throttle_rate": 0.0})
        pipeline = run_once(tenant, config)  # a clean final poll catches up
    finally:
        faults.update({"server_error_rate": 0.0, "truncate_rate": 0.0, "throttle_rate": 0.0})
        tenant.clock.set(NOW)
    stored = stored_ids(tmp_path / kind, stream_prefix)
    served = tenant.served(served_prefix)
    assert served, "the emulator served nothing"
    assert len(stored) == len(set(stored)), "a record was stored twice"
    assert set(stored) == served
    truth = {
        r["id"]
        for stage in tenant.tenant.ground_truth_document()["stages"]
        for r in stage["records"]
        if r["stream"].startswith(served_prefix)
    }
    collected = truth & served
    assert collected, "the collected period holds ground-truth records"
    assert collected <= set(stored)
    retries = sum(p.sources[0].metrics.retries for p in faulty)
    assert retries > 0, "the faults were survived by retrying"
    for p in (*faulty, pipeline):
        assert p.stats.stored + p.stats.duplicates == p.stats.received


def test_file_source_stores_each_record_once_across_appends(tenant: Tenant, tmp_path: Path) -> None:
    import orjson

    from tenantwatch.emulator.render import content_type_of, ual_record

    exports = tmp_path / "exports"
    exports.mkdir()
    activities = [
        a
        for h in range(6)
        for a in tenant.tenant.timeline.activities(NOW - timedelta(hours=10 - h))
        if content_type_of(a) is not None
    ]
    records = [ual_record(a, tenant.tenant_id, tenant.tenant.directory.domain) for a in activities]
    half = len(records) // 2
    path = exports / "audit.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records[:half]) + b"\n")
    config = tenant.config(
        tmp_path / "files",
        SourceConfig(id="exports", type="file", path=exports, tenant="t", poll_interval_secs=0.1),
    )
    run_once(tenant, config)
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\nnot json\n")  # appended to
    pipeline = run_once(tenant, config)
    stored = stored_ids(tmp_path / "files")
    assert len(stored) == len(set(stored)) == len({r["Id"] for r in records})
    assert pipeline.stats.quarantined == 1
    pipeline = run_once(tenant, config)  # unchanged file: not read again
    assert pipeline.stats.received == 0
