"""Which event attributes each OCSF 1.3 class has: attributes a class does not define are
cleared, so every event validates against its class."""

from __future__ import annotations

import polars as pl

from tenantwatch.model.schema import OCSF_COLUMNS

__all__ = ["CLASS_ATTRIBUTES", "restrict_to_class"]

# base event, classification and occurrence attributes: every class has them
BASE = {
    "time",
    "class_uid",
    "class_name",
    "category_uid",
    "category_name",
    "activity_id",
    "activity_name",
    "type_uid",
    "severity_id",
    "status_id",
    "status",
    "status_code",
    "status_detail",
    "message",
    "metadata",
    "observables",
    "unmapped",
    "raw_data",
    "api",
    "cloud",  # the cloud profile
}
IAM = {"src_endpoint", "http_request", "device"}  # iam classes include the host profile
CLASS_ATTRIBUTES: dict[int, set[str]] = {
    3001: BASE | IAM | {"actor", "user"},
    3002: BASE
    | IAM
    | {
        "actor",
        "user",
        "dst_endpoint",
        "service",
        "session",
        "is_mfa",
        "auth_protocol",
        "auth_protocol_id",
        "logon_type",
        "logon_type_id",
    },
    3004: BASE | IAM | {"actor", "entity", "entity_result"},
    3005: BASE | IAM | {"privileges", "resource", "user"},
    3006: BASE | IAM | {"group", "privileges", "resource", "user"},
    4009: BASE | {"email", "direction_id", "src_endpoint", "dst_endpoint", "actor", "device"},
    6003: BASE | {"actor", "api", "src_endpoint", "dst_endpoint", "http_request", "resources"},
    6006: BASE | {"actor", "file", "src_endpoint", "dst_endpoint"},
}


def restrict_to_class(events: pl.DataFrame) -> pl.DataFrame:
    """Null every attribute that the event's class does not define."""
    exprs = []
    for column in OCSF_COLUMNS:
        if column not in events.columns:
            continue
        classes = [uid for uid, attrs in CLASS_ATTRIBUTES.items() if column in attrs]
        if len(classes) == len(CLASS_ATTRIBUTES):
            continue
        exprs.append(pl.when(pl.col("class_uid").is_in(classes)).then(pl.col(column)).alias(column))
    return events.with_columns(exprs) if exprs else events
