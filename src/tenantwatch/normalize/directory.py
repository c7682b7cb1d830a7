"""Entra ID directory changes, from any shape, to OCSF (3001, 3004, 3005, 3006, or 6003).

Graph ``directoryAudit`` (and Azure Monitor ``AuditLogs``, whose ``properties`` are one) and the
Activity API's RecordType 8 describe the same change differently; each shape first reduces to
:class:`DirectoryFields` (who did it, to what, which properties changed), then one function
builds the OCSF columns, so both shapes map identically.

Where OCSF 1.3 has no attribute for it (User Access and Group Management have no ``actor``), the
initiator goes to ``unmapped.actor``; changed properties are always in
``unmapped.modified_properties`` (keys with ``.`` as ``_``: ``AppRole_Value``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from tenantwatch.normalize.columns import json_object, json_text, obj
from tenantwatch.normalize.derive import blank_to_null, name_value, parse_ip
from tenantwatch.normalize.operations import directory_class, operation_key

__all__ = ["DirectoryFields", "directory_columns"]

TARGET = pl.Struct({"id": pl.String, "name": pl.String, "type": pl.String, "upn": pl.String})
MODIFIED = pl.Struct({"name": pl.String, "new": pl.String, "old": pl.String})


@dataclass
class DirectoryFields:
    """One directory change, shape-independent (each a Polars expression)."""

    operation: pl.Expr
    time: pl.Expr
    uid: pl.Expr
    correlation: pl.Expr
    succeeded: pl.Expr  # bool
    result_detail: pl.Expr
    category: pl.Expr
    actor_upn: pl.Expr
    actor_user_id: pl.Expr
    actor_app_name: pl.Expr
    actor_app_id: pl.Expr
    ip: pl.Expr
    user_agent: pl.Expr
    targets: pl.Expr  # list[TARGET]
    modified: pl.Expr  # list[MODIFIED]
    feature: str


def _upn(name: pl.Expr) -> pl.Expr:
    """User principal names compare case-insensitively: lower-case them (display names stay)."""
    return pl.when(name.str.contains("@")).then(name.str.to_lowercase()).otherwise(name)


def _first_target(targets: pl.Expr, *types: str) -> pl.Expr:
    return targets.list.eval(
        pl.element().filter(pl.element().struct.field("type").is_in(list(types)))
    ).list.first()


def _scopes(permissions: pl.Expr) -> pl.Expr:
    """Scopes named in ``ConsentAction.Permissions`` (``... Scope: Mail.Read User.Read, ...``)."""
    return (
        permissions.str.extract_all(r"Scope: ([^,\]]*)")
        .list.eval(pl.element().str.strip_prefix("Scope: ").str.split(" "))
        .list.eval(pl.element().explode())
        .list.eval(pl.element().filter(pl.element().str.strip_chars() != ""))
    )


def directory_columns(f: DirectoryFields) -> dict[str, pl.Expr]:
    """The OCSF columns of a directory change."""
    class_uid, activity_id = directory_class(f.operation)
    key = operation_key(f.operation)
    modified = f.modified
    app_role_grant = key.str.contains("app role assignment")
    grantee_sp = pl.struct(
        id=name_value(modified, "ServicePrincipal.ObjectID", key="name", value="new"),
        name=name_value(modified, "ServicePrincipal.DisplayName", key="name", value="new"),
        type=pl.lit("ServicePrincipal"),
        upn=pl.lit(None, dtype=pl.String),
    )
    user_target = _first_target(f.targets, "User")
    principal_target = pl.coalesce(
        _first_target(f.targets, "User", "ServicePrincipal"), f.targets.list.first()
    )
    grantee = (
        pl.when(app_role_grant & grantee_sp.struct.field("name").is_not_null())
        .then(grantee_sp)
        .when(class_uid == 3001)
        .then(user_target)
        .otherwise(principal_target)
    )
    grantee_type = grantee.struct.field("type")
    user = obj(
        "user",
        uid=grantee.struct.field("id"),
        name=pl.coalesce(_upn(grantee.struct.field("upn")), grantee.struct.field("name")),
        type_id=pl.when(grantee_type == "User").then(1).otherwise(99),
        type=pl.when(grantee_type == "User")
        .then(pl.lit("User"))
        .otherwise(pl.lit("Service Principal")),
    )
    first = f.targets.list.first()
    resource_target = (
        pl.when(app_role_grant)
        .then(first)
        .otherwise(_first_target(f.targets, "ServicePrincipal", "Application", "Role", "Group"))
    )
    role_name = name_value(modified, "Role.DisplayName", key="name", value="new")
    privileges = pl.concat_list(
        [
            pl.concat_list(
                [
                    name_value(modified, "AppRole.Value", key="name", value="new"),
                    role_name,
                    name_value(modified, "DelegatedPermissionGrant.Scope", key="name", value="new"),
                ]
            ).list.drop_nulls(),
            _scopes(
                name_value(modified, "ConsentAction.Permissions", key="name", value="new")
            ).fill_null(pl.lit([], dtype=pl.List(pl.String))),
        ]
    ).list.unique(maintain_order=True)
    actor_user = obj(
        "user",
        name=_upn(f.actor_upn),
        uid=f.actor_user_id,
        type_id=pl.lit(1),
        type=pl.lit("User"),
    )
    actor = obj(
        "actor",
        user=pl.when(f.actor_upn.is_not_null() | f.actor_user_id.is_not_null()).then(actor_user),
        app_name=f.actor_app_name,
        app_uid=f.actor_app_id,
    )
    modified_json = json_object(modified, "name", "new")
    actor_json = pl.concat_str(
        [
            pl.lit('{"user":'),
            json_text(_upn(f.actor_upn)).fill_null("null"),
            pl.lit(',"app_name":'),
            json_text(f.actor_app_name).fill_null("null"),
            pl.lit(',"app_uid":'),
            json_text(f.actor_app_id).fill_null("null"),
            pl.lit("}"),
        ]
    )
    unmapped = pl.concat_str(
        [
            pl.lit('{"operation":'),
            json_text(f.operation),
            pl.lit(',"category":'),
            json_text(f.category).fill_null("null"),
            pl.lit(',"actor":'),
            actor_json,
            pl.lit(',"modified_properties":'),
            modified_json.fill_null("{}"),
            pl.lit(',"targets":'),
            pl.concat_str(
                [
                    pl.lit("["),
                    f.targets.list.eval(pl.element().struct.json_encode()).list.join(","),
                    pl.lit("]"),
                ]
            ).fill_null("[]"),
            pl.lit("}"),
        ]
    )
    ip, port = parse_ip(f.ip)
    is_ = class_uid.is_in
    return {
        "time": f.time,
        "class_uid": class_uid,
        "activity_id": activity_id,
        "status_id": pl.when(f.succeeded).then(1).otherwise(2),
        "status": pl.when(f.succeeded).then(pl.lit("Success")).otherwise(pl.lit("Failure")),
        "status_detail": blank_to_null(f.result_detail),
        "message": pl.format(
            "{} by {}",
            f.operation.str.strip_chars().str.strip_chars_end("."),
            pl.coalesce(f.actor_upn, f.actor_app_name, pl.lit("?")),
        ),
        "metadata": obj(
            "metadata",
            uid=f.uid,
            correlation_uid=f.correlation,
            event_code=f.operation.str.strip_chars(),
            log_name=pl.lit("directoryAudits"),
            product={
                "name": pl.lit("Microsoft Entra ID"),
                "vendor_name": pl.lit("Microsoft"),
                "feature": {"name": pl.lit(f.feature)},
            },
        ),
        "actor": pl.when(is_([3001, 3004, 6003])).then(actor),
        "user": pl.when(is_([3001, 3005, 3006])).then(user),
        "entity": pl.when(class_uid == 3004).then(
            obj(
                "entity",
                uid=first.struct.field("id"),
                name=first.struct.field("name"),
                type=first.struct.field("type"),
                data=modified_json,
            )
        ),
        "privileges": pl.when(class_uid == 3005).then(privileges),
        "resource": pl.when(is_([3005, 3006])).then(
            obj(
                "resource",
                uid=resource_target.struct.field("id"),
                name=pl.coalesce(role_name, resource_target.struct.field("name")),
                type=pl.when(role_name.is_not_null())
                .then(pl.lit("Role"))
                .otherwise(resource_target.struct.field("type")),
            )
        ),
        "group": pl.when(class_uid == 3006).then(
            obj(
                "group",
                uid=_first_target(f.targets, "Group").struct.field("id"),
                name=_first_target(f.targets, "Group").struct.field("name"),
            )
        ),
        "api": pl.when(class_uid == 6003).then(
            obj(
                "api",
                operation=f.operation.str.strip_chars(),
                service={"name": pl.lit("Microsoft Entra ID")},
            )
        ),
        "src_endpoint": obj("src_endpoint", ip=ip, port=port),
        "http_request": obj("http_request", user_agent=blank_to_null(f.user_agent)),
        "unmapped": unmapped,
    }
