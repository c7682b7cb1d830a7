"""One simulated tenant: its directory, its timeline of activity, and its ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tenantwatch.emulator.directory import Directory
from tenantwatch.emulator.scenarios import SCENARIOS, GroundTruth
from tenantwatch.emulator.scenarios.exchange import AuditDisable
from tenantwatch.emulator.timeline import Latency, Timeline

__all__ = ["SimTenant"]


@dataclass
class SimTenant:
    """A tenant the emulator serves."""

    directory: Directory
    timeline: Timeline
    ground_truth: GroundTruth
    seed: int
    scenarios: tuple[str, ...] = ()

    @property
    def tenant_id(self) -> str:
        return self.directory.tenant_id

    @classmethod
    def build(
        cls,
        *,
        seed: int,
        users: int,
        start: datetime,
        history: timedelta = timedelta(hours=1),
        scenarios: list[str] | None = None,
        scenario_start: datetime | None = None,
        tenant_id: str | None = None,
        domain: str = "",
        latency: dict[str, Latency] | None = None,
        background_scale: float = 1.0,
        duplicate_rate: float = 0.005,
        cache_hours: int = 36,
    ) -> SimTenant:
        """A tenant of ``users`` users whose history starts ``history`` before ``start``.

        Every named scenario begins at ``scenario_start`` (default: two minutes after ``start``).
        """
        directory = Directory.generate(seed, users, tenant_id=tenant_id, domain=domain)
        truth = GroundTruth()
        begin = scenario_start or start + timedelta(minutes=2)
        for name in scenarios or []:
            factory = SCENARIOS.get(name)
            if factory is None:
                known = ", ".join(sorted(SCENARIOS))
                raise ValueError(f"unknown scenario {name!r}; known: {known}")
            scenario = factory()
            truth.stages.extend(scenario.stages(directory, begin, seed))
            if isinstance(scenario, AuditDisable):
                truth.ual_blackouts.append(scenario.blackout_window(begin))
        timeline = Timeline(
            directory,
            seed,
            history_start=start - history,
            ground_truth=truth,
            latency=latency,
            background_scale=background_scale,
            duplicate_rate=duplicate_rate,
            cache_hours=cache_hours,
        )
        return cls(directory, timeline, truth, seed, tuple(scenarios or ()))

    def ground_truth_document(self) -> dict[str, Any]:
        """The ground truth as written to ``--ground-truth``: stages with the served record ids."""
        return {
            "tenant_id": self.tenant_id,
            "seed": self.seed,
            "scenarios": list(self.scenarios),
            "stages": [
                s.to_dict(self.ground_truth.ual_blackouts) for s in self.ground_truth.stages
            ],
            "ual_blackouts": [
                {"start": a.isoformat(), "end": b.isoformat()}
                for a, b in self.ground_truth.ual_blackouts
            ],
        }
