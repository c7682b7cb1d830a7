"""Stage 2: raw batches to OCSF events, odd records to quarantine.

:func:`normalize` is pure (no I/O, no clock): the same batch always gives the same events.
"""

from __future__ import annotations

from typing import Protocol

import polars as pl
import pyarrow as pa

from tenantwatch.model.batch import EventBatch, QuarantinedRecord, RawBatch
from tenantwatch.model.schema import ACTIVITY_NAMES, CLASS_NAMES, OCSF_VERSION
from tenantwatch.normalize.columns import conform, empty_events
from tenantwatch.normalize.graph_signin import GraphSignInMapper
from tenantwatch.normalize.jsonread import read_records

__all__ = ["MAPPERS", "Mapper", "normalize"]


class Mapper(Protocol):
    """Maps one upstream shape to event columns."""

    shape: str
    schema: pa.Schema
    id_field: str

    def map(self, raw: pl.DataFrame) -> pl.DataFrame: ...


MAPPERS: dict[str, Mapper] = {m.shape: m for m in (GraphSignInMapper(),)}


def normalize(batch: RawBatch) -> EventBatch:
    """Normalize one batch: every record becomes an event or a quarantined record, never lost."""
    mapper = MAPPERS.get(batch.shape)
    if mapper is None:
        known = ", ".join(sorted(MAPPERS))
        return EventBatch(
            events=empty_events(),
            quarantined=[
                _quarantine(batch, r, f"no normalizer for shape {batch.shape!r} (known: {known})")
                for r in batch.records
            ],
            checkpoints=[batch.checkpoint] if batch.checkpoint else [],
            source_records=len(batch.records),
        )
    table, kept, failed = read_records(batch.records, mapper.schema)
    quarantined = [_quarantine(batch, batch.records[i], reason) for i, reason in failed]
    events = empty_events()
    if kept:
        raw = pl.from_arrow(table)
        assert isinstance(raw, pl.DataFrame)
        mapped = mapper.map(raw).with_columns(
            raw_data=pl.Series([batch.records[i].decode("utf-8", "replace") for i in kept]),
            _row=pl.Series(kept, dtype=pl.Int64),
        )
        reason = (
            pl.when(pl.col("metadata").struct.field("uid").is_null())
            .then(pl.lit(f"missing record id ({mapper.id_field})"))
            .when(pl.col("time").is_null())
            .then(pl.lit("missing or unparseable event time"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
        mapped = mapped.with_columns(_reason=reason)
        bad = mapped.filter(pl.col("_reason").is_not_null())
        for row, why in bad.select("_row", "_reason").iter_rows():
            quarantined.append(_quarantine(batch, batch.records[row], why))
        good = mapped.filter(pl.col("_reason").is_null())
        events = conform(_finish(good, batch))
    return EventBatch(
        events=events,
        quarantined=quarantined,
        checkpoints=[batch.checkpoint] if batch.checkpoint else [],
        source_records=len(batch.records),
    )


def _finish(frame: pl.DataFrame, batch: RawBatch) -> pl.DataFrame:
    """Attributes every event gets the same way: class names, type_uid, tenant, provenance."""
    c = pl.col
    class_name = c("class_uid").replace_strict(
        {k: v[0] for k, v in CLASS_NAMES.items()}, default=None, return_dtype=pl.String
    )
    category_uid = c("class_uid").replace_strict(
        {k: v[1] for k, v in CLASS_NAMES.items()}, default=None, return_dtype=pl.Int32
    )
    category_name = c("class_uid").replace_strict(
        {k: v[2] for k, v in CLASS_NAMES.items()}, default=None, return_dtype=pl.String
    )
    metadata = c("metadata").struct.with_fields(
        version=pl.lit(OCSF_VERSION),
        tenant_uid=pl.lit(batch.tenant),
        logged_time=pl.lit(batch.fetched_time).dt.cast_time_unit("ms"),
    )
    return frame.with_columns(
        tw_tenant=pl.lit(batch.tenant),
        tw_uid=c("metadata").struct.field("uid"),
        tw_source=pl.lit(batch.source),
        tw_stream=pl.lit(batch.stream),
        tw_available_time=pl.lit(batch.available_time or batch.fetched_time).dt.cast_time_unit(
            "ms"
        ),
        tw_fetched_time=pl.lit(batch.fetched_time).dt.cast_time_unit("ms"),
        class_name=class_name,
        category_uid=category_uid,
        category_name=category_name,
        type_uid=c("class_uid").cast(pl.Int64) * 100 + c("activity_id"),
        severity_id=c("severity_id").fill_null(1) if "severity_id" in frame.columns else pl.lit(1),
        activity_name=(c("class_uid").cast(pl.Int64) * 100 + c("activity_id")).replace_strict(
            {k[0] * 100 + k[1]: v for k, v in ACTIVITY_NAMES.items()},
            default="Other",
            return_dtype=pl.String,
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
