"""Exchange Online in the Activity API: cmdlets (RecordType 1, 18) and mailbox items (50, 2, 3)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from tenantwatch.normalize.columns import json_object, obj
from tenantwatch.normalize.derive import blank_to_null, name_value
from tenantwatch.normalize.management.common import actor_user, common, endpoint, verb_activity

__all__ = ["cmdlet", "mailbox"]

# Exchange cmdlets that grant access: OCSF User Access Management (3005)
PERMISSION_CMDLETS = (
    "add-mailboxpermission",
    "add-recipientpermission",
    "add-mailboxfolderpermission",
    "new-managementroleassignment",
    "add-rolegroupmember",
)


def cmdlet(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    operation = c("Operation").str.strip_chars()
    op = operation.str.to_lowercase()
    grants = op.is_in(list(PERMISSION_CMDLETS))
    params = c("Parameters")
    grantee = pl.coalesce(
        name_value(params, "User"), name_value(params, "Trustee"), name_value(params, "Member")
    )
    right = pl.coalesce(name_value(params, "AccessRights"), name_value(params, "Role"))
    target = pl.coalesce(name_value(params, "Identity"), c("ObjectId"))
    params_json = json_object(
        params.list.eval(
            pl.struct(
                name=pl.element().struct.field("Name"), value=pl.element().struct.field("Value")
            )
        ),
        "name",
        "value",
    )
    class_uid = pl.when(grants & grantee.is_not_null()).then(3005).otherwise(6003)
    ip_text = c("ClientIP")
    return {
        **common(c, "Exchange admin audit (Activity API)"),
        "class_uid": class_uid,
        "activity_id": pl.when(class_uid == 3005).then(1).otherwise(verb_activity(operation)),
        "status_id": pl.when(
            c("ResultStatus").str.to_lowercase().is_in(["true", "succeeded", "success"])
        )
        .then(1)
        .when(c("ResultStatus").is_null())
        .then(0)
        .otherwise(2),
        "message": pl.format("{} by {}", operation, c("UserId")),
        "actor": pl.when(class_uid == 6003).then(
            obj("actor", user=actor_user(c), app_uid=blank_to_null(c("AppId")))
        ),
        "api": pl.when(class_uid == 6003).then(
            obj(
                "api",
                operation=operation,
                service={"name": pl.lit("Exchange Online")},
                request={"uid": c("SessionId"), "data": params_json},
            )
        ),
        "resources": pl.when(class_uid == 6003).then(
            pl.concat_list([obj("resource", name=target, type=pl.lit("Exchange object"))])
        ),
        "user": pl.when(class_uid == 3005).then(
            obj(
                "user",
                name=pl.when(grantee.str.contains("@"))
                .then(grantee.str.to_lowercase())
                .otherwise(grantee),
            )
        ),
        "privileges": pl.when(class_uid == 3005).then(
            right.str.split(",").list.eval(pl.element().str.strip_chars())
        ),
        "resource": pl.when(class_uid == 3005).then(
            obj("resource", name=target, type=pl.lit("Mailbox"))
        ),
        "src_endpoint": endpoint(ip_text, True),
        "unmapped": pl.concat_str(
            [
                pl.lit('{"parameters":'),
                params_json.fill_null("{}"),
                pl.lit(',"actor":'),
                pl.struct(
                    user=c("UserId"), user_type=c("UserType"), external_access=c("ExternalAccess")
                ).struct.json_encode(),
                pl.lit("}"),
            ]
        ),
    }


def mailbox(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    operation = c("Operation").str.strip_chars()
    is_send = operation.is_in(["Send", "SendAs", "SendOnBehalf"])
    access = name_value(c("OperationProperties"), "MailAccessType")
    app_id = pl.coalesce(
        blank_to_null(c("AppId")), c("AppAccessContext").struct.field("ClientAppId")
    )
    message_ids = (
        c("Folders")
        .list.eval(
            pl.element().struct.field("FolderItems").explode().struct.field("InternetMessageId")
        )
        .list.drop_nulls()
    )
    folders = c("Folders").list.eval(pl.element().struct.field("Path"))
    owner = pl.coalesce(c("MailboxOwnerUPN"), c("UserId")).str.to_lowercase()
    resources = pl.concat_list(
        [
            pl.concat_list(
                [obj("resource", name=owner, uid=c("MailboxGuid"), type=pl.lit("Mailbox"))]
            ),
            folders.list.eval(
                pl.struct(
                    uid=pl.lit(None, dtype=pl.String),
                    name=pl.element(),
                    type=pl.lit("Folder"),
                    data=pl.lit(None, dtype=pl.String),
                )
            ).fill_null(
                pl.lit(
                    [],
                    dtype=pl.List(
                        pl.Struct(
                            {
                                "uid": pl.String,
                                "name": pl.String,
                                "type": pl.String,
                                "data": pl.String,
                            }
                        )
                    ),
                )
            ),
        ]
    )
    item = c("Item")
    sender = pl.coalesce(
        c("SendAsUserSmtp"), c("SendOnBehalfOfUserSmtp"), c("UserId")
    ).str.to_lowercase()
    return {
        **common(c, "Exchange mailbox audit (Activity API)"),
        "class_uid": pl.when(is_send).then(4009).otherwise(6003),
        "activity_id": pl.when(is_send).then(1).otherwise(verb_activity(operation)),
        "status_id": pl.when(
            c("ResultStatus").str.to_lowercase().is_in(["succeeded", "success", "true"])
        )
        .then(1)
        .when(c("ResultStatus").is_null())
        .then(0)
        .otherwise(2),
        "message": pl.format("{} by {} on {}", operation, c("UserId"), owner),
        "actor": pl.when(~is_send).then(obj("actor", user=actor_user(c), app_uid=app_id)),
        "api": pl.when(~is_send).then(
            obj(
                "api",
                operation=operation,
                service={"name": pl.lit("Exchange Online")},
                request={"uid": c("SessionId")},
            )
        ),
        "resources": pl.when(~is_send).then(resources),
        "email": pl.when(is_send).then(
            obj(
                "email",
                uid=item.struct.field("Id"),
                message_uid=item.struct.field("InternetMessageId"),
                subject=item.struct.field("Subject"),
                from_=sender,
                size=item.struct.field("SizeInBytes"),
            )
        ),
        "direction_id": pl.when(is_send).then(2),
        "src_endpoint": endpoint(pl.coalesce(c("ClientIPAddress"), c("ClientIP")), True),
        "http_request": obj("http_request", user_agent=blank_to_null(c("ClientInfoString"))),
        "unmapped": pl.struct(
            MailAccessType=access,
            IsThrottled=name_value(c("OperationProperties"), "IsThrottled"),
            LogonType=c("LogonType"),
            ClientAppId=blank_to_null(c("ClientAppId")),
            MailboxOwnerUPN=c("MailboxOwnerUPN"),
            OperationCount=c("OperationCount"),
            InternetMessageIds=message_ids,
        ).struct.json_encode(),
    }
