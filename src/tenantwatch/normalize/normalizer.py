"""Stage 2: raw batches to OCSF events, odd records to quarantine.

:func:`normalize` is pure (no I/O, no clock): the same batch always gives the same events.
Every record comes out as exactly one event or one quarantined record with its reason.
"""

from __future__ import annotations

from typing import Protocol

import polars as pl
import pyarrow as pa

from tenantwatch.model.batch import EventBatch, QuarantinedRecord, RawBatch
from tenantwatch.model.schema import ACTIVITY_NAMES, CLASS_NAMES, OCSF_VERSION
from tenantwatch.normalize.azure_monitor import AzureMonitorMapper
from tenantwatch.normalize.classes import restrict_to_class
from tenantwatch.normalize.columns import conform, empty_events
from tenantwatch.normalize.enrich import enrich_endpoints
from tenantwatch.normalize.graph_audit import GraphDirectoryAuditMapper
from tenantwatch.normalize.graph_signin import GraphSignInMapper
from tenantwatch.normalize.jsonread import read_records
from tenantwatch.normalize.management import ManagementActivityMapper

__all__ = ["FEEDS", "MAPPERS", "Mapper", "normalize", "normalize_many"]

# The store keys events on (tenant, tw_uid). One Entra sign-in reaches tenantwatch through Graph,
# the Activity API and Azure Monitor under the same id; each feed's copy is its own record.
FEEDS = {
    "graph.signIn": "graph",
    "graph.directoryAudit": "graph",
    "o365.management": "o365",
    "azure.monitor": "azmon",
}


class Mapper(Protocol):
    """Maps one upstream shape to event columns.

    ``map`` receives the records parsed with ``schema`` plus ``_row`` and ``raw_data`` and must
    return them with the event columns; it may add ``_reason`` to send a row to quarantine.
    """

    shape: str
    schema: pa.Schema
    id_field: str

    def map(self, raw: pl.DataFrame) -> pl.DataFrame: ...


MAPPERS: dict[str, Mapper] = {
    m.shape: m
    for m in (
        GraphSignInMapper(),
        GraphDirectoryAuditMapper(),
        ManagementActivityMapper(),
        AzureMonitorMapper(),
    )
}


def normalize(batch: RawBatch) -> EventBatch:
    """Normalize one batch: every record becomes an event or a quarantined record, never lost."""
    return normalize_many([batch])


def normalize_many(batches: list[RawBatch]) -> EventBatch:
    """Normalize batches together (one pass per shape, not per batch): a poll that yields many
    small batches, one per content blob, costs one normalization. Each event keeps its own
    batch's provenance (tenant, source, stream, fetch and availability times)."""
    quarantined: list[QuarantinedRecord] = []
    frames: list[pl.DataFrame] = []
    for batch in batches:
        quarantined += [_quarantine(batch, raw, reason) for raw, reason in batch.rejected]
    by_shape: dict[str, list[RawBatch]] = {}
    for batch in batches:
        if batch.records:
            by_shape.setdefault(batch.shape, []).append(batch)
    for shape, group in by_shape.items():
        events, problems = _normalize_shape(shape, group)
        quarantined += problems
        if events.height:
            frames.append(events)
    events = pl.concat(frames, how="vertical") if frames else empty_events()
    return EventBatch(
        events=events,
        quarantined=quarantined,
        checkpoints=[b.checkpoint for b in batches if b.checkpoint is not None],
        gaps=[g for b in batches for g in b.gaps],
        source_records=sum(len(b.records) + len(b.rejected) for b in batches),
    )


