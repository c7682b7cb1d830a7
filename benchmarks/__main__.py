"""``make bench``: throughput benchmarks, each reported as a ratio against a baseline run in the
same process (machines differ; ratios travel). Results also go to ``benchmarks/results.json``.

- normalization: records → OCSF events, against ``json.loads`` of the same records;
- detection: matching at 100 and 1,000 rules, against the Python oracle on the same events.

The emulator's scale figures (a 100,000-user day) are a separate, longer run:
``python -m benchmarks.emulator_scale``.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import detection_bench, normalize_bench


def main() -> None:
    normalization = normalize_bench.main()
    results = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or "?"},
        "normalization": normalization,
        "detection": detection_bench.main(),
    }
    for shape, r in normalization.items():
        print(
            f"normalization {shape}: {r['events_per_sec']:,} ev/s "
            f"({r['avg_bytes']} B records) = {r['ratio_vs_json_loads']}x json.loads"
        )
    out = Path(__file__).parent / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
