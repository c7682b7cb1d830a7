"""Office 365 Management Activity API records (the unified audit log), with their quirks.

Reference: learn.microsoft.com/office/office-365-management-api/
office-365-management-activity-api-schema,
and records observed in real tenants:

- ``CreationTime`` has no time zone (``2024-02-01T16:07:34``);
- directory operations end with a period (``Add user.``), except the credential operation,
  spelled ``Update application – Certificates and secrets management `` (en dash, trailing space);
- sign-in records (RecordType 15) may say ``ResultStatus: Success`` for a failed sign-in: the
  outcome is in ``ErrorNumber`` / ``LogonError``;
- Exchange cmdlet records carry ``Parameters`` as ``{Name, Value}`` lists and ``ClientIP`` with a
  port (``18.159.234.121:30395``);
- ``MailItemsAccessed`` (RecordType 50) names the client in ``ClientInfoString`` and the OAuth
  app in ``AppId`` / ``ClientAppId``.
"""

from __future__ import annotations

import random
import zlib
from datetime import datetime
from typing import Any

import orjson

from tenantwatch.emulator.activities import (
    Activity,
    DirectoryAudit,
    ExchangeAdmin,
    FileActivity,
    MailItemsAccessed,
    SignIn,
    TeamsActivity,
    derived_id,
)
from tenantwatch.emulator.directory import SimApp, SimUser

__all__ = ["CONTENT_TYPES", "content_type_of", "ual_operation", "ual_record", "ual_time"]

CONTENT_TYPES = (
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
    "DLP.All",
)
PORTAL_APP_ID = "00000006-0000-0ff1-ce00-000000000000"  # Microsoft Office 365 Portal
CATEGORY_OF = {
    "UserManagement": "User",
    "ApplicationManagement": "Application",
    "RoleManagement": "Role",
    "GroupManagement": "Group",
    "Policy": "Policy",
    "DirectoryManagement": "Directory",
}


def ual_time(value: datetime) -> str:
    """``CreationTime`` as the Activity API writes it: UTC, seconds, no ``Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def ual_operation(graph_name: str) -> str:
    """The Activity API's spelling of a directory operation named ``graph_name`` by Graph."""
    if graph_name == "Update application – Certificates and secrets management":
        return graph_name + " "
    return graph_name + "."


def content_type_of(activity: Activity) -> str | None:
    """The content type that carries ``activity``, or ``None`` if the Activity API has no record
    of it (non-interactive and service-principal sign-ins are in Entra's logs only)."""
    if isinstance(activity, SignIn):
        interactive_user = activity.event_type == "interactiveUser" and activity.user is not None
        return "Audit.AzureActiveDirectory" if interactive_user else None
    if isinstance(activity, DirectoryAudit):
        return "Audit.AzureActiveDirectory"
    if isinstance(activity, ExchangeAdmin | MailItemsAccessed):
        return "Audit.Exchange"
    if isinstance(activity, FileActivity):
        return "Audit.SharePoint"
    return "Audit.General"


def ual_record(activity: Activity, tenant_id: str, domain: str) -> dict[str, Any]:
    """The Activity API record of ``activity``."""
    if isinstance(activity, SignIn):
        return _sts_logon(activity, tenant_id)
    if isinstance(activity, DirectoryAudit):
        return _directory(activity, tenant_id)
    if isinstance(activity, ExchangeAdmin):
        return _exchange_admin(activity, tenant_id, domain)
    if isinstance(activity, MailItemsAccessed):
        return _mail_items_accessed(activity, tenant_id, domain)
    if isinstance(activity, FileActivity):
        return _file(activity, tenant_id)
    return _teams(activity, tenant_id)


def _base(
    record_id: str, when: datetime, operation: str, record_type: int, tenant_id: str
) -> dict[str, Any]:
    return {
        "CreationTime": ual_time(when),
        "Id": record_id,
        "Operation": operation,
        "OrganizationId": tenant_id,
        "RecordType": record_type,
    }