def _normalize_shape(
    shape: str, group: list[RawBatch]
) -> tuple[pl.DataFrame, list[QuarantinedRecord]]:
    records = [r for b in group for r in b.records]
    owner = [i for i, b in enumerate(group) for _ in b.records]  # record -> its batch
    mapper = MAPPERS.get(shape)
    if mapper is None:
        known = ", ".join(sorted(MAPPERS))
        why = f"no normalizer for shape {shape!r} (known: {known})"
        return empty_events(), [_quarantine(group[owner[i]], r, why) for i, r in enumerate(records)]
    table, kept, failed = read_records(records, mapper.schema)
    quarantined = [_quarantine(group[owner[i]], records[i], reason) for i, reason in failed]
    if not kept:
        return empty_events(), quarantined
    raw = pl.from_arrow(table)
    assert isinstance(raw, pl.DataFrame)
    raw = raw.with_columns(
        _row=pl.Series(kept, dtype=pl.Int64),
        raw_data=pl.Series([records[i].decode("utf-8", "replace") for i in kept]),
    )
    mapped = mapper.map(raw)
    given = pl.col("_reason") if "_reason" in mapped.columns else pl.lit(None, dtype=pl.String)
    reason = (
        pl.when(given.is_not_null())
        .then(given)
        .when(pl.col("metadata").struct.field("uid").is_null())
        .then(pl.lit(f"missing record id ({mapper.id_field})"))
        .when(pl.col("time").is_null())
        .then(pl.lit("missing or unparseable event time"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    mapped = mapped.with_columns(_reason=reason)
    bad = mapped.filter(pl.col("_reason").is_not_null()).select("_row", "_reason")
    for row, why in bad.iter_rows():
        quarantined.append(_quarantine(group[owner[row]], records[row], why))
    good = mapped.filter(pl.col("_reason").is_null()).sort("_row")
    provenance = pl.DataFrame(
        {
            "_row": list(range(len(records))),
            "tw_tenant": [group[o].tenant for o in owner],
            "tw_source": [group[o].source for o in owner],
            "tw_stream": [group[o].stream for o in owner],
            "tw_fetched_time": [group[o].fetched_time for o in owner],
            "tw_available_time": [group[o].available_time or group[o].fetched_time for o in owner],
        },
        schema={
            "_row": pl.Int64,
            "tw_tenant": pl.String,
            "tw_source": pl.String,
            "tw_stream": pl.String,
            "tw_fetched_time": pl.Datetime("us", "UTC"),
            "tw_available_time": pl.Datetime("us", "UTC"),
        },
    )
    good = conform(good, keep=("_row",)).drop(
        "tw_tenant", "tw_source", "tw_stream", "tw_fetched_time", "tw_available_time"
    )
    good = good.join(provenance, on="_row", how="left", maintain_order="left")
    events = conform(restrict_to_class(enrich_endpoints(_finish(good, shape))))
    return events, quarantined


def _finish(frame: pl.DataFrame, shape: str) -> pl.DataFrame:
    """Attributes every event gets the same way: class names, type_uid, tenant, provenance."""
    c = pl.col
    names = {k: v[0] for k, v in CLASS_NAMES.items()}
    categories = {k: v[1] for k, v in CLASS_NAMES.items()}
    category_names = {k: v[2] for k, v in CLASS_NAMES.items()}
    type_uid = c("class_uid").cast(pl.Int64) * 100 + c("activity_id")
    metadata = c("metadata").struct.with_fields(
        version=pl.lit(OCSF_VERSION),
        tenant_uid=c("tw_tenant"),
        logged_time=c("tw_fetched_time").dt.cast_time_unit("ms"),
    )
    return frame.with_columns(
        tw_uid=pl.concat_str(
            [pl.lit(FEEDS.get(shape, "other") + ":"), c("metadata").struct.field("uid")]
        ),
        tw_available_time=c("tw_available_time").dt.cast_time_unit("ms"),
        tw_fetched_time=c("tw_fetched_time").dt.cast_time_unit("ms"),
        class_name=c("class_uid").replace_strict(names, default=None, return_dtype=pl.String),
        category_uid=c("class_uid").replace_strict(categories, default=None, return_dtype=pl.Int32),
        category_name=c("class_uid").replace_strict(
            category_names, default=None, return_dtype=pl.String
        ),
        type_uid=type_uid,
        severity_id=c("severity_id").fill_null(1),
        activity_name=type_uid.replace_strict(
            {k[0] * 100 + k[1]: v for k, v in ACTIVITY_NAMES.items()},
            default="Other",
            return_dtype=pl.String,
        ),
        status=pl.coalesce(
            c("status"),
            c("status_id").replace_strict(
                {0: "Unknown", 1: "Success", 2: "Failure"}, default="Other", return_dtype=pl.String
            ),
        ),
        metadata=metadata,
    )


def _quarantine(batch: RawBatch, raw: bytes, reason: str) -> QuarantinedRecord:
    return QuarantinedRecord(
        tenant=batch.tenant,
        source=batch.source,
        stream=batch.stream,
        shape=batch.shape,
        reason=reason,
        raw=raw,
    )
