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

__all__ = ["FEEDS", "MAPPERS", "Mapper", "normalize"]

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
    mapper = MAPPERS.get(batch.shape)
    checkpoints = [batch.checkpoint] if batch.checkpoint else []
    if mapper is None:
        known = ", ".join(sorted(MAPPERS))
        why = f"no normalizer for shape {batch.shape!r} (known: {known})"
        return EventBatch(
            events=empty_events(),
            quarantined=[_quarantine(batch, r, why) for r in batch.records],
            checkpoints=checkpoints,
            source_records=len(batch.records),
        )
    table, kept, failed = read_records(batch.records, mapper.schema)
    quarantined = [_quarantine(batch, batch.records[i], reason) for i, reason in failed]
    events = empty_events()
    if kept:
        raw = pl.from_arrow(table)
        assert isinstance(raw, pl.DataFrame)
        raw = raw.with_columns(
            _row=pl.Series(kept, dtype=pl.Int64),
            raw_data=pl.Series([batch.records[i].decode("utf-8", "replace") for i in kept]),
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
        for row, why in (
            mapped.filter(pl.col("_reason").is_not_null()).select("_row", "_reason").iter_rows()
        ):
            quarantined.append(_quarantine(batch, batch.records[row], why))
        good = mapped.filter(pl.col("_reason").is_null()).sort("_row")
        events = conform(restrict_to_class(enrich_endpoints(_finish(conform(good), batch))))
    return EventBatch(
        events=events,
        quarantined=quarantined,
        checkpoints=checkpoints,
        source_records=len(batch.records),
    )


def _finish(frame: pl.DataFrame, batch: RawBatch) -> pl.DataFrame:
    """Attributes every event gets the same way: class names, type_uid, tenant, provenance."""
    c = pl.col
    names = {k: v[0] for k, v in CLASS_NAMES.items()}
    categories = {k: v[1] for k, v in CLASS_NAMES.items()}
    category_names = {k: v[2] for k, v in CLASS_NAMES.items()}
    type_uid = c("class_uid").cast(pl.Int64) * 100 + c("activity_id")
    metadata = c("metadata").struct.with_fields(
        version=pl.lit(OCSF_VERSION),
        tenant_uid=pl.lit(batch.tenant),
        logged_time=pl.lit(batch.fetched_time).dt.cast_time_unit("ms"),
    )
    return frame.with_columns(
        tw_tenant=pl.lit(batch.tenant),
        tw_uid=pl.concat_str(
            [pl.lit(FEEDS.get(batch.shape, "other") + ":"), c("metadata").struct.field("uid")]
        ),
        tw_source=pl.lit(batch.source),
        tw_stream=pl.lit(batch.stream),
        tw_available_time=pl.lit(batch.available_time or batch.fetched_time).dt.cast_time_unit(
            "ms"
        ),
        tw_fetched_time=pl.lit(batch.fetched_time).dt.cast_time_unit("ms"),
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