def _sts_logon(s: SignIn, tenant_id: str) -> dict[str, Any]:
    assert s.user is not None
    failed = s.error_code != 0
    # About half of the failed sign-ins in real feeds say ResultStatus "Success": only the HTTP
    # call succeeded. The outcome is ErrorNumber / LogonError.
    quirk = random.Random(s.id).random() < 0.5
    record = _base(s.ual_id, s.time, "UserLoginFailed" if failed else "UserLoggedIn", 15, tenant_id)
    device = s.device
    device_properties = [
        {
            "Name": "OS",
            "Value": (device.operating_system if device else "Windows10").replace(" ", ""),
        },
        {"Name": "BrowserType", "Value": (device.browser.split(" ")[0] if device else "Other")},
    ]
    if device is not None:
        device_properties.append(
            {
                "Name": "IsCompliantAndManaged",
                "Value": str(device.is_compliant and device.is_managed),
            }
        )
    if s.session_id:
        device_properties.append({"Name": "SessionId", "Value": s.session_id})
    extended = [
        {"Name": "ResultStatusDetail", "Value": "UserError" if failed else "Success"},
        {"Name": "UserAgent", "Value": s.user_agent},
    ]
    if not s.mfa_required:
        extended.append({"Name": "UserAuthenticationMethod", "Value": "1"})
    # An MFA sign-in's record is the strong-authentication step (SAS:ProcessAuth); legacy and
    # ROPC clients show the BAV2ROPC agent
    request = "Login:login" if failed or not s.mfa_required else "SAS:ProcessAuth"
    if s.protocol == "ropc" or s.client_app not in ("Browser", "Mobile Apps and Desktop clients"):
        extended[1] = {"Name": "UserAgent", "Value": "BAV2ROPC"}
    extended.append({"Name": "RequestType", "Value": request})
    record.update(
        {
            "ResultStatus": ("Success" if quirk else "Failed") if failed else "Success",
            "UserKey": s.user.object_id,
            "UserType": 0,
            "Version": 1,
            "Workload": "AzureActiveDirectory",
            "ClientIP": s.ip,
            "ObjectId": "Unknown" if failed else s.resource.app_id,
            "UserId": s.user.upn,
            "AzureActiveDirectoryEventType": 1,
            "ExtendedProperties": extended,
            "ModifiedProperties": [],
            "Actor": [{"ID": s.user.object_id, "Type": 0}, {"ID": s.user.upn, "Type": 5}],
            "ActorContextId": tenant_id,
            "ActorIpAddress": s.ip,
            "InterSystemsId": s.correlation_id,
            "IntraSystemId": s.id,
            "SupportTicketId": "",
            "Target": [{"ID": "Unknown" if failed else s.resource.app_id, "Type": 0}],
            "TargetContextId": tenant_id,
            "ApplicationId": s.app.app_id,
            "DeviceProperties": device_properties,
            "ErrorNumber": str(s.error_code),
        }
    )
    if failed:
        record["LogonError"] = s.logon_error
    return record


def _actor_ids(user: SimUser | None, app: SimApp | None) -> list[dict[str, Any]]:
    if user is not None:
        return [
            {"ID": user.upn, "Type": 5},
            {"ID": user.puid, "Type": 3},
            {"ID": PORTAL_APP_ID, "Type": 2},
            {"ID": f"User_{user.object_id}", "Type": 2},
            {"ID": user.object_id, "Type": 2},
            {"ID": "User", "Type": 2},
        ]
    assert app is not None
    return [
        {"ID": app.display_name, "Type": 1},
        {"ID": app.app_id, "Type": 2},
        {"ID": f"ServicePrincipal_{app.sp_object_id}", "Type": 2},
        {"ID": app.sp_object_id, "Type": 2},
        {"ID": "ServicePrincipal", "Type": 2},
    ]


