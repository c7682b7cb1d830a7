"""The Activity API record fields tenantwatch reads (others stay in ``raw_data``), and the
RecordType families."""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "CMDLET",
    "DIRECTORY",
    "KNOWN",
    "MAILBOX",
    "SHAREPOINT",
    "STS_LOGON",
    "TEAMS",
    "UAL_SCHEMA",
]

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
