"""The simulated tenant over time: background activity plus scenarios, and when each API serves
each record.

Microsoft does not serve a record the moment it happens. Entra sign-ins and audits reach Graph
minutes later (some much later); the Management Activity API aggregates records into content
blobs 60-90 minutes later, out of order, with duplicates across blobs. Every record here gets an
availability time from a per-stream :class:`Latency` (deterministic per record id); Activity API
records are grouped into blobs per content type and ``blob_minutes`` slot of availability time.

Activity is generated one hour at a time and cached (bounded), so a tenant of any size serves
any window of its history without holding it all in memory.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tenantwatch.emulator.activities import Activity, DirectoryAudit
from tenantwatch.emulator.background import BackgroundActivity
from tenantwatch.emulator.directory import Directory
from tenantwatch.emulator.render.ual import CONTENT_TYPES
from tenantwatch.emulator.scenarios import GroundTruth
from tenantwatch.emulator.streams import served_as

__all__ = ["DEFAULT_LATENCY", "Blob", "Latency", "Served", "Timeline"]

HOUR = timedelta(hours=1)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Latency:
    """Delay from event to availability: a log-normal body plus a late tail."""

    median_secs: float = 75.0
    sigma: float = 0.5
    late_fraction: float = 0.02
    late_max_secs: float = 1200.0

    def delay(self, record_id: str) -> timedelta:
        rng = random.Random(f"latency:{record_id}")
        secs = self.median_secs * math.exp(rng.gauss(0.0, self.sigma))
        if rng.random() < self.late_fraction:
            secs += rng.uniform(self.late_max_secs / 4, self.late_max_secs)
        return timedelta(seconds=secs)

    @property
    def max_delay(self) -> timedelta:
        """A bound no record's delay exceeds (four sigmas plus the whole late tail)."""
        return timedelta(seconds=self.median_secs * math.exp(4 * self.sigma) + self.late_max_secs)

    def scaled(self, factor: float) -> Latency:
        return Latency(
            self.median_secs * factor, self.sigma, self.late_fraction, self.late_max_secs * factor
        )


DEFAULT_LATENCY: dict[str, Latency] = {
    # Entra ID via Graph: typically a minute or two, a few percent up to ~20 minutes late
    "graph/signIns": Latency(75.0, 0.5, 0.02, 1200.0),
    "graph/directoryAudits": Latency(60.0, 0.5, 0.02, 1200.0),
    # Management Activity API: 60-90 minutes for core workloads, a late tail of hours
    "o365/Audit.AzureActiveDirectory": Latency(45 * 60.0, 0.3, 0.01, 6 * 3600.0),
    "o365/Audit.Exchange": Latency(75 * 60.0, 0.25, 0.01, 6 * 3600.0),
    "o365/Audit.SharePoint": Latency(70 * 60.0, 0.25, 0.01, 6 * 3600.0),
    "o365/Audit.General": Latency(80 * 60.0, 0.3, 0.01, 6 * 3600.0),
    "o365/DLP.All": Latency(60 * 60.0, 0.3, 0.01, 6 * 3600.0),
}


def latency_key(stream: str) -> str:
    return "graph/signIns" if stream.startswith("graph/signIns") else stream


@dataclass(frozen=True, slots=True)
class Served:
    """A record as a Graph stream holds it: event time, availability time, activity."""

    time: datetime
    available: datetime
    activity: Activity

    @property
    def id(self) -> str:
        a = self.activity
        return a.graph_id if isinstance(a, DirectoryAudit) else a.id


@dataclass(frozen=True)
class Blob:
    """A Management Activity API content blob."""

    content_type: str
    slot: int
    part: int
    created: datetime

    @property
    def content_id(self) -> str:
        stamp = self.created.strftime("%Y%m%d%H%M")
        code = CONTENT_TYPES.index(self.content_type)
        digest = hashlib.sha1(f"{self.content_type}{self.slot}".encode()).hexdigest()[:32]  # noqa: S324
        return f"{self.slot:012d}${self.slot:012d}${code}{stamp}${digest}${self.part:02d}"

    @property
    def expiration(self) -> datetime:
        return self.created + timedelta(days=7)

    @staticmethod
    def parse(content_id: str) -> tuple[int, int, int] | None:
        """(content type index, slot, part) of a content id this emulator issued, else None."""
        parts = content_id.split("$")
        if len(parts) != 5 or not (
            parts[0].isdigit() and parts[4].isdigit() and parts[2][:1].isdigit()
        ):
            return None
        code = int(parts[2][0])
        if code >= len(CONTENT_TYPES):
            return None
        return code, int(parts[0]), int(parts[4])