def _target_ids(
    target_type: str, object_id: str, name: str, upn: str | None
) -> list[dict[str, Any]]:
    ids: list[dict[str, Any]] = [
        {"ID": f"{target_type}_{object_id}", "Type": 2},
        {"ID": object_id, "Type": 2},
        {"ID": target_type, "Type": 2},
    ]
    if upn:
        ids.append({"ID": upn, "Type": 5})
    elif name:
        ids.append({"ID": name, "Type": 1})
    return ids


def _directory(a: DirectoryAudit, tenant_id: str) -> dict[str, Any]:
    record = _base(a.id, a.time, ual_operation(a.operation), 8, tenant_id)
    user, app = a.actor_user, a.actor_app
    details: dict[str, str] = {}
    if a.user_agent:
        details["User-Agent"] = a.user_agent
    details.update(a.additional)
    first = a.targets[0] if a.targets else None
    record.update(
        {
            "ResultStatus": "Success" if a.result == "success" else "Failure",
            "UserKey": f"{user.puid}@{user.upn.split('@')[-1]}" if user else "Not Available",
            "UserType": 0 if user else 4,
            "Version": 1,
            "Workload": "AzureActiveDirectory",
            "ObjectId": (first.upn or first.id) if first else "",
            "UserId": user.upn if user else f"ServicePrincipal_{app.sp_object_id if app else ''}",
            "AzureActiveDirectoryEventType": 1,
            "ExtendedProperties": [
                {"Name": "additionalDetails", "Value": orjson.dumps(details).decode()},
                {
                    "Name": "extendedAuditEventCategory",
                    "Value": CATEGORY_OF.get(a.category, "Other"),
                },
            ],
            "ModifiedProperties": [
                {"Name": m.name, "NewValue": m.new_value, "OldValue": m.old_value}
                for t in a.targets
                for m in t.modified
            ],
            "Actor": _actor_ids(user, app),
            "ActorContextId": tenant_id,
            "InterSystemsId": a.correlation_id,
            "IntraSystemId": derived_id("intra", a.id),
            "SupportTicketId": "",
            "Target": [
                ident
                for t in a.targets
                for ident in _target_ids(t.type, t.id, t.display_name, t.upn)
            ],
            "TargetContextId": tenant_id,
        }
    )
    if a.ip:
        record["ClientIP"] = a.ip
        record["ActorIpAddress"] = a.ip
    return record


def _exchange_admin(e: ExchangeAdmin, tenant_id: str, domain: str) -> dict[str, Any]:
    record = _base(e.id, e.time, e.cmdlet, 1, tenant_id)
    record.update(
        {
            "ResultStatus": e.result,
            "UserKey": e.user.puid
            if e.user
            else "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)",
            "UserType": e.user_type,
            "Version": 1,
            "Workload": "Exchange",
            "ClientIP": e.client_ip,
            "ObjectId": e.object_id,
            "UserId": e.user.upn
            if e.user
            else "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)",
            "AppId": e.app_id,
            "ClientAppId": "",
            "ExternalAccess": e.external_access,
            "OrganizationName": domain,
            "OriginatingServer": e.originating_server,
            "Parameters": [{"Name": n, "Value": v} for n, v in e.parameters],
            "SessionId": e.session_id,
        }
    )
    return record


