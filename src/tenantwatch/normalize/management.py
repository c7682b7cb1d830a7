"""Office 365 Management Activity API records (every RecordType) to OCSF.

One blob mixes record families, so the frame is split by ``RecordType`` and each family maps on
its own, then the parts are put back together:

========================  ==============================  ===================================
RecordType                 family                          OCSF class
========================  ==============================  ===================================
15, 9                      Entra sign-in (STS logon)       Authentication (3002)
8                          Entra directory change          by operation (3001/3004/3005/3006)
1, 18                      Exchange / compliance cmdlet    API Activity (6003); permission
                                                           cmdlets User Access Mgmt (3005)
50, 2, 3                   mailbox item activity           API Activity (6003); ``Send*`` Email
                                                           Activity (4009)
4, 6, 7, 14, 36            SharePoint / OneDrive           File Hosting Activity (6006)
25                         Microsoft Teams                 Group Management (3006) for members,
                                                           API Activity (6003) otherwise
anything else              any workload                    API Activity (6003), Operation kept
========================  ==============================  ===================================

Outcome of a sign-in comes from ``ErrorNumber`` / ``ErrorCode`` / ``LogonError``, never from
``ResultStatus`` (which says ``Success`` for failed sign-ins whose HTTP call succeeded).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pyarrow as pa

from tenantwatch.model.batch import RecordShape
from tenantwatch.normalize.columns import conform, json_object, obj, parse_time
from tenantwatch.normalize.derive import (
    blank_to_null,
    name_value,
    parse_ip,
    ual_user_type,
)
from tenantwatch.normalize.directory import MODIFIED, TARGET, DirectoryFields, directory_columns

__all__ = ["UAL_SCHEMA", "ManagementActivityMapper"]

S, INT = pa.string(), pa.int64()
NV = pa.list_(pa.struct([("Name", S), ("Value", S)]))
IDS = pa.list_(pa.struct([("ID", S), ("Type", INT)]))
UAL_SCHEMA = pa.schema(
    [
        ("Id", S),
        ("RecordType", INT),
        ("CreationTime", S),
        ("Operation", S),
        ("OrganizationId", S),
        ("UserType", INT),
        ("UserKey", S),
        ("Workload", S),
        ("ResultStatus", S),
        ("ObjectId", S),
        ("UserId", S),
        ("ClientIP", S),
        # Entra ID
        ("ExtendedProperties", NV),
        (
            "ModifiedProperties",
            pa.list_(pa.struct([("Name", S), ("NewValue", S), ("OldValue", S)])),
        ),
        ("Actor", IDS),
        ("Target", IDS),
        ("ActorIpAddress", S),
        ("InterSystemsId", S),
        ("IntraSystemId", S),
        ("ApplicationId", S),
        ("DeviceProperties", NV),
        ("ErrorNumber", S),
        ("ErrorCode", S),
        ("LogonError", S),
        ("LoginStatus", INT),
        # Exchange
        ("Parameters", NV),
        ("ExternalAccess", pa.bool_()),
        ("SessionId", S),
        ("AppId", S),
        ("ClientAppId", S),
        ("ClientIPAddress", S),
        ("ClientInfoString", S),
        ("LogonType", INT),
        ("MailboxGuid", S),
        ("MailboxOwnerUPN", S),
        ("OperationProperties", NV),
        ("OperationCount", INT),
        (
            "Folders",
            pa.list_(
                pa.struct(
                    [
                        ("Id", S),
                        ("Path", S),
                        (
                            "FolderItems",
                            pa.list_(pa.struct([("InternetMessageId", S), ("SizeInBytes", INT)])),
                        ),
                    ]
                )
            ),
        ),
        (
            "Item",
            pa.struct(
                [
                    ("Id", S),
                    ("Subject", S),
                    ("InternetMessageId", S),
                    ("SizeInBytes", INT),
                    ("ParentFolder", pa.struct([("Path", S)])),
                ]
            ),
        ),
        ("SendAsUserSmtp", S),
        ("SendOnBehalfOfUserSmtp", S),
        (
            "AppAccessContext",
            pa.struct(
                [
                    ("ClientAppId", S),
                    ("ClientAppName", S),
                    ("UniqueTokenId", S),
                    ("AADSessionId", S),
                ]
            ),
        ),
        # SharePoint / OneDrive
        ("SiteUrl", S),
        ("SourceFileName", S),
        ("SourceFileExtension", S),
        ("SourceRelativeUrl", S),
        ("UserAgent", S),
        ("ItemType", S),
        ("TargetUserOrGroupName", S),
        ("TargetUserOrGroupType", S),
        ("UniqueSharingId", S),
        ("ListItemUniqueId", S),
        # Teams
        ("TeamName", S),
        ("TeamGuid", S),
        ("Members", pa.list_(pa.struct([("DisplayName", S), ("UPN", S)]))),
    ]
)

STS_LOGON = (15, 9)
DIRECTORY = (8,)
CMDLET = (1, 18)
MAILBOX = (50, 2, 3)
SHAREPOINT = (4, 6, 7, 14, 36)
TEAMS = (25,)
KNOWN = (*STS_LOGON, *DIRECTORY, *CMDLET, *MAILBOX, *SHAREPOINT, *TEAMS)

FILE_ACTIVITIES = {
    "fileuploaded": 1,
    "filesyncuploadedfull": 1,
    "filedownloaded": 2,
    "filesyncdownloadedfull": 2,
    "filesyncdownloadedpartial": 2,
    "filemodified": 3,
    "filemodifiedextended": 3,
    "filedeleted": 4,
    "filedeletedfirststagerecyclebin": 4,
    "filerecycled": 4,
    "filerenamed": 5,
    "filecopied": 6,
    "filemoved": 7,
    "filerestored": 8,
    "filepreviewed": 9,
    "filecheckedout": 10,
    "filecheckedin": 11,
    "anonymouslinkcreated": 12,
    "companylinkcreated": 12,
    "securelinkcreated": 12,
    "sharinginvitationcreated": 12,
    "sharingset": 12,
    "addedtosecurelink": 12,
    "sharinginheritancebroken": 12,
    "anonymouslinkremoved": 13,
    "sharingrevoked": 13,
    "companylinkremoved": 13,
    "fileaccessed": 14,
    "fileaccessedextended": 14,
    "anonymouslinkused": 14,
    "companylinkused": 14,
}
# Exchange cmdlets that grant access: OCSF User Access Management (3005)
PERMISSION_CMDLETS = (
    "add-mailboxpermission",
    "add-recipientpermission",
    "add-mailboxfolderpermission",
    "new-managementroleassignment",
    "add-rolegroupmember",
)


def _verb_activity(operation: pl.Expr) -> pl.Expr:
    """API Activity's activity_id from a cmdlet or operation verb: New/Add 1, Get 2, Set 3,
    Remove 4, others 99."""
    verb = operation.str.to_lowercase().str.extract(r"^([a-z]+)", 1)
    return (
        pl.when(verb.is_in(["new", "add", "create", "enable"]))
        .then(1)
        .when(verb.is_in(["get", "search", "mailitemsaccessed", "read"]))
        .then(2)
        .when(verb.is_in(["set", "update", "disable", "move", "copy"]))
        .then(3)
        .when(verb.is_in(["remove", "delete", "softdelete", "harddelete"]))
        .then(4)
        .otherwise(99)
    )


def _actor_user(c: Callable[[str], pl.Expr]) -> pl.Expr:
    type_id, label = ual_user_type(c("UserType"), c("UserId"))
    return obj(
        "user",
        name=c("UserId").str.to_lowercase(),
        uid=c("UserKey"),
        type_id=type_id,
        type=label,
    )


def _common(c: Callable[[str], pl.Expr], feature: str) -> dict[str, pl.Expr]:
    return {
        "time": parse_time(c("CreationTime")),
        "metadata": obj(
            "metadata",
            uid=c("Id"),
            original_time=c("CreationTime"),
            event_code=c("Operation").str.strip_chars(),
            log_name=pl.concat_str([pl.lit("Audit."), c("Workload")]),
            product={
                "name": pl.lit("Microsoft 365 Unified Audit Log"),
                "vendor_name": pl.lit("Microsoft"),
                "feature": {"name": pl.lit(feature)},
            },
        ),
    }


def _endpoint(ip_text: pl.Expr, required: bool) -> pl.Expr:
    ip, port = parse_ip(ip_text)
    # API and file activity require src_endpoint; records without an address say so
    name = pl.when(ip.is_null()).then(pl.lit("unknown")) if required else None
    return obj("src_endpoint", ip=ip, port=port, name=name)


def _sts_logon(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    code = pl.coalesce(
        blank_to_null(c("ErrorNumber")),
        blank_to_null(c("ErrorCode")),
        c("LoginStatus").cast(pl.String),
        pl.when(c("Operation") == "UserLoggedIn").then(pl.lit("0")),
    )
    failed = (code != "0") | (c("Operation") == "UserLoginFailed") | c("LogonError").is_not_null()
    request_type = name_value(c("ExtendedProperties"), "RequestType").str.to_lowercase()
    agent = name_value(c("ExtendedProperties"), "UserAgent")
    protocol = (
        pl.when(agent == "BAV2ROPC")
        .then(pl.lit("ROPC"))
        .when(request_type.str.starts_with("oauth2") | request_type.str.starts_with("sas:"))
        .then(pl.lit("OAuth 2.0"))
        .when(request_type.str.starts_with("saml"))
        .then(pl.lit("SAML"))
        .when(request_type.str.starts_with("wsfederation"))
        .then(pl.lit("WS-Federation"))
        .when(request_type.str.starts_with("login"))
        .then(pl.lit("OAuth 2.0"))
        .otherwise(pl.lit("Unknown"))
    )
    return {
        **_common(c, "Entra ID sign-ins (Activity API)"),
        "class_uid": pl.lit(3002),
        "activity_id": pl.lit(1),
        "status_id": pl.when(failed).then(2).otherwise(1),
        "status": pl.when(failed).then(pl.lit("Failure")).otherwise(pl.lit("Success")),
        "status_code": code,
        "status_detail": blank_to_null(c("LogonError")),
        "message": pl.format(
            "Sign-in {} {}",
            pl.when(failed).then(pl.lit("failed for")).otherwise(pl.lit("by")),
            c("UserId").str.to_lowercase(),
        ),
        "user": obj(
            "user",
            name=c("UserId").str.to_lowercase(),
            uid=c("UserKey"),
            type_id=ual_user_type(c("UserType"), c("UserId"))[0],
            type=ual_user_type(c("UserType"), c("UserId"))[1],
        ),
        "actor": obj("actor", app_uid=c("ApplicationId")),
        "src_endpoint": _endpoint(pl.coalesce(c("ActorIpAddress"), c("ClientIP")), False),
        "http_request": obj(
            "http_request",
            user_agent=blank_to_null(name_value(c("ExtendedProperties"), "UserAgent")),
        ),
        "service": obj("service", uid=pl.when(c("ObjectId") != "Unknown").then(c("ObjectId"))),
        "session": obj("session", uid=name_value(c("DeviceProperties"), "SessionId")),
        "device": obj(
            "device",
            os={"name": name_value(c("DeviceProperties"), "OS")},
            is_compliant=name_value(c("DeviceProperties"), "IsCompliant").str.to_lowercase()
            == "true",
            is_managed=name_value(c("DeviceProperties"), "IsCompliantAndManaged").str.to_lowercase()
            == "true",
        ),
        "auth_protocol": protocol,
        "auth_protocol_id": pl.when(protocol == "OAuth 2.0")
        .then(6)
        .when(protocol == "SAML")
        .then(5)
        .when(protocol == "Unknown")
        .then(0)
        .otherwise(99),
        "logon_type_id": pl.lit(2),
        "logon_type": pl.lit("Interactive"),
        # The record has no documented MFA flag; the strong-authentication step (SAS:...) is MFA.
        # Anything else is unknown, not "no MFA".
        "is_mfa": pl.when(request_type.str.starts_with("sas:")).then(pl.lit(True)),
        "metadata": _common(c, "Entra ID sign-ins (Activity API)")["metadata"].struct.with_fields(
            correlation_uid=c("InterSystemsId")
        ),
        "unmapped": pl.struct(
            ResultStatus=c("ResultStatus"),
            RequestType=name_value(c("ExtendedProperties"), "RequestType"),
            ResultStatusDetail=name_value(c("ExtendedProperties"), "ResultStatusDetail"),
            UserAuthenticationMethod=name_value(
                c("ExtendedProperties"), "UserAuthenticationMethod"
            ),
            BrowserType=name_value(c("DeviceProperties"), "BrowserType"),
            IntraSystemId=c("IntraSystemId"),
        ).struct.json_encode(),
    }


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


def _directory(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
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


def _cmdlet(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
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
        **_common(c, "Exchange admin audit (Activity API)"),
        "class_uid": class_uid,
        "activity_id": pl.when(class_uid == 3005).then(1).otherwise(_verb_activity(operation)),
        "status_id": pl.when(
            c("ResultStatus").str.to_lowercase().is_in(["true", "succeeded", "success"])
        )
        .then(1)
        .when(c("ResultStatus").is_null())
        .then(0)
        .otherwise(2),
        "message": pl.format("{} by {}", operation, c("UserId")),
        "actor": pl.when(class_uid == 6003).then(
            obj("actor", user=_actor_user(c), app_uid=blank_to_null(c("AppId")))
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
        "src_endpoint": _endpoint(ip_text, True),
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


def _mailbox(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
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
        **_common(c, "Exchange mailbox audit (Activity API)"),
        "class_uid": pl.when(is_send).then(4009).otherwise(6003),
        "activity_id": pl.when(is_send).then(1).otherwise(_verb_activity(operation)),
        "status_id": pl.when(
            c("ResultStatus").str.to_lowercase().is_in(["succeeded", "success", "true"])
        )
        .then(1)
        .when(c("ResultStatus").is_null())
        .then(0)
        .otherwise(2),
        "message": pl.format("{} by {} on {}", operation, c("UserId"), owner),
        "actor": pl.when(~is_send).then(obj("actor", user=_actor_user(c), app_uid=app_id)),
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
        "src_endpoint": _endpoint(pl.coalesce(c("ClientIPAddress"), c("ClientIP")), True),
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


def _sharepoint(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    operation = c("Operation").str.strip_chars()
    activity = operation.str.to_lowercase().replace_strict(
        FILE_ACTIVITIES, default=None, return_dtype=pl.Int32
    )
    is_file = activity.is_not_null() & c("SourceFileName").is_not_null()
    site = c("SiteUrl").str.strip_chars_end("/")
    path = pl.concat_str(
        [site, pl.lit("/"), c("SourceRelativeUrl"), pl.lit("/"), c("SourceFileName")]
    )
    return {
        **_common(c, "SharePoint and OneDrive audit (Activity API)"),
        "class_uid": pl.when(is_file).then(6006).otherwise(6003),
        "activity_id": pl.when(is_file).then(activity).otherwise(_verb_activity(operation)),
        "status_id": pl.lit(1),
        "message": pl.format(
            "{} by {}: {}", operation, c("UserId"), pl.coalesce(c("SourceFileName"), c("ObjectId"))
        ),
        "actor": obj("actor", user=_actor_user(c)),
        "file": pl.when(is_file).then(
            obj(
                "file",
                name=c("SourceFileName"),
                path=path,
                uid=c("ListItemUniqueId"),
                type_id=pl.lit(1),
                ext=blank_to_null(c("SourceFileExtension")),
            )
        ),
        "api": pl.when(~is_file).then(
            obj("api", operation=operation, service={"name": c("Workload")})
        ),
        "resources": pl.when(~is_file).then(
            pl.concat_list([obj("resource", name=c("ObjectId"), type=c("ItemType"))])
        ),
        "src_endpoint": _endpoint(c("ClientIP"), True),
        "http_request": obj("http_request", user_agent=blank_to_null(c("UserAgent"))),
        "unmapped": pl.struct(
            Workload=c("Workload"),
            SiteUrl=c("SiteUrl"),
            TargetUserOrGroupName=c("TargetUserOrGroupName"),
            TargetUserOrGroupType=c("TargetUserOrGroupType"),
            UniqueSharingId=c("UniqueSharingId"),
            UserAgent=blank_to_null(c("UserAgent")),
        ).struct.json_encode(),
    }


def _teams(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    operation = c("Operation").str.strip_chars()
    membership = operation.is_in(["MemberAdded", "MemberRemoved"])
    first_member = c("Members").list.first()
    return {
        **_common(c, "Microsoft Teams audit (Activity API)"),
        "class_uid": pl.when(membership).then(3006).otherwise(6003),
        "activity_id": pl.when(operation == "MemberAdded")
        .then(3)
        .when(operation == "MemberRemoved")
        .then(4)
        .otherwise(_verb_activity(operation)),
        "status_id": pl.lit(1),
        "message": pl.format("{} by {}", operation, c("UserId")),
        "group": pl.when(membership).then(obj("group", uid=c("TeamGuid"), name=c("TeamName"))),
        "user": pl.when(membership).then(
            obj(
                "user",
                name=first_member.struct.field("UPN").str.to_lowercase(),
                full_name=first_member.struct.field("DisplayName"),
            )
        ),
        "actor": pl.when(~membership).then(obj("actor", user=_actor_user(c))),
        "api": pl.when(~membership).then(
            obj("api", operation=operation, service={"name": pl.lit("Microsoft Teams")})
        ),
        "src_endpoint": _endpoint(c("ClientIP"), True),
        "unmapped": pl.struct(TeamName=c("TeamName"), actor=c("UserId")).struct.json_encode(),
    }


def _generic(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    operation = c("Operation").str.strip_chars()
    return {
        **_common(c, "Unified audit log (Activity API)"),
        "class_uid": pl.lit(6003),
        "activity_id": _verb_activity(operation),
        "status_id": pl.when(
            c("ResultStatus").str.to_lowercase().is_in(["succeeded", "success", "true"])
        )
        .then(1)
        .when(c("ResultStatus").is_null())
        .then(0)
        .otherwise(2),
        "message": pl.format("{} by {}", operation, c("UserId")),
        "actor": obj("actor", user=_actor_user(c)),
        "api": obj("api", operation=operation, service={"name": c("Workload")}),
        "resources": pl.concat_list([obj("resource", name=c("ObjectId"))]),
        "src_endpoint": _endpoint(c("ClientIP"), True),
        "unmapped": pl.struct(
            RecordType=c("RecordType"), Workload=c("Workload")
        ).struct.json_encode(),
    }


FAMILIES: tuple[
    tuple[tuple[int, ...] | None, Callable[[Callable[[str], pl.Expr]], dict[str, pl.Expr]]], ...
] = (
    (STS_LOGON, _sts_logon),
    (DIRECTORY, _directory),
    (CMDLET, _cmdlet),
    (MAILBOX, _mailbox),
    (SHAREPOINT, _sharepoint),
    (TEAMS, _teams),
    (None, _generic),
)


class ManagementActivityMapper:
    """Maps a frame of Activity API records, whatever their RecordTypes."""

    shape = RecordShape.O365_MANAGEMENT
    schema = UAL_SCHEMA
    id_field = "Id"

    def map(self, raw: pl.DataFrame) -> pl.DataFrame:
        parts = []
        record_type = pl.col("RecordType")
        for types, family in FAMILIES:
            selector = (
                ~record_type.is_in(list(KNOWN)) | record_type.is_null()
                if types is None
                else record_type.is_in(list(types))
            )
            subset = raw.filter(selector)
            if subset.is_empty():
                continue
            mapped = subset.select(pl.col("_row"), pl.col("raw_data"), **family(pl.col))
            parts.append(conform(mapped, keep=("_row",)))
        return pl.concat(parts, how="vertical") if parts else raw.select(pl.col("_row", "raw_data"))
