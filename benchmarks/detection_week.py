"""The built-in pack on a week of ordinary activity, and on every attack scenario.

Quiet: a week of a 1,000-user tenant with no attack injected must raise no finding. Found:
a day of a 300-user tenant with every scenario injected must raise a finding for every stage.
Run: ``python -m benchmarks.detection_week [users] [days]`` (default 1000 users, 7 days; about a
minute per simulated day on one core).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from tests.detect.replay import replay, stages_found

from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.scenarios import SCENARIOS

START = datetime(2026, 1, 12, 0, tzinfo=UTC)  # a Monday


def quiet(users: int, days: int) -> None:
    hours = 24 * days
    tenant = SimTenant.build(
        seed=8, users=users, start=START + timedelta(hours=hours), history=timedelta(hours=hours)
    )
    t0 = time.perf_counter()
    findings, events = replay(tenant, START, hours)
    secs = time.perf_counter() - t0
    print(
        f"ordinary activity, {users:,} users x {days} days: {events:,} events, "
        f"{len(findings)} findings ({secs:.0f} s, {events / secs:,.0f} ev/s generated, "
        "normalized and detected)"
    )
    for f in findings.values():
        print(f"  {f.rule_title}: {f.entity}")


def attacks() -> None:
    tenant = SimTenant.build(
        seed=7,
        users=300,
        start=START + timedelta(hours=24),
        history=timedelta(hours=24),
        scenarios=sorted(SCENARIOS),
        scenario_start=START + timedelta(hours=9),
    )
    findings, events = replay(tenant, START, 24)
    found = stages_found(tenant, findings.values())
    print(f"every scenario, 300 users x 1 day: {events:,} events, {len(findings)} findings")
    for (scenario, stage), rules in found.items():
        print(f"  {scenario} / {stage}: {', '.join(sorted(rules)) or 'NOT FOUND'}")


if __name__ == "__main__":
    attacks()
    quiet(
        int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 7,
    )
