"""The whole flow in one place: sources → normalize → store + detect → sinks.

::

    1. collect    each source polls its API in a thread and queues RawBatches
    2. normalize  RawBatch → OCSF events (odd records → quarantine)
    3. store      insert the events not stored yet, in one transaction with …
    4. detect     … the findings those new events raise, and the sources' checkpoints
    5. deliver    new findings go to every sink; the store remembers they went

A crash at any point loses nothing: the transaction holds a batch's events, findings and
checkpoints together, and undelivered findings are delivered on the next start.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tenantwatch.detect.engine import DetectionEngine, FindingChange
from tenantwatch.errors import SinkError
from tenantwatch.model.batch import RawBatch
from tenantwatch.model.clock import Clock
from tenantwatch.model.finding import Finding
from tenantwatch.normalize import normalize
from tenantwatch.sinks.base import Sink
from tenantwatch.sources.base import Source
from tenantwatch.sources.collector import Collector
from tenantwatch.store.duckdb_store import DuckDBStore

__all__ = ["BatchResult", "Pipeline", "PipelineStats"]

log = logging.getLogger("tenantwatch.pipeline")


@dataclass
class BatchResult:
    received: int
    stored: int
    duplicates: int
    quarantined: int
    new_findings: list[Finding]
    updated_findings: list[Finding]


@dataclass
class PipelineStats:
    """Running totals for status views."""

    batches: int = 0
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    findings: int = 0
    findings_updated: int = 0
    sink_errors: int = 0
    last_latency_secs: float = 0.0
    newest_event: datetime | None = None
    recent_findings: list[Finding] = field(default_factory=list)


class Pipeline:
    """Wires sources, normalization, the store, detection and sinks."""

    def __init__(
        self,
        *,
        sources: list[Source],
        store: DuckDBStore,
        engine: DetectionEngine,
        sinks: list[Sink],
        clock: Clock,
        stop: threading.Event | None = None,
        queue_size: int = 32,
    ) -> None:
        self.sources = sources
        self.store = store
        self.engine = engine
        self.sinks = sinks
        self.clock = clock
        self.stats = PipelineStats()
        self.queue: queue.Queue[RawBatch] = queue.Queue(maxsize=queue_size)
        self.stop = stop or threading.Event()
        self._collectors: list[Collector] = []

    def recover(self) -> None:
        """Rebuild detection state from the store and deliver what a crash left undelivered."""
        horizon = self.store.newest_event_time()
        if horizon is not None:
            since = horizon - self.engine.max_timespan - timedelta(hours=2)
            self.engine.seed(self.store.findings(since=since - timedelta(days=1)))
            self.engine.warm(self.store.events_since(since))
        self._deliver(self.store.findings(undelivered=True))

    def process(self, raw: RawBatch) -> BatchResult:
        """Stages 2-5 for one batch."""
        # 2. normalize: raw records → OCSF events; what cannot be normalized is quarantined
        batch = normalize(raw)
        # 3 + 4. store the events not seen before and detect on exactly those, in one transaction
        with self.store.transaction():
            new_events = self.store.insert_events(batch.events)
            changes: list[FindingChange] = self.engine.evaluate(new_events)
            self.store.upsert_findings([c.finding for c in changes])
            self.store.quarantine(batch.quarantined)
            self.store.save_checkpoints(batch.checkpoints)
        # 5. deliver new findings (extended ones update the store only)
        fresh = [c.finding for c in changes if c.is_new]
        self._deliver(fresh)
        result = BatchResult(
            received=len(raw.records),
            stored=new_events.height,
            duplicates=batch.events.height - new_events.height,
            quarantined=len(batch.quarantined),
            new_findings=fresh,
            updated_findings=[c.finding for c in changes if not c.is_new],
        )
        self._account(raw, result, new_events["time"].max() if new_events.height else None)  # type: ignore[arg-type]
        return result

    def _deliver(self, findings: list[Finding]) -> None:
        if not findings:
            return
        delivered = True
        for sink in self.sinks:
            try:
                sink.deliver(findings)
            except SinkError as exc:
                delivered = False
                self.stats.sink_errors += 1
                log.error("%s", exc)
        if delivered:
            self.store.mark_delivered([f.uid for f in findings])

    def _account(self, raw: RawBatch, result: BatchResult, newest: datetime | None) -> None:
        s = self.stats
        s.batches += 1
        s.received += result.received
        s.stored += result.stored
        s.duplicates += result.duplicates
        s.quarantined += result.quarantined
        s.findings += len(result.new_findings)
        s.findings_updated += len(result.updated_findings)
        s.recent_findings = (s.recent_findings + result.new_findings)[-20:]
        if newest is not None and (s.newest_event is None or newest > s.newest_event):
            s.newest_event = newest
        # fetched_time is on the pipeline's clock, which may be simulated and faster than real time
        s.last_latency_secs = (
            self.clock.now() - raw.fetched_time
        ).total_seconds() / self.clock.speed
        for source in self.sources:
            if source.id == raw.source:
                source.metrics.add(duplicates=result.duplicates)

    def start(self) -> None:
        """Stage 1: start one collector thread per source, from the committed checkpoints."""
        committed = self.store.checkpoints()
        for source in self.sources:
            positions = {
                stream: cp
                for (tenant, sid, stream), cp in committed.items()
                if tenant == source.tenant and sid == source.id
            }
            collector = Collector(source, self.queue, self.stop, positions)
            collector.start()
            self._collectors.append(collector)

    def run(self, duration_secs: float | None = None) -> None:
        """Recover, start collecting, and process batches until stopped or ``duration_secs``."""
        self.recover()
        self.start()
        deadline = None if duration_secs is None else time.monotonic() + duration_secs
        try:
            while not self.stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                try:
                    raw = self.queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                self.process(raw)
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        self.stop.set()
        for collector in self._collectors:
            collector.join(timeout=10)
        for sink in self.sinks:
            sink.close()
