"""The two data types that travel between stages: :class:`RawBatch` and :class:`EventBatch`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from tenantwatch.errors import Gap

__all__ = ["Checkpoint", "EventBatch", "QuarantinedRecord", "RawBatch", "RecordShape"]


class RecordShape:
    """The upstream shapes tenantwatch normalizes (DESIGN decision 3)."""

    GRAPH_SIGNIN = "graph.signIn"
    GRAPH_DIRECTORY_AUDIT = "graph.directoryAudit"
    O365_MANAGEMENT = "o365.management"
    AZURE_MONITOR = "azure.monitor"


@dataclass(frozen=True)
class Checkpoint:
    """Where a (tenant, source, stream) has collected up to, committed with the events it covers.

    ``watermark`` is the availability time below which everything has been fetched; ``state``
    holds source-specific extras (JSON-serializable).
    """

    tenant: str
    source: str
    stream: str
    watermark: datetime
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.tenant, self.source, self.stream)


@dataclass(frozen=True)
class RawBatch:
    """Records as the upstream API delivered them, plus where and when they came from.

    ``records`` holds each record's original JSON text, so the normalizer parses straight into
    Arrow and the event keeps the exact bytes as ``raw_data``. A batch with a ``checkpoint``
    advances that stream once its events are committed; a batch may carry no records and only a
    checkpoint (an empty polling window still moves the watermark). ``content_id`` names the
    Activity API blob the records came from (remembered so it is not fetched again), ``gaps``
    are stretches of data found lost upstream, ``rejected`` are (bytes, reason) of records the
    source could not even read (they go to quarantine).
    """

    tenant: str
    source: str
    stream: str
    shape: str
    records: list[bytes]
    fetched_time: datetime
    available_time: datetime | None = None
    checkpoint: Checkpoint | None = None
    content_id: str | None = None
    gaps: tuple[Gap, ...] = ()
    rejected: tuple[tuple[bytes, str], ...] = ()


@dataclass(frozen=True)
class QuarantinedRecord:
    """A record that could not be normalized, kept with its reason and origin."""

    tenant: str
    source: str
    stream: str
    shape: str
    reason: str
    raw: bytes
    record_id: str | None = None


@dataclass
class EventBatch:
    """Normalized events (rows of ``EVENT_SCHEMA``) plus what could not be normalized."""

    events: pl.DataFrame
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    source_records: int = 0

    def __len__(self) -> int:
        return self.events.height
