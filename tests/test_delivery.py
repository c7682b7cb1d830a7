"""A whole pipeline against the emulator with real sinks: signed webhook deliveries, a dead
receiver that neither blocks nor loses anything, per-record times in the store, and the
Prometheus endpoint agreeing with the store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tenantwatch.assemble import assemble
from tenantwatch.config.model import MetricsConfig, SecretConfig, SinkConfig, SourceConfig
from tenantwatch.sinks.webhook import verify_signature
from tenantwatch.store import DuckDBStore
from tests.sinks.helpers import HttpReceiver, closed_port
from tests.sources.harness import Tenant, start_tenant

HOOK_SECRET = "hook-signing-secret"
METRICS_TOKEN = "metrics-token-for-the-test"


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[Tenant]:
    yield from start_tenant(tmp_path, users=30, history=timedelta(days=1))


def test_findings_reach_every_sink_and_every_stage_is_accounted(
    tenant: Tenant, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    (tmp_path / "hook.secret").write_text(HOOK_SECRET)
    (tmp_path / "metrics.token").write_text(METRICS_TOKEN)
    receiver = HttpReceiver()
    holder, dead_port = closed_port()
    base = tenant.config(
        data,
        SourceConfig(
            id="activity", type="o365_management", tenant="t", initial_lookback_secs=86400
        ),
        SourceConfig(id="signins", type="graph_signins", tenant="t", initial_lookback_secs=86400),
    )
    config = base.model_copy(
        update={
            "sinks": (
                SinkConfig(
                    id="hook",
                    type="webhook",
                    url=receiver.url(),
                    secret=SecretConfig(file=tmp_path / "hook.secret"),
                ),
                SinkConfig(
                    id="dead",
                    type="webhook",
                    url=f"http://127.0.0.1:{dead_port}/down",
                    max_attempts=2,
                    retry_backoff_secs=0.01,
                    max_backoff_secs=0.02,
                ),
            ),
            "metrics": MetricsConfig(
                listen="127.0.0.1:0", token=SecretConfig(file=tmp_path / "metrics.token")
            ),
        }
    )
    assembly = assemble(config, stop=threading.Event())
    pipeline = assembly.pipeline
    pipeline.clock = tenant.clock
    for source in pipeline.sources:
        source.clock = tenant.clock  # type: ignore[attr-defined]
    try:
        pipeline.run(once=True)
        assert assembly.metrics is not None
        scraped = httpx.get(
            f"http://127.0.0.1:{assembly.metrics.port}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            trust_env=False,
        )
    finally:
        assembly.close()
        receiver.stop()
        holder.close()

    store = DuckDBStore(data / "tenantwatch.duckdb", read_only=True)
    try:
        findings = store.sql(
            "SELECT uid, rule_id, delivered, available_time, detected_time, delivered_time "
            "FROM findings"
        )
        times = store.sql(
            "SELECT count(*) AS n, count(tw_stored_time) AS stored, "
            "count(*) FILTER (WHERE tw_available_time <= tw_fetched_time "
            "AND tw_fetched_time <= tw_stored_time) AS ordered FROM events"
        ).row(0, named=True)
    finally:
        store.close()

    # every finding went to the live receiver, signed
    uids = set(findings["uid"])
    assert len(uids) > 10
    delivered: set[str] = set()
    for request in receiver.requests:
        assert verify_signature(
            HOOK_SECRET,
            request.headers["x-tenantwatch-timestamp"],
            request.body,
            request.headers["x-tenantwatch-signature"],
        )
        delivered |= {f["finding_info"]["uid"] for f in orjson.loads(request.body)["findings"]}
    assert delivered == uids
    # ... and to the dead receiver's dead-letter file, without holding up the rest
    lines = (data / "dead-letter" / "dead.jsonl").read_text().splitlines()
    assert {orjson.loads(line)["finding"]["finding_info"]["uid"] for line in lines} == uids
    assert all(findings["delivered"])
    # the stages of every record and every finding are on record
    assert times["stored"] == times["n"] == times["ordered"]
    assert findings["detected_time"].null_count() == 0
    assert findings["delivered_time"].null_count() == 0
    rule_findings = findings.filter(~findings["rule_id"].str.starts_with("tw_health_"))
    assert rule_findings["available_time"].null_count() == 0
    # the audit-disable scenario turned ingestion off: a health finding says so
    assert "tw_health_audit_ingestion_off" in set(findings["rule_id"])

    # the metrics endpoint agrees with the store
    assert scraped.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}

    def total(family: str, **labels: str) -> float:
        return sum(
            s.value
            for s in families[family].samples
            if s.name == family + "_total" and all(s.labels.get(k) == v for k, v in labels.items())
        )

    assert total("tenantwatch_records", outcome="stored") == times["n"]
    assert total("tenantwatch_findings") == len(uids)
    assert total("tenantwatch_sink_deliveries", sink="hook", outcome="delivered") == len(uids)
    assert total("tenantwatch_sink_deliveries", sink="dead", outcome="dead_letter") == len(uids)
    assert total("tenantwatch_errors", stage="sending", component="dead") >= 1
    end_to_end = [
        s
        for s in families["tenantwatch_alert_latency_seconds"].samples
        if s.name.endswith("_count") and s.labels["stage"] == "end_to_end"
    ]
    assert {s.labels["sink"] for s in end_to_end} == {"hook"}
    assert end_to_end[0].value == findings["available_time"].drop_nulls().len()
