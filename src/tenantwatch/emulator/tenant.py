"""One simulated tenant: its directory, its timeline of activity, and its ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tenantwatch.emulator.directory import Directory
from tenantwatch.emulator.scenarios import SCENARIOS, GroundTruth
from tenantwatch.emulator.timeline import Latency, Timeline

__all__ = ["SimTenant"]


@dataclass
class SimTenant:
    """A tenant the emulator serves."""

    directory: Directory
    timeline: Timeline
    ground_truth: GroundTruth
    seed: int

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
        scenario_delay: timedelta = timedelta(minutes=2),
        tenant_id: str | None = None,
        latency: Latency | None = None,
        background_rate: float = 0.6,
    ) -> SimTenant:
        """A tenant of ``users`` users whose history starts ``history`` before ``start``;
        each named scenario begins ``scenario_delay`` after ``start``."""
        directory = Directory.generate(seed, users, tenant_id=tenant_id)
        truth = GroundTruth()
        for name in scenarios or []:
            try:
                scenario = SCENARIOS[name]()
            except KeyError:
                known = ", ".join(sorted(SCENARIOS))
                raise ValueError(f"unknown scenario {name!r}; known: {known}") from None
            truth.stages.extend(scenario.stages(directory, start + scenario_delay, seed))
        timeline = Timeline(
            directory,
            seed,
            history_start=start - history,
            ground_truth=truth,
            latency=latency,
            background_rate=background_rate,
        )
        return cls(directory=directory, timeline=timeline, ground_truth=truth, seed=seed)

    def ground_truth_document(self) -> dict[str, Any]:
        """The ground truth as written to ``--ground-truth``: stages with the served record ids."""
        streams = {a.id: "graph/signIns" for a in self.ground_truth.activities()}
        return {
            "tenant_id": self.tenant_id,
            "seed": self.seed,
            "stages": [s.to_dict(streams) for s in self.ground_truth.stages],
        }