def _mail_items_accessed(m: MailItemsAccessed, tenant_id: str, domain: str) -> dict[str, Any]:
    record = _base(m.id, m.time, "MailItemsAccessed", 50, tenant_id)
    owner = m.mailbox_owner
    folders = [
        {
            "FolderItems": [
                {
                    "InternetMessageId": mid,
                    "SizeInBytes": 20_000 + zlib.crc32(mid.encode()) % 200_000,
                }
                for mid in messages
            ],
            "Id": f"LgAAAAC0AxwgOj/{zlib.crc32(path.encode()):010d}AAAAAAEMAAAB",
            "Path": path,
        }
        for path, messages in m.folders
    ]
    record.update(
        {
            "ResultStatus": "Succeeded",
            "UserKey": owner.puid if m.logon_type == 0 else m.user_id,
            "UserType": m.user_type,
            "Version": 1,
            "Workload": "Exchange",
            "UserId": m.user_id,
            "AppId": m.app_id,
            "ClientAppId": m.client_app_id,
            "ClientIPAddress": m.client_ip,
            "ClientInfoString": m.client_info,
            "ExternalAccess": False,
            "InternalLogonType": 0,
            "LogonType": m.logon_type,
            "LogonUserSid": owner.sid,
            "MailboxGuid": owner.mailbox_guid,
            "MailboxOwnerSid": owner.sid,
            "MailboxOwnerUPN": owner.upn,
            "OperationProperties": [
                {"Name": "MailAccessType", "Value": m.access_type},
                {"Name": "IsThrottled", "Value": str(m.throttled)},
            ],
            "OrganizationName": domain,
            "OriginatingServer": "CH0PR18MB5530 (15.20.4200.000)\r\n",
            "SessionId": m.session_id,
            "OperationCount": sum(len(f["FolderItems"]) for f in folders) or 1,
        }
    )
    if folders:
        record["Folders"] = folders
    return record


def _file(f: FileActivity, tenant_id: str) -> dict[str, Any]:
    record = _base(f.id, f.time, f.operation, f.record_type, tenant_id)
    ext = f.file_name.rsplit(".", 1)[-1] if "." in f.file_name else ""
    user = f.user
    record.update(
        {
            "UserKey": f"i:0h.f|membership|{user.puid.lower()}@live.com"
            if user
            else "app@sharepoint",
            "UserType": 0 if user else 5,
            "Version": 1,
            "Workload": f.workload,
            "ClientIP": f.client_ip,
            "ObjectId": f"{f.site_url}/{f.relative_url}/{f.file_name}",
            "UserId": user.upn if user else "app@sharepoint",
            "CorrelationId": derived_id("spo-correlation", f.id),
            "EventSource": "SharePoint",
            "ItemType": "File",
            "ListItemUniqueId": derived_id("spo-item", f.site_url + f.file_name),
            "Site": derived_id("spo-site", f.site_url),
            "UserAgent": f.user_agent,
            "WebId": derived_id("spo-web", f.site_url),
            "SiteUrl": f.site_url + "/",
            "SourceFileExtension": ext,
            "SourceFileName": f.file_name,
            "SourceRelativeUrl": f.relative_url,
            "GeoLocation": "NAM",
            "IsManagedDevice": False,
        }
    )
    if f.record_type == 14:
        record["UniqueSharingId"] = f.sharing_id or derived_id("share", f.id)
        if f.target_user:
            record["TargetUserOrGroupName"] = f.target_user
            record["TargetUserOrGroupType"] = f.target_type
        link = "View" if f.operation != "AnonymousLinkCreated" else "Edit"
        record["EventData"] = f"<Type>{link}</Type><MembersCanShare>True</MembersCanShare>"
    return record


def _teams(t: TeamsActivity, tenant_id: str) -> dict[str, Any]:
    record = _base(t.id, t.time, t.operation, 25, tenant_id)
    record.update(
        {
            "UserKey": t.user.object_id,
            "UserType": 0,
            "Version": 1,
            "Workload": "MicrosoftTeams",
            "ClientIP": t.client_ip,
            "UserId": t.user.upn,
        }
    )
    if t.team_name:
        record["TeamName"] = t.team_name
        record["TeamGuid"] = derived_id("team", t.team_name)
        record["CommunicationType"] = "Team"
    if t.members:
        record["Members"] = [
            {"DisplayName": m.split("@")[0], "Role": 1, "UPN": m} for m in t.members
        ]
    if t.operation == "TeamsSessionStarted":
        record["ExtraProperties"] = [
            {"Key": "OS", "Value": "Windows"},
            {"Key": "ClientName", "Value": "skypeteams"},
        ]
    return record