@dataclass
class _Hour:
    graph: dict[str, list[Served]] = field(default_factory=dict)
    ual: dict[tuple[str, int], list[Activity]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0


class Timeline:
    """All activity of one tenant from ``history_start`` on, generated per hour on demand."""

    def __init__(
        self,
        directory: Directory,
        seed: int,
        *,
        history_start: datetime,
        ground_truth: GroundTruth | None = None,
        latency: dict[str, Latency] | None = None,
        background_scale: float = 1.0,
        blob_minutes: int = 5,
        blob_max_records: int = 500,
        duplicate_rate: float = 0.005,
        cache_hours: int = 36,
    ) -> None:
        self.directory = directory
        self.seed = seed
        self.history_start = history_start.replace(minute=0, second=0, microsecond=0)
        self.latency = {**DEFAULT_LATENCY, **(latency or {})}
        self.ground_truth = ground_truth or GroundTruth()
        self.blob_secs = blob_minutes * 60
        self.blob_max_records = blob_max_records
        self.duplicate_rate = duplicate_rate
        self._background = BackgroundActivity(directory, seed, scale=background_scale)
        self._cache: OrderedDict[datetime, _Hour] = OrderedDict()
        self._cache_hours = cache_hours
        self._injected: dict[datetime, list[Activity]] = defaultdict(list)
        for activity in self.ground_truth.activities():
            self._injected[_floor_hour(activity.time)].append(activity)
        self.blackouts = list(self.ground_truth.ual_blackouts)
        self.generated = 0
        self._lock = threading.RLock()  # HTTP handlers run in a thread pool

    # -- generation -------------------------------------------------------------------------

    def activities(self, hour: datetime) -> list[Activity]:
        """Every activity of the hour starting at ``hour`` (background and injected)."""
        if hour < self.history_start:
            return []
        activities = self._background.hour(hour) + self._injected.get(hour, [])
        activities.sort(key=lambda a: a.time)
        return activities

    def _hour(self, hour: datetime) -> _Hour:
        with self._lock:
            return self._hour_locked(hour)

    def _hour_locked(self, hour: datetime) -> _Hour:
        cached = self._cache.get(hour)
        if cached is not None:
            self._cache.move_to_end(hour)
            return cached
        data = _Hour()
        graph: dict[str, list[Served]] = defaultdict(list)
        for activity in self.activities(hour):
            data.count += 1
            for stream, record_id in served_as(activity):
                delay = self.latency[latency_key(stream)].delay(record_id)
                if stream.startswith("graph/"):
                    graph[stream].append(Served(activity.time, activity.time + delay, activity))
                elif not self._blacked_out(activity.time):
                    slot = int((activity.time + delay - EPOCH).total_seconds() // self.blob_secs)
                    content_type = stream.removeprefix("o365/")
                    data.ual[(content_type, slot)].append(activity)
                    dup = random.Random(f"dup:{record_id}")
                    if dup.random() < self.duplicate_rate:
                        data.ual[(content_type, slot + dup.randint(1, 6))].append(activity)
        data.graph = {k: sorted(v, key=lambda s: (s.time, s.id)) for k, v in graph.items()}
        self.generated += data.count
        self._cache[hour] = data
        while len(self._cache) > self._cache_hours:
            self._cache.popitem(last=False)
        return data

    def _blacked_out(self, when: datetime) -> bool:
        return any(a <= when < b for a, b in self.blackouts)

    # -- Graph -------------------------------------------------------------------------------

    def graph_records(self, stream: str, start: datetime, end: datetime) -> list[Served]:
        """Records of a Graph stream with event time in ``[start, end)``, oldest first."""
        start = max(start, self.history_start)
        out: list[Served] = []
        hour = _floor_hour(start)
        while hour < end:
            served = self._hour(hour).graph.get(stream, [])
            times = [s.time for s in served]
            out.extend(served[bisect.bisect_left(times, start) : bisect.bisect_left(times, end)])
            hour += HOUR
        return out

    # -- Management Activity API --------------------------------------------------------------

    def slot_start(self, slot: int) -> datetime:
        return EPOCH + timedelta(seconds=slot * self.blob_secs)

    def slot_of(self, when: datetime) -> int:
        return int((when - EPOCH).total_seconds() // self.blob_secs)

    def _slot_activities(self, content_type: str, slot: int) -> list[Activity]:
        begin = self.slot_start(slot)
        max_delay = self.latency[f"o365/{content_type}"].max_delay
        hour = max(_floor_hour(begin - max_delay), self.history_start)
        records: list[Activity] = []
        end = begin + timedelta(seconds=self.blob_secs)
        while hour < end:
            records.extend(self._hour(hour).ual.get((content_type, slot), []))
            hour += HOUR
        rng = random.Random(f"blob-order:{content_type}:{slot}")
        rng.shuffle(records)  # a blob is not in event-time order
        return records

    def blobs(self, content_type: str, slot: int) -> list[tuple[Blob, list[Activity]]]:
        """The content blobs of one slot (none if nothing became available in it)."""
        records = self._slot_activities(content_type, slot)
        if not records:
            return []
        created = self.slot_start(slot + 1) + timedelta(
            seconds=random.Random(f"created:{content_type}:{slot}").uniform(0, 20)
        )
        size = self.blob_max_records
        return [
            (Blob(content_type, slot, i, created), records[i * size : (i + 1) * size])
            for i in range(math.ceil(len(records) / size))
        ]

    def blob(self, content_type: str, slot: int, part: int) -> tuple[Blob, list[Activity]] | None:
        for blob, records in self.blobs(content_type, slot):
            if blob.part == part:
                return blob, records
        return None


def _floor_hour(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)
