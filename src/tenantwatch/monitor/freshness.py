"""Watching Microsoft's feed itself: findings when data stops arriving or is lost upstream.

Microsoft's audit feed is late by design (60-90 minutes) and occasionally stalls, drops content
or is switched off. A quiet feed looks exactly like a quiet tenant unless someone measures it, so
the pipeline raises a finding (rule ids ``tw_health_*``, delivered like any other) when:

- ``tw_health_stream_stale``: a stream's newest availability time (``contentCreated`` for the
  Activity API, the fetch that last returned records for Graph) falls more than the source's
  ``freshness_threshold_secs`` behind its watermark: the API keeps answering, with nothing new.
  (Measured against the watermark, not the clock, so a collector catching up on a backlog is
  not mistaken for a stalled feed; a collector that cannot reach the API shows as source errors
  and a growing ``tenantwatch_watermark_lag_seconds``.) One finding per stale spell; new data
  ends the spell.
- ``tw_health_data_lost``: a source reported a gap: content expired before it was fetched
  (``AF20051``), a subscription was found disabled (``AF20022``/``AF20023``), or the watermark
  fell out of the API's 7-day retention.
- ``tw_health_audit_ingestion_off``: the tenant's audit ingestion was turned off
  (``Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $false``); the feed will go silent.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
import polars as pl

from tenantwatch.errors import Gap
from tenantwatch.model.batch import RawBatch
from tenantwatch.model.finding import Finding, finding_uid

__all__ = ["HEALTH_RULES", "FreshnessMonitor", "StreamKey"]

log = logging.getLogger("tenantwatch.monitor")

StreamKey = tuple[str, str, str]  # tenant, source, stream

HEALTH_RULES = {
    "tw_health_stream_stale": ("Audit feed stale: no new records from a stream", "high"),
    "tw_health_data_lost": ("Audit data lost upstream before it was collected", "high"),
    "tw_health_audit_ingestion_off": ("Unified audit log ingestion turned off", "critical"),
}


@dataclass
class _Stream:
    newest_available: datetime | None
    watching_since: datetime
    watermark: datetime | None = None  # collected up to here (availability time)
    stale_episode: str | None = None  # uid of the finding raised for the current stale spell


class FreshnessMonitor:
    """Tracks the newest availability time of every stream and turns trouble into findings.

    ``thresholds`` maps a source id to how old its newest record may grow (absent or zero: not
    watched, e.g. a file source).
    """

    def __init__(self, thresholds: dict[str, timedelta]) -> None:
        self.thresholds = {k: v for k, v in thresholds.items() if v > timedelta(0)}
        self._streams: dict[StreamKey, _Stream] = {}
        self._lock = threading.Lock()

    def watch(
        self,
        key: StreamKey,
        now: datetime,
        newest: datetime | None = None,
        watermark: datetime | None = None,
    ) -> None:
        """Start watching a stream (``newest``, ``watermark``: what the store already holds)."""
        with self._lock:
            current = self._streams.setdefault(key, _Stream(None, now))
            if newest is not None and (
                current.newest_available is None or newest > current.newest_available
            ):
                current.newest_available = newest
            if watermark is not None and (
                current.watermark is None or watermark > current.watermark
            ):
                current.watermark = watermark

    def observe(self, raws: list[RawBatch]) -> None:
        """Batches with records move their stream's newest availability time forward. A stream
        that first shows up here (an event hub's partitions when the hub could not be reached
        at start) is watched from then on, if its source is."""
        with self._lock:
            for raw in raws:
                key = (raw.tenant, raw.source, raw.stream)
                state = self._streams.get(key)
                if state is None and raw.source in self.thresholds:
                    state = self._streams[key] = _Stream(None, raw.fetched_time)
                if state is None:
                    continue
                cp = raw.checkpoint
                if cp is not None and (state.watermark is None or cp.watermark > state.watermark):
                    state.watermark = cp.watermark
                if not raw.records:
                    continue
                when = raw.available_time or raw.fetched_time
                if state.newest_available is None or when > state.newest_available:
                    state.newest_available = when
                    state.stale_episode = None

    def staleness(self, now: datetime) -> dict[StreamKey, float]:
        """Seconds since each watched stream's newest record became available."""
        with self._lock:
            return {
                key: (now - (s.newest_available or s.watching_since)).total_seconds()
                for key, s in self._streams.items()
            }

    def check(self, now: datetime) -> list[Finding]:
        """Findings for streams that went stale since the last check."""
        found = []
        with self._lock:
            for (tenant, source, stream), state in self._streams.items():
                threshold = self.thresholds.get(source)
                if threshold is None or state.stale_episode is not None:
                    continue
                since = state.newest_available or state.watching_since
                if state.watermark is None or state.watermark - since <= threshold:
                    continue
                uid = finding_uid(
                    "tw_health_stream_stale", tenant, source, stream, since.isoformat()
                )
                state.stale_episode = uid
                age = state.watermark - since
                found.append(
                    _finding(
                        "tw_health_stream_stale",
                        uid,
                        tenant,
                        {"source": source, "stream": stream},
                        since,
                        now,
                        f"No record of {stream} (source {source}) has become available since "
                        f"{since:%Y-%m-%d %H:%M} UTC, though the API was read up to "
                        f"{state.watermark:%H:%M} UTC ({_span(age)}; threshold "
                        f"{_span(threshold)}). Microsoft's feed may be stalled, the "
                        "subscription or audit ingestion may be off, or the tenant is quiet. "
                        "Check the Service Health dashboard and `tenantwatch status`.",
                        now,
                    )
                )
        for f in found:
            log.warning("%s: %s", f.rule_title, f.entity_key)
        return found

    @staticmethod
    def from_gaps(
        gaps: list[Gap], sources: dict[tuple[str, str], str], now: datetime
    ) -> list[Finding]:
        """A finding per gap a source reported (``sources``: (tenant, stream) → source id)."""
        found = []
        for gap in gaps:
            source = sources.get((gap.tenant, gap.stream), "")
            uid = finding_uid(
                "tw_health_data_lost", gap.tenant, gap.stream, gap.start.isoformat(), gap.reason
            )
            ids = f" Content ids: {', '.join(gap.content_ids[:10])}." if gap.content_ids else ""
            found.append(
                _finding(
                    "tw_health_data_lost",
                    uid,
                    gap.tenant,
                    {"source": source, "stream": gap.stream},
                    gap.start,
                    gap.end,
                    f"Records of {gap.stream} from {gap.start:%Y-%m-%d %H:%M} to "
                    f"{gap.end:%Y-%m-%d %H:%M} UTC can no longer be collected: {gap.reason}.{ids} "
                    "Search the audit log (Purview) for that span to see what is missing.",
                    now,
                )
            )
        return found

    @staticmethod
    def ingestion_turned_off(events: pl.DataFrame, now: datetime) -> list[Finding]:
        """A finding per event that turned the tenant's audit ingestion off."""
        if events.is_empty():
            return []
        candidates = events.filter(
            pl.col("metadata").struct.field("event_code") == "Set-AdminAuditLogConfig"
        )
        found = []
        for row in candidates.select(
            "tw_tenant",
            "tw_uid",
            "time",
            pl.col("actor").struct.field("user").struct.field("name").alias("who"),
            "raw_data",
        ).iter_rows():
            tenant, uid, when, who, raw = row
            if not _turns_ingestion_off(raw):
                continue
            found.append(
                _finding(
                    "tw_health_audit_ingestion_off",
                    finding_uid("tw_health_audit_ingestion_off", tenant, uid),
                    tenant,
                    {"user": who or "unknown"},
                    when,
                    when,
                    f"{who or 'Someone'} ran Set-AdminAuditLogConfig "
                    "-UnifiedAuditLogIngestionEnabled $false: the unified audit log stops "
                    "recording and every stream of the Activity API will go silent. Turn it "
                    "back on and find out who did this and why.",
                    now,
                    evidence=[uid],
                )
            )
        return found


def _turns_ingestion_off(raw: str | None) -> bool:
    try:
        record = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        return False
    parameters = record.get("Parameters") if isinstance(record, dict) else None
    for p in parameters if isinstance(parameters, list) else []:
        if isinstance(p, dict) and p.get("Name") == "UnifiedAuditLogIngestionEnabled":
            return str(p.get("Value", "")).strip().lower() in ("false", "$false", "0")
    return False


def _finding(
    rule_id: str,
    uid: str,
    tenant: str,
    entity: dict[str, str],
    first: datetime,
    last: datetime,
    description: str,
    now: datetime,
    evidence: list[str] | None = None,
) -> Finding:
    title, severity = HEALTH_RULES[rule_id]
    return Finding(
        uid=uid,
        tenant=tenant,
        rule_id=rule_id,
        rule_title=title,
        severity=severity,
        first_seen=first,
        last_seen=last,
        created_time=now,
        entity=entity,
        description=description,
        techniques=("T1562.008",) if rule_id == "tw_health_audit_ingestion_off" else (),
        evidence_uids=evidence or [],
    )


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
