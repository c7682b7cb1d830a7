"""End-to-end throughput: raw records through normalize → store (with the signed ledger) →
detect (the built-in pack) → findings, as the pipeline processes what its collectors queued.

Records: the emulator's Activity API and Graph renders of a working day with every attack
scenario (about 1-2 KB each), in batches of the size a collector queues. Baseline in the same
process: ``json.loads`` of the same records. Run: ``python -m benchmarks.pipeline_bench``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tenantwatch.detect import DetectionEngine, RuleSet
from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.activities import SignIn
from tenantwatch.emulator.render import content_type_of, graph_signin, ual_record
from tenantwatch.emulator.scenarios import SCENARIOS
from tenantwatch.model.batch import RawBatch, RecordShape
from tenantwatch.model.clock import SystemClock
from tenantwatch.pipeline import Pipeline
from tenantwatch.sinks import JsonlSink
from tenantwatch.store import DuckDBStore

BATCH_RECORDS = 2000  # what one Activity API poll of a busy tenant brings


def raw_batches(records: int) -> list[RawBatch]:
    start = datetime(2026, 1, 12, 7, tzinfo=UTC)
    tenant = SimTenant.build(
        seed=21,
        users=3000,
        start=start,
        history=timedelta(0),
        scenarios=sorted(SCENARIOS),
        scenario_start=start + timedelta(hours=1),
    )
    ual: list[bytes] = []
    graph: list[bytes] = []
    hour = 0
    while len(ual) + len(graph) < records:
        for a in tenant.timeline.activities(start + timedelta(hours=hour)):
            if content_type_of(a) is not None:
                ual.append(orjson.dumps(ual_record(a, tenant.tenant_id, tenant.directory.domain)))
            if isinstance(a, SignIn):
                graph.append(orjson.dumps(graph_signin(a, beta=True)))
        hour += 1
    now = datetime.now(UTC)
    batches = []
    for shape, stream, items in (
        (RecordShape.O365_MANAGEMENT, "activity/Audit.General", ual),
        (RecordShape.GRAPH_SIGNIN, "signIns/interactiveUser", graph),
    ):
        for i in range(0, len(items), BATCH_RECORDS):
            batches.append(
                RawBatch(
                    tenant.tenant_id,
                    "bench",
                    stream,
                    shape,
                    items[i : i + BATCH_RECORDS],
                    now,
                    available_time=now,
                )
            )
    return batches


def main(records: int = 100_000) -> dict[str, Any]:
    batches = raw_batches(records)
    total = sum(len(b.records) for b in batches)
    t0 = time.perf_counter()
    for b in batches:
        for line in b.records:
            json.loads(line)
    baseline = time.perf_counter() - t0
    work = Path(tempfile.mkdtemp(prefix="tw-pipeline-bench-"))
    try:
        store = DuckDBStore(work / "tenantwatch.duckdb")
        pipeline = Pipeline(
            sources=[],
            store=store,
            engine=DetectionEngine(RuleSet.from_paths([builtin_rules_path()])),
            sinks=[JsonlSink(work / "findings.jsonl")],
            clock=SystemClock(),
            stop=threading.Event(),
        )
        t0 = time.perf_counter()
        stored = findings = 0
        for b in batches:
            result = pipeline.process(b)
            stored += result.stored
            findings += len(result.new_findings)
        elapsed = time.perf_counter() - t0
        pipeline.shutdown()
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rate = total / elapsed
    result_row = {
        "records": total,
        "batch_records": BATCH_RECORDS,
        "stored": stored,
        "findings": findings,
        "records_per_sec": round(rate),
        "json_loads_per_sec": round(total / baseline),
        "ratio_vs_json_loads": round(rate / (total / baseline), 3),
    }
    print(
        f"end to end (normalize, store with ledger, detect with the built-in pack): "
        f"{rate:,.0f} records/s = {result_row['ratio_vs_json_loads']}x json.loads "
        f"({total:,} records, {findings} findings)"
    )
    return result_row


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
