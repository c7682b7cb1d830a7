"""How the emulator scales: one simulated day of a large tenant, generated and rendered.

Generates every activity of one day hour by hour (as the emulator does when it serves), renders
each in every shape an API serves it in (Graph JSON, Activity API JSON), and reports the time,
the records produced and the peak memory. Run: ``python -m benchmarks.emulator_scale --users N``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import UTC, datetime, timedelta

import orjson

from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.activities import DirectoryAudit, SignIn
from tenantwatch.emulator.render import (
    content_type_of,
    graph_directory_audit,
    graph_signin,
    ual_record,
)


def run(users: int, hours: int = 24) -> dict[str, float]:
    start = datetime(2026, 1, 12, tzinfo=UTC)  # a Monday
    t0 = time.perf_counter()
    tenant = SimTenant.build(seed=1, users=users, start=start, history=timedelta(0))
    t1 = time.perf_counter()
    generate = render = 0.0
    activities = records = size = 0
    domain, tenant_id = tenant.directory.domain, tenant.tenant_id
    for h in range(hours):
        a = time.perf_counter()
        batch = tenant.timeline.activities(start + timedelta(hours=h))
        b = time.perf_counter()
        for x in batch:
            if isinstance(x, SignIn):
                size += len(orjson.dumps(graph_signin(x)))
                records += 1
            elif isinstance(x, DirectoryAudit):
                size += len(orjson.dumps(graph_directory_audit(x)))
                records += 1
            if content_type_of(x) is not None:
                size += len(orjson.dumps(ual_record(x, tenant_id, domain)))
                records += 1
        render += time.perf_counter() - b
        generate += b - a
        activities += len(batch)
    return {
        "users": users,
        "hours": hours,
        "directory_secs": round(t1 - t0, 2),
        "activities": activities,
        "records": records,
        "bytes": size,
        "generate_secs": round(generate, 1),
        "render_secs": round(render, 1),
        "activities_per_sec": round(activities / generate),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    print(json.dumps(run(args.users, args.hours), indent=2))


if __name__ == "__main__":
    main()
