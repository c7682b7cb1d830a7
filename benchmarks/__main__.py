"""``make bench``: every benchmark, each reported as a ratio against a baseline run in the same
process (machines differ; ratios travel), then ``benchmarks/results.json`` and
``docs/benchmarks.md`` (with ``docs/benchmarks.png``).

- parse and normalization: records → Arrow → OCSF events, against ``json.loads``;
- detection: the built-in pack, SigmaHQ's cloud rules and 1,000 rules, against the Python oracle;
- store: 100,000 events inserted with the signed ledger (against a plain DuckDB bulk load),
  exported to the lake (against one Parquet COPY), read back and verified;
- end to end: raw records through normalize, store and detect, against ``json.loads``;
- latency: live emulator runs, availability at the API → finding at a webhook receiver, with
  Entra ID's records pushed through an event hub, then polled from Graph.

Longer runs: ``python -m benchmarks.store_bench 1000000``, ``python -m benchmarks.emulator_scale``,
``python -m benchmarks.detection_week``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import (
    detection_bench,
    latency_bench,
    normalize_bench,
    pipeline_bench,
    report,
    store_bench,
)

ROOT = Path(__file__).parents[1]


def main() -> None:
    started = time.perf_counter()
    results: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.platform(terse=True),
        },
    }
    timings: dict[str, float] = {}

    def step(name: str, run: Any) -> None:
        t0 = time.perf_counter()
        results[name] = run()
        timings[name] = round(time.perf_counter() - t0, 1)
        print(f"-- {name}: {timings[name]} s", flush=True)

    step("normalization", normalize_bench.main)
    for shape, r in results["normalization"].items():
        print(
            f"parse {shape}: {r['parse_records_per_sec']:,} rec/s = "
            f"{r['parse_ratio_vs_json_loads']}x json.loads; normalize: "
            f"{r['events_per_sec']:,} ev/s ({r['avg_bytes']} B records) = "
            f"{r['ratio_vs_json_loads']}x json.loads"
        )
    step("detection", detection_bench.main)
    step("store", lambda: store_bench.main(100_000))
    print(
        "store: insert {insert_events_per_sec:,} ev/s ({insert_ratio}x bulk load), export "
        "{export_events_per_sec:,} ev/s ({export_ratio}x COPY), verify "
        "{verify_events_per_sec:,} ev/s, read back equal: {counts_equal}".format(**results["store"])
    )
    step("end_to_end", pipeline_bench.main)
    step(
        "latency",
        lambda: {lane: latency_bench.main(lane=lane) for lane in ("event_hub", "graph")},
    )
    for lane, latency in results["latency"].items():
        for kind in ("activity_api", lane, "all"):
            if kind in latency:
                print(
                    f"latency ({lane} lane) {kind}: p50 {latency[kind]['p50_secs']} s, "
                    f"p99 {latency[kind]['p99_secs']} s (n={latency[kind]['n']})"
                )
    results["elapsed_secs"] = round(time.perf_counter() - started, 1)
    results["step_secs"] = timings
    out = Path(__file__).parent / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    report.write(results, ROOT / "docs")
    print(f"written to {out} and docs/benchmarks.md in {results['elapsed_secs']} s")


if __name__ == "__main__":
    main()
