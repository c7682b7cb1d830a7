"""Entra ID directory changes in the Activity API (RecordType 8), reduced to the fields the
shared directory mapping takes."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from tenantwatch.normalize.columns import obj, parse_time
from tenantwatch.normalize.derive import name_value
from tenantwatch.normalize.directory import MODIFIED, TARGET, DirectoryFields, directory_columns

__all__ = ["directory"]


def _ids_of(ids: pl.Expr, type_code: int) -> pl.Expr:
    return ids.list.eval(
        pl.element().filter(pl.element().struct.field("Type") == type_code).struct.field("ID")
    )


_KINDS = [
    "User",
    "ServicePrincipal",
    "Application",
    "Group",
    "Role",
    "Device",
    "Policy",
    "Directory",
]
_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def directory(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    actor_ids, target_ids = c("Actor"), c("Target")
    type2 = _ids_of(target_ids, 2)
    target = pl.struct(
        id=type2.list.eval(pl.element().filter(pl.element().str.contains(_GUID))).list.first(),
        name=_ids_of(target_ids, 1).list.first(),
        type=type2.list.eval(pl.element().filter(pl.element().is_in(_KINDS))).list.first(),
        upn=_ids_of(target_ids, 5).list.first(),
    )
    actor_type2 = _ids_of(actor_ids, 2)
    actor_is_sp = actor_type2.list.contains("ServicePrincipal")
    details = name_value(c("ExtendedProperties"), "additionalDetails")
    fields = DirectoryFields(
        operation=c("Operation"),
        time=parse_time(c("CreationTime")),
        uid=c("Id"),
        correlation=c("InterSystemsId"),
        succeeded=c("ResultStatus").str.to_lowercase().is_in(["success", "succeeded", "true"]),
        result_detail=pl.lit(None, dtype=pl.String),
        category=name_value(c("ExtendedProperties"), "extendedAuditEventCategory"),
        actor_upn=pl.when(~actor_is_sp).then(_ids_of(actor_ids, 5).list.first()),
        actor_user_id=pl.when(~actor_is_sp).then(
            actor_type2.list.eval(pl.element().filter(pl.element().str.contains(_GUID))).list.last()
        ),
        actor_app_name=pl.when(actor_is_sp).then(_ids_of(actor_ids, 1).list.first()),
        actor_app_id=pl.when(actor_is_sp).then(
            actor_type2.list.eval(
                pl.element().filter(pl.element().str.contains(_GUID))
            ).list.first()
        ),
        ip=pl.coalesce(c("ClientIP"), c("ActorIpAddress")),
        user_agent=details.str.json_path_match("$['User-Agent']"),
        targets=pl.concat_list([target]).cast(pl.List(TARGET)),
        modified=c("ModifiedProperties")
        .list.eval(
            pl.struct(
                name=pl.element().struct.field("Name"),
                new=pl.element().struct.field("NewValue"),
                old=pl.element().struct.field("OldValue"),
            )
        )
        .cast(pl.List(MODIFIED)),
        feature="Entra ID audit (Activity API)",
    )
    columns = directory_columns(fields)
    columns["metadata"] = columns["metadata"].struct.with_fields(
        log_name=pl.lit("Audit.AzureActiveDirectory"),
        original_time=c("CreationTime"),
        product=obj(
            "metadata.product",
            name=pl.lit("Microsoft 365 Unified Audit Log"),
            vendor_name=pl.lit("Microsoft"),
            feature={"name": pl.lit("Entra ID audit (Activity API)")},
        ),
    )
    return columns
