"""Prometheus metrics of a pipeline: records, findings, errors, and latency per stage.

Every stored event carries its times (``time`` → ``tw_available_time`` → ``tw_fetched_time`` →
``tw_stored_time``); findings add when they were detected and delivered. The pipeline feeds those
columns here a whole batch at a time: :class:`ColumnHistogram` bins a column with one Polars call
instead of one ``observe()`` per record, and is exposed as an ordinary Prometheus histogram.

Latency stages (label ``stage`` of ``tenantwatch_stage_latency_seconds``):

=================  ==============================================================
``microsoft``      event time → available at the API (Microsoft's delay, not ours)
``fetch``          available → fetched by the collector (polling interval + API)
``store``          fetched → committed to the store
``detect``         committed → detections evaluated (per finding)
``deliver``        detected → delivered by a sink (label ``sink``)
``end_to_end``     available → delivered by a sink (what tenantwatch adds)
=================  ==============================================================

Runtime errors are counted by ``stage`` (receiving, processing, sending) and a bounded
``code``; retries are not errors.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate

import polars as pl
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["LATENCY_BUCKETS", "ColumnHistogram", "PipelineMetrics"]

# seconds: sub-second pipeline stages up to Microsoft's hours-long delays
LATENCY_BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200,
    86400,
)  # fmt: skip


class ColumnHistogram(Collector):
    """A histogram fed whole columns of observations (seconds) at once."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float] = LATENCY_BUCKETS,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = tuple(float(b) for b in buckets)
        self._bounds = pl.Series("le", self.bounds, dtype=pl.Float64)
        self._series: dict[tuple[str, ...], tuple[list[int], float]] = {}
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def observe_many(self, labels: Sequence[str], values: Iterable[float] | pl.Series) -> None:
        """Add every value (nulls and negatives skipped: a clock step is not a latency)."""
        series = values if isinstance(values, pl.Series) else pl.Series(list(values))
        series = series.cast(pl.Float64).drop_nulls()
        series = series.filter(series.is_finite() & (series >= 0))
        if series.is_empty():
            return
        # bucket index per value (le semantics: value <= bound); the last index is +Inf
        slots = self._bounds.search_sorted(series, side="left").value_counts()
        total = float(series.sum())
        key = tuple(labels)
        with self._lock:
            counts, previous = self._series.get(key, ([0] * (len(self.bounds) + 1), 0.0))
            counts = list(counts)
            for slot, n in slots.iter_rows():
                counts[slot] += n
            self._series[key] = (counts, previous + total)

    def percentile(self, labels: Sequence[str], q: float) -> float | None:
        """The upper bound of the bucket holding the ``q`` quantile (for status views); a
        label given as ``*`` takes every series."""
        merged = [0] * (len(self.bounds) + 1)
        with self._lock:
            for key, (counts, _) in self._series.items():
                if all(want in ("*", have) for want, have in zip(labels, key, strict=True)):
                    merged = [a + b for a, b in zip(merged, counts, strict=True)]
        if not any(merged):
            return None
        cumulative = list(accumulate(merged))
        index = bisect_left(cumulative, q * cumulative[-1])
        return self.bounds[index] if index < len(self.bounds) else float("inf")

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            series = dict(self._series)
        for labels, (counts, total) in sorted(series.items()):
            cumulative = list(accumulate(counts))
            buckets = [(_le(b), float(c)) for b, c in zip(self.bounds, cumulative, strict=False)]
            buckets.append(("+Inf", float(cumulative[-1])))
            family.add_metric(list(labels), buckets, total)
        yield family

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)


def _le(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) else f"{int(bound)}.0"


class PipelineMetrics:
    """The metrics one pipeline exports, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records = Counter(
            "tenantwatch_records",
            "Records by outcome: received from the API, stored, duplicate (already stored), "
            "quarantined (could not be normalized).",
            ["source", "stream", "outcome"],
            registry=r,
        )
        self.findings = Counter(
            "tenantwatch_findings",
            "New findings raised.",
            ["rule", "severity"],
            registry=r,
        )
        self.errors = Counter(
            "tenantwatch_errors",
            "Runtime errors by stage (receiving, processing, sending), component and code.",
            ["stage", "component", "code"],
            registry=r,
        )
        self.deliveries = Counter(
            "tenantwatch_sink_deliveries",
            "Findings handed over by each sink: delivered, or dead_letter after the last retry.",
            ["sink", "outcome"],
            registry=r,
        )
        self.latency = ColumnHistogram(
            "tenantwatch_stage_latency_seconds",
            "Latency of each record through each stage (see the stage table in the docs).",
            ["stage", "source"],
            registry=r,
        )
        self.alert_latency = ColumnHistogram(
            "tenantwatch_alert_latency_seconds",
            "Latency of findings: detect (committed to detected), deliver (detected to delivered) "
            "and end_to_end (available at the API to delivered), per sink.",
            ["stage", "sink"],
            registry=r,
        )
        self.stream_staleness = Gauge(
            "tenantwatch_stream_staleness_seconds",
            "Seconds since the newest record of each stream became available at the API.",
            ["tenant", "source", "stream"],
            registry=r,
        )
        self.watermark_lag = Gauge(
            "tenantwatch_watermark_lag_seconds",
            "Seconds between now and each stream's committed watermark.",
            ["tenant", "source", "stream"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "tenantwatch_queue_batches",
            "Raw batches collected and waiting to be processed.",
            registry=r,
        )
        self.sink_backlog = Gauge(
            "tenantwatch_sink_backlog_findings",
            "Findings waiting for each sink.",
            ["sink"],
            registry=r,
        )

    def observe_events(self, events: pl.DataFrame, speed: float) -> None:
        """Per-record stage latencies of newly stored events (``speed``: the clock's rate, so
        a simulated clock's seconds count as real ones)."""
        if events.is_empty():
            return

        def secs(a: str, b: str) -> pl.Expr:
            return (pl.col(b) - pl.col(a)).dt.total_microseconds() / 1e6

        frame = events.select(
            pl.col("tw_source").fill_null("").alias("source"),
            secs("time", "tw_available_time").alias("microsoft"),
            (secs("tw_available_time", "tw_fetched_time") / speed).alias("fetch"),
            (secs("tw_fetched_time", "tw_stored_time") / speed).alias("store"),
        )
        for (source,), part in frame.group_by(["source"]):
            for stage in ("microsoft", "fetch", "store"):
                self.latency.observe_many((stage, str(source)), part[stage])
