"""The whole flow in one place: sources → normalize → store + detect → sinks.

::

    1. collect    each source polls its API in a thread and queues RawBatches
    2. normalize  RawBatch → OCSF events (odd records → quarantine)
    3. store      insert the events not stored yet, in one transaction with …
    4. detect     … the findings those new events raise, the access policy's verdict on every
                  sign-in, and the sources' checkpoints
    5. deliver    new findings go to every sink's own thread; the store remembers they went
    6. watch      a stream gone quiet, data lost upstream, audit ingestion turned off → findings

A crash at any point loses nothing: the transaction holds a batch's events, findings and
checkpoints together, and undelivered findings are delivered on the next start. A slow or dead
sink never holds up stages 1-4 (see :mod:`tenantwatch.sinks.dispatch`). Every record's times
(available, fetched, stored) and every finding's (detected, delivered) are kept and exported as
Prometheus latency histograms (:mod:`tenantwatch.monitor.metrics`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from tenantwatch.access.engine import AccessEngine
from tenantwatch.access.policy import AccessPolicy, default_policy
from tenantwatch.detect.engine import DetectionEngine, FindingChange
from tenantwatch.model.batch import Checkpoint, RawBatch
from tenantwatch.model.clock import Clock
from tenantwatch.model.finding import Finding
from tenantwatch.monitor.account import (
    account_batch,
    account_deliveries,
    account_tick,
    trigger_times,
)
from tenantwatch.monitor.freshness import FreshnessMonitor
from tenantwatch.monitor.metrics import PipelineMetrics
from tenantwatch.normalize import enrich, normalize_many
from tenantwatch.sinks.base import Sink
from tenantwatch.sinks.dispatch import Dispatcher, RetrySchedule
from tenantwatch.sources.base import Source
from tenantwatch.sources.collector import Collector
from tenantwatch.store.duckdb_store import DuckDBStore

__all__ = ["BatchResult", "Pipeline", "PipelineStats"]

log = logging.getLogger("tenantwatch.pipeline")

MAX_BATCHES = 64  # queued batches processed together
MAX_RECORDS = 20_000


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
        status_path: Path | None = None,
        freshness: dict[str, timedelta] | None = None,
        dead_letter_dir: Path | None = None,
        retry: RetrySchedule | dict[str, RetrySchedule] | None = None,
        metrics: PipelineMetrics | None = None,
        access: AccessPolicy | None = None,
    ) -> None:
        self.sources = sources
        self.store = store
        self.engine = engine
        self.sinks = sinks
        self.clock = clock
        self.stats = PipelineStats()
        self.metrics = metrics or PipelineMetrics()
        self.freshness = FreshnessMonitor(freshness or {})
        self.access = AccessEngine(access or default_policy())
        self.dispatcher = Dispatcher(
            sinks, now=self._now, dead_letter_dir=dead_letter_dir, schedule=retry
        )
        self.queue: queue.Queue[RawBatch] = queue.Queue(maxsize=queue_size)
        self.stop = stop or threading.Event()
        self.status_path = status_path
        self._collectors: list[Collector] = []
        self._status_written = 0.0
        self._timing: dict[str, tuple[datetime | None, datetime]] = {}  # until delivered
        self._closed = False

    def _now(self) -> datetime:
        return self.clock.now()  # looked up each time: a test may swap the clock

    def recover(self) -> None:
        """Rebuild detection state and source ledgers from the store, and deliver what a crash
        left undelivered."""
        for source in self.sources:
            restore = getattr(source, "restore", None)
            if restore is not None:
                since = self.clock.now() - timedelta(days=7)
                restore(self.store.fetched_content(source.tenant, source.id, since))
        self.access.seed(
            self.store.events_of_class(3005),
            self.store.findings(since=self.clock.now() - timedelta(days=90)),
        )
        horizon = self.store.newest_event_time()
        if horizon is not None:
            since = horizon - self.engine.max_timespan - timedelta(hours=2)
            self.engine.seed(self.store.findings(since=since - timedelta(days=1)))
            self.engine.warm(self.store.events_since(since))
        self._deliver(self.store.findings(undelivered=True), {}, self.clock.now())

    def process(self, raws: RawBatch | list[RawBatch]) -> BatchResult:
        """Stages 2-5 for what the collectors queued (one batch, or several together)."""
        raws = [raws] if isinstance(raws, RawBatch) else raws
        # 2. normalize: raw records → OCSF events; what cannot be normalized is quarantined
        batch = normalize_many(raws)
        self.freshness.observe(raws)
        # 3 + 4. store the events not seen before and detect on exactly those, in one transaction
        with self.store.transaction():
            stored = self.clock.now()
            new_events = self.store.insert_events(batch.events, stored_time=stored)
            changes: list[FindingChange] = self.engine.evaluate(new_events)
            detected = self.clock.now()
            # 4b. every sign-in judged against the access policy, the verdict stored with it
            access = self.access.evaluate(new_events, detected)
            self.store.insert_verdicts(access.verdicts)
            health = FreshnessMonitor.from_gaps(
                batch.gaps, self._stream_sources(), detected
            ) + FreshnessMonitor.ingestion_turned_off(new_events, detected)
            fresh = [c.finding for c in changes if c.is_new] + access.new + health
            available = trigger_times(fresh, new_events)
            self.store.upsert_findings(
                [c.finding for c in changes] + access.new + access.updated + health,
                available=available,
                detected_time=detected,
            )
            self.store.quarantine(batch.quarantined)
            self.store.record_gaps(batch.gaps)
            self.store.record_content(
                [
                    (raw.tenant, raw.source, raw.stream, raw.content_id, raw.available_time)
                    for raw in raws
                    if raw.content_id is not None
                ]
            )
            self.store.save_checkpoints(batch.checkpoints)
        for gap in batch.gaps:
            log.warning("gap in %s/%s: %s", gap.tenant, gap.stream, gap.reason)
        # 5. deliver new findings (extended ones update the store only)
        self._deliver(fresh, available, detected)
        if fresh:
            detect_secs = (detected - stored).total_seconds() / self.clock.speed
            self.metrics.alert_latency.observe_many(("detect", ""), [detect_secs] * len(fresh))
        result = BatchResult(
            received=batch.source_records,
            stored=new_events.height,
            duplicates=batch.events.height - new_events.height,
            quarantined=len(batch.quarantined),
            new_findings=fresh,
            updated_findings=[c.finding for c in changes if not c.is_new] + access.updated,
        )
        account_batch(self, raws, batch, result, new_events)
        return result

    def _stream_sources(self) -> dict[tuple[str, str], str]:
        return {(s.tenant, stream): s.id for s in self.sources for stream in s.streams}

    def _deliver(
        self, findings: list[Finding], available: dict[str, datetime], detected: datetime
    ) -> None:
        """Hand findings to the sinks' threads (never waits for them)."""
        for f in findings:
            self._timing[f.uid] = (available.get(f.uid), detected)
        self.dispatcher.submit(findings)

    def settle(self) -> None:
        """Record what the sinks delivered: metrics, and the findings every sink is done with
        marked delivered in the store."""
        deliveries, settled = self.dispatcher.settled()
        account_deliveries(self, deliveries)
        by_time: dict[datetime, list[str]] = {}
        for uid, when in settled:
            by_time.setdefault(when, []).append(uid)
            self._timing.pop(uid, None)
        for when, uids in by_time.items():
            self.store.mark_delivered(uids, when)

    def watch(self) -> None:
        """6. Streams that went quiet for longer than their threshold become findings."""
        stale = self.freshness.check(self.clock.now())
        if stale:
            with self.store.transaction():
                self.store.upsert_findings(stale, detected_time=self.clock.now())
            self.stats.findings += len(stale)
            self.stats.recent_findings = (self.stats.recent_findings + stale)[-20:]
            self._deliver(stale, {}, self.clock.now())

    def start(self, *, once: bool = False) -> None:
        """Stage 1: start one collector thread per source, from the committed checkpoints."""
        enrich.load_in_background()  # while the sources connect
        committed = self.store.checkpoints()
        self._pin_first_watermarks(committed)
        newest = {(t, src, st): when for t, src, st, when in self.store.newest_available()}
        now = self.clock.now()
        for source in self.sources:
            for stream in source.streams:
                key = (source.tenant, source.id, stream)
                cp = committed.get(key)
                self.freshness.watch(key, now, newest.get(key), cp.watermark if cp else None)
        for source in self.sources:
            positions = {
                stream: cp
                for (tenant, sid, stream), cp in committed.items()
                if tenant == source.tenant and sid == source.id
            }
            collector = Collector(source, self.queue, self.stop, positions, once=once)
            collector.start()
            self._collectors.append(collector)

    def _pin_first_watermarks(self, committed: dict[tuple[str, str, str], Checkpoint]) -> None:
        """A stream collected for the first time starts ``initial_lookback`` before now. Commit
        that start before fetching anything: a first run that is interrupted then resumes from
        it, rather than from a later "now - lookback" that would skip what lay in between."""
        now = self.clock.now()
        pinned = [
            Checkpoint(source.tenant, source.id, stream, now - lookback)
            for source in self.sources
            if isinstance(lookback := getattr(source, "initial_lookback", None), timedelta)
            for stream in source.streams
            if (source.tenant, source.id, stream) not in committed
        ]
        if pinned:
            with self.store.transaction():
                self.store.save_checkpoints(pinned)
            committed.update({(c.tenant, c.source, c.stream): c for c in pinned})

    def run(self, duration_secs: float | None = None, *, once: bool = False) -> None:
        """Recover, start collecting, and process batches until stopped, ``duration_secs``
        passed, or (``once``) every source completed one poll and everything was processed."""
        self.recover()
        self.start(once=once)
        deadline = None if duration_secs is None else time.monotonic() + duration_secs
        try:
            while not self.stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                try:
                    raws = [self.queue.get(timeout=0.2)]
                except queue.Empty:
                    if once and not any(c.is_alive() for c in self._collectors):
                        break
                    self.settle()
                    self.watch()
                    self.write_status()
                    continue
                # micro-batch: take what else is already queued, up to a bound
                records = len(raws[0].records)
                while len(raws) < MAX_BATCHES and records < MAX_RECORDS:
                    try:
                        raws.append(self.queue.get_nowait())
                    except queue.Empty:
                        break
                    records += len(raws[-1].records)
                self.process(raws)
                self.settle()
                self.watch()
                self.write_status()
        finally:
            self.shutdown()
            self.write_status(force=True)

    @property
    def failed_sources(self) -> dict[str, str]:
        """Sources whose collector gave up without completing a poll (``once`` mode): id →
        last error."""
        return {
            c.source.id: c.source.metrics.last_error
            for c in self._collectors
            if c.once and not c.completed and not c.is_alive()
        }

    def write_status(self, *, force: bool = False) -> None:
        """Every few seconds, the sources' and pipeline's figures to ``status.json`` (read by
        ``tenantwatch status`` while the store is busy)."""
        if not force and time.monotonic() - self._status_written < 2:
            return
        self._status_written = time.monotonic()
        account_tick(self)
        if self.status_path is None:
            return
        s = self.stats
        status = {
            "time": self.clock.now().isoformat(),
            "pipeline": {
                "batches": s.batches,
                "received": s.received,
                "stored": s.stored,
                "duplicates": s.duplicates,
                "quarantined": s.quarantined,
                "findings": s.findings,
                "findings_updated": s.findings_updated,
                "sink_errors": s.sink_errors,
                "last_latency_secs": s.last_latency_secs,
                "alert_latency_p50_secs": self.metrics.alert_latency.percentile(
                    ("end_to_end", "*"), 0.5
                ),
                "alert_latency_p99_secs": self.metrics.alert_latency.percentile(
                    ("end_to_end", "*"), 0.99
                ),
                "sink_backlog": self.dispatcher.backlog(),
                "stream_staleness_secs": {
                    "/".join(key[1:]): round(age, 1)
                    for key, age in self.freshness.staleness(self.clock.now()).items()
                },
                "newest_event": s.newest_event.isoformat() if s.newest_event else None,
            },
            "sources": {
                source.id: {
                    "kind": getattr(source, "kind", ""),
                    "tenant": source.tenant,
                    **{
                        k: (v.isoformat() if isinstance(v, datetime) else v)
                        for k, v in source.metrics.as_dict().items()
                    },
                }
                for source in self.sources
            },
        }
        tmp = self.status_path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(status, option=orjson.OPT_INDENT_2))
        tmp.replace(self.status_path)

    def shutdown(self, sink_timeout_secs: float = 10.0) -> None:
        """Stop collecting, give the sinks ``sink_timeout_secs`` to deliver what is queued,
        and record what they did (what did not go is delivered on the next start)."""
        self.stop.set()
        for collector in self._collectors:
            collector.join(timeout=10)
        if self._closed:
            return
        self._closed = True
        self.dispatcher.close(sink_timeout_secs)
        self.settle()
