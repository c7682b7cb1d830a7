"""Normalization throughput on realistic records, against plain ``json.loads`` in the same process.

Records are the emulator's Activity API and Graph renders of a working day (mixed families,
about 1 KB each). Run: ``python -m benchmarks.normalize_bench``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import orjson

from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.activities import SignIn
from tenantwatch.emulator.render import content_type_of, graph_signin, ual_record
from tenantwatch.model.batch import RawBatch
from tenantwatch.normalize import normalize
from tenantwatch.normalize.jsonread import read_records
from tenantwatch.normalize.normalizer import MAPPERS


def records(n: int) -> dict[str, list[bytes]]:
    start = datetime(2026, 1, 12, 8, tzinfo=UTC)
    tenant = SimTenant.build(seed=2, users=2000, start=start, history=timedelta(0))
    ual: list[bytes] = []
    graph: list[bytes] = []
    hour = 0
    while len(ual) < n or len(graph) < n:
        for a in tenant.timeline.activities(start + timedelta(hours=hour)):
            if content_type_of(a) is not None and len(ual) < n:
                ual.append(orjson.dumps(ual_record(a, tenant.tenant_id, tenant.directory.domain)))
            if isinstance(a, SignIn) and len(graph) < n:
                graph.append(orjson.dumps(graph_signin(a)))
        hour += 1
    return {"o365.management": ual, "graph.signIn": graph}


def measure(shape: str, data: list[bytes], batch: int = 10_000) -> dict[str, float]:
    size = sum(map(len, data))
    t0 = time.perf_counter()
    for line in data:
        json.loads(line)
    baseline = time.perf_counter() - t0
    # parse only: the records straight into Arrow with the shape's explicit schema
    schema = MAPPERS[shape].schema
    t0 = time.perf_counter()
    for i in range(0, len(data), batch):
        read_records(data[i : i + batch], schema)
    parse_secs = time.perf_counter() - t0
    t0 = time.perf_counter()
    events = 0
    for i in range(0, len(data), batch):
        raw = RawBatch("t", "bench", "s", shape, data[i : i + batch], datetime.now(UTC))
        events += normalize(raw).events.height
    elapsed = time.perf_counter() - t0
    return {
        "records": len(data),
        "avg_bytes": round(size / len(data)),
        "events_per_sec": round(events / elapsed),
        "json_loads_per_sec": round(len(data) / baseline),
        "parse_records_per_sec": round(len(data) / parse_secs),
        "parse_ratio_vs_json_loads": round(baseline / parse_secs, 2),
        "ratio_vs_json_loads": round((events / elapsed) / (len(data) / baseline), 2),
    }


def main(n: int = 60_000) -> dict[str, dict[str, float]]:
    data = records(n)
    return {shape: measure(shape, items) for shape, items in data.items()}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
