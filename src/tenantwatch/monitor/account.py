"""Accounting of what a pipeline did: running totals, Prometheus counters and latencies."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from tenantwatch.model.batch import EventBatch, RawBatch
from tenantwatch.model.finding import Finding
from tenantwatch.sinks.dispatch import Delivery

if TYPE_CHECKING:
    from tenantwatch.pipeline import BatchResult, Pipeline

__all__ = ["account_batch", "account_deliveries", "account_tick", "trigger_times"]


def trigger_times(findings: list[Finding], events: pl.DataFrame) -> dict[str, datetime]:
    """For each finding, when the newest of its evidence events in ``events`` became available
    at the API: the record that made it fire. Findings without evidence in the batch (health
    findings, a redelivery) get none and are left out of the latency figures."""
    if not findings or events.is_empty():
        return {}
    wanted = list({u for f in findings for u in f.evidence_uids})
    times: dict[str, datetime] = dict(
        events.filter(pl.col("tw_uid").is_in(wanted))
        .select("tw_uid", "tw_available_time")
        .drop_nulls()
        .iter_rows()
    )
    out = {}
    for f in findings:
        seen = [times[u] for u in f.evidence_uids if u in times]
        if seen:
            out[f.uid] = max(seen)
    return out


def account_batch(
    pipeline: Pipeline,
    raws: list[RawBatch],
    batch: EventBatch,
    result: BatchResult,
    new: pl.DataFrame,
) -> None:
    """Totals for ``status``, and per-stream counters and per-record latencies for Prometheus."""
    s = pipeline.stats
    s.batches += 1
    s.received += result.received
    s.stored += result.stored
    s.duplicates += result.duplicates
    s.quarantined += result.quarantined
    s.findings += len(result.new_findings)
    s.findings_updated += len(result.updated_findings)
    s.recent_findings = (s.recent_findings + result.new_findings)[-20:]
    newest = new["time"].max() if new.height else None
    if isinstance(newest, datetime) and (s.newest_event is None or newest > s.newest_event):
        s.newest_event = newest
    speed = pipeline.clock.speed
    # fetched_time is on the pipeline's clock, which may be simulated and faster than real time
    oldest = min(r.fetched_time for r in raws)
    s.last_latency_secs = (pipeline.clock.now() - oldest).total_seconds() / speed

    m = pipeline.metrics
    received: Counter[tuple[str, str]] = Counter()
    for raw in raws:
        received[(raw.source, raw.stream)] += len(raw.records) + len(raw.rejected)
    stored: dict[tuple[str, str], int] = {}
    if new.height:
        for source_id, stream, n in new.group_by("tw_source", "tw_stream").len().iter_rows():
            stored[(source_id or "", stream or "")] = n
    quarantined = Counter((q.source, q.stream) for q in batch.quarantined)
    for key, n in received.items():
        kept = stored.get(key, 0)
        bad = quarantined.get(key, 0)
        m.records.labels(*key, "received").inc(n)
        m.records.labels(*key, "stored").inc(kept)
        m.records.labels(*key, "quarantined").inc(bad)
        m.records.labels(*key, "duplicate").inc(max(0, n - kept - bad))
        if bad:
            m.errors.labels("processing", key[0], "quarantined").inc(bad)
    for finding in result.new_findings:
        m.findings.labels(finding.rule_id, finding.severity).inc()
    m.observe_events(new, speed)
    # duplicates dropped, per source (for status)
    by_source: Counter[str] = Counter()
    for (source_id, _), n in stored.items():
        by_source[source_id] += n
    sent: Counter[str] = Counter()
    for raw in raws:
        sent[raw.source] += len(raw.records)
    for source in pipeline.sources:
        if source.id in sent:
            source.metrics.add(duplicates=max(0, sent[source.id] - by_source.get(source.id, 0)))


def account_deliveries(pipeline: Pipeline, deliveries: list[Delivery]) -> None:
    """What the sinks did: counters, dead letters as sending errors, and alert latencies."""
    m = pipeline.metrics
    speed = pipeline.clock.speed
    for d in deliveries:
        m.deliveries.labels(d.sink, d.outcome).inc(len(d.uids))
        if d.outcome == "dead_letter":
            pipeline.stats.sink_errors += 1
            m.errors.labels("sending", d.sink, d.error_code or "error").inc()
            continue
        deliver: list[float] = []
        end_to_end: list[float] = []
        for uid in d.uids:
            timing = pipeline._timing.get(uid)
            if timing is None:
                continue
            available, detected = timing
            deliver.append((d.time - detected).total_seconds() / speed)
            if available is not None:
                end_to_end.append((d.time - available).total_seconds() / speed)
        m.alert_latency.observe_many(("deliver", d.sink), deliver)
        m.alert_latency.observe_many(("end_to_end", d.sink), end_to_end)


def account_tick(pipeline: Pipeline) -> None:
    """Gauges read every few seconds: stream staleness, watermark lag, queues; source errors."""
    m = pipeline.metrics
    now = pipeline.clock.now()  # data time: a simulated clock's seconds are not divided
    for key, age in pipeline.freshness.staleness(now).items():
        m.stream_staleness.labels(*key).set(age)
    for key, cp in pipeline.store.checkpoints().items():
        m.watermark_lag.labels(*key).set((now - cp.watermark).total_seconds())
    m.queue_depth.set(pipeline.queue.qsize())
    for sink, waiting in pipeline.dispatcher.backlog().items():
        m.sink_backlog.labels(sink).set(waiting)
    for source in pipeline.sources:
        for code, n in source.metrics.take_error_codes().items():
            m.errors.labels("receiving", source.id, code).inc(n)
