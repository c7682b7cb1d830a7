"""Clocks: wall time for real tenants, scaled simulated time for the emulator.

The pipeline and the emulator both ask a :class:`Clock` for "now". Against Microsoft that is
the wall clock; in a demo or a replay the emulator's tenant lives on a simulated clock that runs
``speed`` times faster than wall time, and the pipeline must read the same one, or its polling
windows would end in the simulated past.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "ScaledClock", "SystemClock", "utcnow"]


def utcnow() -> datetime:
    """The current UTC wall time, timezone-aware."""
    return datetime.now(UTC)


@runtime_checkable
class Clock(Protocol):
    """Tells the time; ``sleep`` waits a span of this clock's time."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...

    @property
    def speed(self) -> float: ...


class SystemClock:
    """Wall-clock time (UTC)."""

    speed = 1.0

    def now(self) -> datetime:
        return utcnow()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


@dataclass
class ScaledClock:
    """Simulated time: starts at ``sim_start`` and runs ``speed`` times faster than wall time.

    Two processes that share (``sim_start``, ``real_start``, ``speed``) agree on the time, so the
    emulator can print these three values for a pipeline started separately.

    >>> c = ScaledClock(datetime(2026, 1, 12, 9, tzinfo=UTC), speed=60.0)
    >>> c.now() >= datetime(2026, 1, 12, 9, tzinfo=UTC)
    True
    """

    sim_start: datetime
    speed: float = 1.0
    real_start: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        if self.sim_start.tzinfo is None:
            self.sim_start = self.sim_start.replace(tzinfo=UTC)

    def now(self) -> datetime:
        return self.sim_start + timedelta(seconds=(time.time() - self.real_start) * self.speed)

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        time.sleep(max(0.0, seconds) / self.speed)

    def to_dict(self) -> dict[str, str | float]:
        return {
            "sim_start": self.sim_start.isoformat(),
            "real_start": self.real_start,
            "speed": self.speed,
        }


class ManualClock:
    """A clock that moves only when told to (tests, deterministic replays).

    ``sleep`` advances the clock instead of waiting.
    """

    speed = 1.0

    def __init__(self, start: datetime) -> None:
        self._now = start if start.tzinfo else start.replace(tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=max(0.0, seconds)))

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when
