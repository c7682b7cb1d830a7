"""Sigma correlations on event time: incremental per-group windows, bounded memory.

Each (tenant, group-by values) keeps the base-rule matches of the last ``timespan`` (plus the
allowed lateness) in event-time order. A match arriving out of order is inserted where it
belongs, and every window of length ``timespan`` that contains it is checked, so the result does
not depend on arrival order. Old matches are evicted as event time advances; the number of
groups is capped (least recently updated first), so memory stays bounded whatever the input.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tenantwatch.detect.rules import CorrelationRule

__all__ = ["CorrelationState", "Hit"]


@dataclass(frozen=True, order=True)
class Hit:
    """One base-rule match: event time, the event's own id, the counted value, which rule
    matched, and the stored row (``uid``). The same event reaching tenantwatch by two feeds
    (a sign-in from Graph and from the Activity API) has one ``key``: it counts once."""

    time: datetime
    key: str
    value: str | None = None
    rule: str = ""
    uid: str = field(default="", compare=False)
    # a correlation's match used by another correlation: the stored events of its window
    evidence: tuple[str, ...] = field(default=(), compare=False)


GroupKey = tuple[str, tuple[str | None, ...]]


class CorrelationState:
    """Windows of one correlation rule."""

    def __init__(
        self,
        rule: CorrelationRule,
        *,
        lateness: timedelta = timedelta(hours=2),
        max_groups: int = 200_000,
        max_hits_per_group: int = 10_000,
    ) -> None:
        self.rule = rule
        self.lateness = lateness
        self.max_groups = max_groups
        self.max_hits = max_hits_per_group
        self.groups: OrderedDict[GroupKey, list[Hit]] = OrderedDict()
        self.horizon: datetime | None = None
        self._order = [r.name or r.id for r in rule.rules]
        self._adds = 0

    def add(self, key: GroupKey, hit: Hit) -> list[Hit] | None:
        """Record a match; return the hits of a window that now meets the condition."""
        span = self.rule.timespan
        if self.horizon is None or hit.time > self.horizon:
            self.horizon = hit.time
        if hit.time < self.horizon - span - self.lateness:
            return None  # later than the allowed lateness: its windows are closed
        self._adds += 1
        if self._adds % 1000 == 0:
            self.evict_before(self.horizon - span - self.lateness)
        hits = self.groups.get(key)
        if hits is None:
            hits = self.groups[key] = []
            while len(self.groups) > self.max_groups:
                self.groups.popitem(last=False)
        else:
            self.groups.move_to_end(key)
        if hit in hits:
            return None
        bisect.insort(hits, hit)
        cutoff = self.horizon - span - self.lateness
        drop = bisect.bisect_left(hits, Hit(cutoff, ""))
        if drop or len(hits) > self.max_hits:
            del hits[: max(drop, len(hits) - self.max_hits)]
        return self._window_with(hits, hit)

    def _window_with(self, hits: list[Hit], hit: Hit) -> list[Hit] | None:
        span = self.rule.timespan
        times = [h.time for h in hits]
        first = bisect.bisect_left(times, hit.time - span)
        last = bisect.bisect_right(times, hit.time)
        for i in range(first, last):
            j = bisect.bisect_right(times, times[i] + span)
            window = hits[i:j]
            if hit in window and self._satisfied(window):
                return window
        return None

    def _satisfied(self, window: list[Hit]) -> bool:
        kind, rule = self.rule.type, self.rule
        if kind == "event_count":
            return _compare(len(window), rule.op, rule.count)
        if kind == "value_count":
            distinct = {h.value for h in window if h.value is not None}
            return _compare(len(distinct), rule.op, rule.count)
        if kind == "temporal":
            return set(self._order) <= {h.rule for h in window}
        if kind == "temporal_ordered":
            step = 0
            for h in window:
                if step < len(self._order) and h.rule == self._order[step]:
                    step += 1
            return step == len(self._order)
        return False

    def evict_before(self, when: datetime) -> None:
        """Drop matches older than ``when`` and groups left empty."""
        marker = Hit(when, "")
        for key in list(self.groups):
            hits = self.groups[key]
            del hits[: bisect.bisect_left(hits, marker)]
            if not hits:
                del self.groups[key]

    @property
    def size(self) -> int:
        return sum(len(h) for h in self.groups.values())


def _compare(value: float, op: str, threshold: float) -> bool:
    return value >= threshold if op == "gte" else value > threshold
