"""Azure Monitor diagnostic records of Entra ID (Event Hubs, storage, Log Analytics) to OCSF.

A diagnostic record wraps Graph's resource in ``properties``: sign-in categories
(``SignInLogs``, ``NonInteractiveUserSignInLogs``, ``ServicePrincipalSignInLogs``,
``ManagedIdentitySignInLogs``) carry a ``signIn``, ``AuditLogs`` a ``directoryAudit``. The
Graph mappers read them through the ``properties`` struct, so a sign-in maps the same from
either shape. Other categories are quarantined with their name.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from tenantwatch.model.batch import RecordShape
from tenantwatch.normalize.columns import conform
from tenantwatch.normalize.graph_audit import AUDIT_FIELDS, audit_columns
from tenantwatch.normalize.graph_signin import SIGNIN_FIELDS, signin_columns

__all__ = ["AZURE_MONITOR_SCHEMA", "SIGNIN_CATEGORIES", "AzureMonitorMapper"]

SIGNIN_CATEGORIES = {
    "SignInLogs": "interactiveUser",
    "NonInteractiveUserSignInLogs": "nonInteractiveUser",
    "ServicePrincipalSignInLogs": "servicePrincipal",
    "ManagedIdentitySignInLogs": "managedIdentity",
}
S = pa.string()
_properties = dict(SIGNIN_FIELDS)
for _name, _type in AUDIT_FIELDS:
    _properties.setdefault(_name, _type)
AZURE_MONITOR_SCHEMA = pa.schema(
    [
        ("time", S),
        ("category", S),
        ("operationName", S),
        ("tenantId", S),
        ("resultType", S),
        ("callerIpAddress", S),
        ("correlationId", S),
        ("properties", pa.struct(list(_properties.items()))),
    ]
)


class AzureMonitorMapper:
    """Maps Entra ID diagnostic records, sign-ins and audits alike."""

    shape = RecordShape.AZURE_MONITOR
    schema = AZURE_MONITOR_SCHEMA
    id_field = "properties.id"

    def map(self, raw: pl.DataFrame) -> pl.DataFrame:
        def prop(name: str) -> pl.Expr:
            return pl.col("properties").struct.field(name)

        category = pl.col("category")
        keep = (pl.col("_row"), pl.col("raw_data"))
        parts = []
        signins = raw.filter(category.is_in(list(SIGNIN_CATEGORIES)))
        if not signins.is_empty():
            event_type = category.replace_strict(
                SIGNIN_CATEGORIES, default=None, return_dtype=pl.String
            )
            columns = signin_columns(
                prop, feature="Sign-in logs (Azure Monitor)", event_type=event_type
            )
            parts.append(conform(signins.select(*keep, **columns), keep=("_row",)))
        audits = raw.filter(category == "AuditLogs")
        if not audits.is_empty():
            columns = audit_columns(prop, feature="Audit logs (Azure Monitor)")
            parts.append(conform(audits.select(*keep, **columns), keep=("_row",)))
        other = raw.filter(~category.is_in([*SIGNIN_CATEGORIES, "AuditLogs"]) | category.is_null())
        if not other.is_empty():
            reason = pl.format(
                "unsupported Azure Monitor category {}", category.fill_null("(none)")
            )
            parts.append(conform(other.select(*keep, _reason=reason), keep=("_row", "_reason")))
        return pl.concat(parts, how="diagonal_relaxed")
