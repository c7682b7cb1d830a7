"""The simulated tenant over time: background activity plus scenarios, with availability.

Microsoft does not serve a record the moment it happens: Entra sign-ins reach Graph minutes
later, sometimes much later. Every activity here gets an availability time drawn from a
:class:`Latency` model (deterministic per record id); an API serves a record only once the
simulated clock has passed it.

Activity is generated lazily, one hour at a time, and cached (bounded), so a tenant of any size
serves any window of its history without holding it all in memory.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from tenantwatch.emulator.activity import BackgroundActivity, SignIn
from tenantwatch.emulator.directory import Directory
from tenantwatch.emulator.scenarios import GroundTruth

__all__ = ["Latency", "Served", "Timeline"]

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Latency:
    """Delay from event to availability: a log-normal body plus a late tail.

    Defaults follow what operators observe for Entra sign-ins via Graph: about 1-2 minutes
    typically, a few percent arriving 5-20 minutes late.
    """

    median_secs: float = 75.0
    sigma: float = 0.5
    late_fraction: float = 0.02
    late_max_secs: float = 1200.0

    def delay(self, record_id: str) -> timedelta:
        rng = random.Random(f"latency:{record_id}")
        secs = self.median_secs * math.exp(rng.gauss(0.0, self.sigma))
        if rng.random() < self.late_fraction:
            secs += rng.uniform(300.0, self.late_max_secs)
        return timedelta(seconds=secs)

    @property
    def max_delay(self) -> timedelta:
        """A bound above which no record is delayed (used to size queries)."""
        return timedelta(seconds=self.median_secs * math.exp(4 * self.sigma) + self.late_max_secs)


@dataclass(frozen=True)
class Served:
    """An activity as an API holds it: event time, availability time, the activity."""

    time: datetime
    available: datetime
    activity: SignIn

    @property
    def id(self) -> str:
        return self.activity.id


class Timeline:
    """All sign-ins of one tenant from ``history_start`` on, generated per hour on demand."""

    def __init__(
        self,
        directory: Directory,
        seed: int,
        *,
        history_start: datetime,
        ground_truth: GroundTruth | None = None,
        latency: Latency | None = None,
        background_rate: float = 0.6,
        cache_hours: int = 48,
    ) -> None:
        self.directory = directory
        self.history_start = history_start.replace(minute=0, second=0, microsecond=0)
        self.latency = latency or Latency()
        self.ground_truth = ground_truth or GroundTruth()
        self._background = BackgroundActivity(directory, seed, rate_per_user_hour=background_rate)
        self._cache: OrderedDict[datetime, list[Served]] = OrderedDict()
        self._cache_hours = cache_hours
        self._injected: dict[datetime, list[SignIn]] = {}
        for activity in self.ground_truth.activities():
            slot = activity.time.replace(minute=0, second=0, microsecond=0)
            self._injected.setdefault(slot, []).append(activity)

    def _slot(self, start: datetime) -> list[Served]:
        cached = self._cache.get(start)
        if cached is not None:
            self._cache.move_to_end(start)
            return cached
        activities = self._background.hour(start) + self._injected.get(start, [])
        served = sorted(
            (Served(a.time, a.time + self.latency.delay(a.id), a) for a in activities),
            key=lambda s: (s.time, s.id),
        )
        self._cache[start] = served
        while len(self._cache) > self._cache_hours:
            self._cache.popitem(last=False)
        return served

    def signins(self, start: datetime, end: datetime) -> list[Served]:
        """Sign-ins with event time in ``[start, end)``, oldest first, available or not."""
        start = max(start, self.history_start)
        if end <= start:
            return []
        out: list[Served] = []
        slot = start.replace(minute=0, second=0, microsecond=0)
        while slot < end:
            served = self._slot(slot)
            times = [s.time for s in served]
            lo = bisect.bisect_left(times, start)
            hi = bisect.bisect_left(times, end)
            out.extend(served[lo:hi])
            slot += HOUR
        return out
