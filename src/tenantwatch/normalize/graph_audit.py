"""Graph ``directoryAudit`` resources (and Azure Monitor ``AuditLogs`` properties) to OCSF.

Field reference: learn.microsoft.com/graph/api/resources/directoryaudit. Modified property
values are JSON text in Graph (``"\\"True\\""``); they are decoded so both shapes compare equal.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pyarrow as pa

from tenantwatch.model.batch import RecordShape
from tenantwatch.normalize.columns import parse_time
from tenantwatch.normalize.derive import name_value
from tenantwatch.normalize.directory import MODIFIED, TARGET, DirectoryFields, directory_columns

__all__ = ["AUDIT_FIELDS", "AUDIT_SCHEMA", "GraphDirectoryAuditMapper", "audit_columns"]

S = pa.string()
_modified = pa.list_(pa.struct([("displayName", S), ("oldValue", S), ("newValue", S)]))
AUDIT_FIELDS: list[tuple[str, pa.DataType]] = [
    ("id", S),
    ("category", S),
    ("correlationId", S),
    ("result", S),
    ("resultReason", S),
    ("activityDisplayName", S),
    ("activityDateTime", S),
    ("loggedByService", S),
    ("operationType", S),
    (
        "initiatedBy",
        pa.struct(
            [
                (
                    "user",
                    pa.struct(
                        [("id", S), ("displayName", S), ("userPrincipalName", S), ("ipAddress", S)]
                    ),
                ),
                (
                    "app",
                    pa.struct(
                        [
                            ("appId", S),
                            ("displayName", S),
                            ("servicePrincipalId", S),
                            ("servicePrincipalName", S),
                        ]
                    ),
                ),
            ]
        ),
    ),
    (
        "targetResources",
        pa.list_(
            pa.struct(
                [
                    ("id", S),
                    ("displayName", S),
                    ("type", S),
                    ("userPrincipalName", S),
                    ("modifiedProperties", _modified),
                ]
            )
        ),
    ),
    ("additionalDetails", pa.list_(pa.struct([("key", S), ("value", S)]))),
]
AUDIT_SCHEMA = pa.schema(AUDIT_FIELDS)


def _decode(value: pl.Expr) -> pl.Expr:
    """Graph's JSON-encoded property value, decoded when it is a JSON string."""
    return pl.when(value.str.starts_with('"')).then(value.str.json_path_match("$")).otherwise(value)


def audit_columns(c: Callable[[str], pl.Expr], *, feature: str) -> dict[str, pl.Expr]:
    """OCSF columns from directoryAudit fields read through ``c`` (top level, or ``properties``)."""
    initiated = c("initiatedBy")
    user = initiated.struct.field("user")
    app = initiated.struct.field("app")
    targets = c("targetResources")
    fields = DirectoryFields(
        operation=c("activityDisplayName"),
        time=parse_time(c("activityDateTime")),
        uid=c("id"),
        correlation=c("correlationId"),
        succeeded=c("result").str.to_lowercase() == "success",
        result_detail=c("resultReason"),
        category=c("category"),
        actor_upn=user.struct.field("userPrincipalName"),
        actor_user_id=user.struct.field("id"),
        actor_app_name=app.struct.field("displayName"),
        actor_app_id=app.struct.field("appId"),
        ip=user.struct.field("ipAddress"),
        user_agent=name_value(c("additionalDetails"), "User-Agent", key="key", value="value"),
        targets=targets.list.eval(
            pl.struct(
                id=pl.element().struct.field("id"),
                name=pl.element().struct.field("displayName"),
                type=pl.element().struct.field("type"),
                upn=pl.element().struct.field("userPrincipalName"),
            )
        ).cast(pl.List(TARGET)),
        modified=targets.list.eval(pl.element().struct.field("modifiedProperties").explode())
        .list.eval(
            pl.struct(
                name=pl.element().struct.field("displayName"),
                new=_decode(pl.element().struct.field("newValue")),
                old=_decode(pl.element().struct.field("oldValue")),
            )
        )
        .cast(pl.List(MODIFIED)),
        feature=feature,
    )
    return directory_columns(fields)


class GraphDirectoryAuditMapper:
    """Maps Graph ``directoryAudit`` records."""

    shape = RecordShape.GRAPH_DIRECTORY_AUDIT
    schema = AUDIT_SCHEMA
    id_field = "id"

    def map(self, raw: pl.DataFrame) -> pl.DataFrame:
        columns = audit_columns(pl.col, feature="Audit logs (Graph)")
        return raw.select(pl.col("_row"), pl.col("raw_data"), **columns)
