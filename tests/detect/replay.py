"""A simulated tenant's records, hour by hour, through normalization and the detection engine,
as the pipeline would see them (Graph sign-ins and directory audits, the Activity API)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from tenantwatch.detect import DetectionEngine, RuleSet
from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.emulator import SimTenant
from tenantwatch.model.batch import RawBatch
from tenantwatch.model.finding import Finding
from tenantwatch.normalize import normalize_many
from tests.detect.events import render_hour

__all__ = ["replay", "stages_found"]


def replay(
    tenant: SimTenant, start: datetime, hours: int, engine: DetectionEngine | None = None
) -> tuple[dict[str, Finding], int]:
    """Findings (by uid) of the built-in pack over ``hours`` of the tenant, and the events."""
    engine = engine or DetectionEngine(RuleSet.from_paths([builtin_rules_path()]))
    findings: dict[str, Finding] = {}
    events = 0
    for h in range(hours):
        shapes = render_hour(tenant, start + timedelta(hours=h), azure_monitor=False)
        batch = normalize_many(
            [RawBatch(tenant.tenant_id, "replay", s, s, r, start) for s, r in shapes.items() if r]
        )
        events += batch.events.height
        for change in engine.evaluate(batch.events.sort("time")):
            findings[change.finding.uid] = change.finding
    return findings, events


def stages_found(tenant: SimTenant, findings: Iterable[Finding]) -> dict[tuple[str, str], set[str]]:
    """For every injected stage, the rules whose findings cite one of its records."""
    findings = list(findings)
    out: dict[tuple[str, str], set[str]] = {}
    for stage in tenant.ground_truth.stages:
        ids = {r["id"] for r in stage.to_dict()["records"]}
        out[(stage.scenario, stage.stage)] = {
            f.rule_title
            for f in findings
            if any(uid.split(":", 1)[-1] in ids for uid in f.evidence_uids)
        }
    return out
