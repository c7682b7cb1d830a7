"""Activity API records: the quirks of real feeds, family by family."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from tests.normalize.helpers import one, run

TENANT = "41463f53-8812-40f4-890f-865bf6e35190"


def _base(**fields: object) -> dict:
    record = {
        "CreationTime": "2024-01-10T09:12:44",
        "Id": "80c76bd2-9d81-4c57-a97a-accfc3443dca",
        "OrganizationId": TENANT,
        "UserType": 0,
        "UserKey": "10030000A1B2C3D4",
        "UserId": "Alice@Contoso.com",
    }
    record.update(fields)
    return record


def test_failed_sign_in_that_says_success_is_a_failure() -> None:
    e = one(
        "o365.management",
        _base(
            RecordType=15,
            Operation="UserLoginFailed",
            Workload="AzureActiveDirectory",
            ResultStatus="Success",
            ErrorNumber="50126",
            LogonError="InvalidUserNameOrPassword",
            ClientIP="[2001:db8::7]:443",
            ExtendedProperties=[{"Name": "UserAgent", "Value": "curl/8"}],
        ),
    )
    assert (e["class_uid"], e["status_id"], e["status_code"]) == (3002, 2, "50126")
    assert e["status_detail"] == "InvalidUserNameOrPassword"
    assert e["user"]["name"] == "alice@contoso.com"
    assert (e["src_endpoint"]["ip"], e["src_endpoint"]["port"]) == ("2001:db8::7", 443)
    assert e["time"] == datetime(2024, 1, 10, 9, 12, 44, tzinfo=UTC)  # no Z: UTC


def test_error_code_is_read_when_error_number_is_absent() -> None:
    e = one(
        "o365.management",
        _base(RecordType=15, Operation="UserLoginFailed", ErrorCode="50053", ClientIP="1.2.3.4"),
    )
    assert (e["status_id"], e["status_code"]) == (2, "50053")


def test_deprecated_account_logon_record_uses_login_status() -> None:
    e = one(
        "o365.management",
        _base(
            RecordType=9,
            Operation="PasswordLogonInitialAuthUsingPassword",
            ResultStatus="failed",
            LoginStatus=-2147217390,
            ClientIP="134.170.188.221",
        ),
    )
    assert (e["class_uid"], e["status_id"], e["status_code"]) == (3002, 2, "-2147217390")


def test_credential_operation_with_en_dash_and_trailing_space() -> None:
    e = one(
        "o365.management",
        _base(
            RecordType=8,
            Workload="AzureActiveDirectory",
            ResultStatus="Success",
            Operation="Update application – Certificates and secrets management ",
            Actor=[{"ID": "admin@contoso.com", "Type": 5}, {"ID": "User", "Type": 2}],
            Target=[
                {"ID": "Application_1", "Type": 2},
                {"ID": "8f0b9a0c-1d2e-4f3a-9b8c-7d6e5f4a3b2c", "Type": 2},
                {"ID": "Application", "Type": 2},
                {"ID": "legacy-test-app", "Type": 1},
            ],
            ModifiedProperties=[
                {"Name": "KeyDescription", "NewValue": "[KeyType=Password]", "OldValue": "[]"}
            ],
        ),
    )
    assert (e["class_uid"], e["activity_id"]) == (3004, 3)
    assert e["entity"]["name"] == "legacy-test-app"
    assert e["entity"]["type"] == "Application"
    assert e["actor"]["user"]["name"] == "admin@contoso.com"
    assert e["metadata"]["event_code"] == "Update application – Certificates and secrets management"


def test_exchange_cmdlet_parameters_and_ip_with_port() -> None:
    e = one(
        "o365.management",
        _base(
            RecordType=1,
            Workload="Exchange",
            Operation="New-InboxRule",
            ResultStatus="True",
            UserType=2,
            ClientIP="18.159.234.121:30395",
            ObjectId="alice\\fwd",
            Parameters=[
                {"Name": "ForwardTo", "Value": "x@evil.example"},
                {"Name": "DeleteMessage", "Value": "True"},
            ],
        ),
    )
    assert (e["class_uid"], e["activity_id"]) == (6003, 1)
    assert e["api"]["operation"] == "New-InboxRule"
    assert orjson.loads(e["api"]["request"]["data"]) == {
        "ForwardTo": "x@evil.example",
        "DeleteMessage": "True",
    }
    assert (e["src_endpoint"]["ip"], e["src_endpoint"]["port"]) == ("18.159.234.121", 30395)
    assert e["actor"]["user"]["type"] == "Admin"


def test_permission_cmdlets_are_user_access_management() -> None:
    e = one(
        "o365.management",
        _base(
            RecordType=1,
            Workload="Exchange",
            Operation="New-ManagementRoleAssignment",
            ResultStatus="True",
            Parameters=[
                {"Name": "Role", "Value": "ApplicationImpersonation"},
                {"Name": "User", "Value": "svc@contoso.com"},
            ],
        ),
    )
    assert (e["class_uid"], e["activity_id"]) == (3005, 1)
    assert e["privileges"] == ["ApplicationImpersonation"]
    assert e["user"]["name"] == "svc@contoso.com"


def test_mail_items_accessed_by_an_app_over_ews() -> None:
    e = one(
        "o365.management",
        _base(
            RecordType=50,
            Workload="Exchange",
            Operation="MailItemsAccessed",
            ResultStatus="Succeeded",
            AppId="47629505-c2b6-4a80-adb1-9b3a3d233b7b",
            ClientAppId="47629505-c2b6-4a80-adb1-9b3a3d233b7b",
            ClientIPAddress="120.1.121.35",
            MailboxOwnerUPN="CEO@Contoso.com",
            LogonType=0,
            ClientInfoString="Client=WebServices;ExchangeWebServices/CrossSite/EXCH/15.20/python-requests/2.25.1;",
            OperationProperties=[
                {"Name": "MailAccessType", "Value": "Bind"},
                {"Name": "IsThrottled", "Value": "False"},
            ],
            Folders=[
                {
                    "Id": "f1",
                    "Path": "\\Inbox",
                    "FolderItems": [{"InternetMessageId": "<m1@x>", "SizeInBytes": 44329}],
                }
            ],
        ),
    )
    assert (e["class_uid"], e["activity_id"]) == (6003, 2)
    assert e["actor"]["app_uid"] == "47629505-c2b6-4a80-adb1-9b3a3d233b7b"
    assert e["http_request"]["user_agent"].startswith("Client=WebServices;ExchangeWebServices")
    assert {(r["type"], r["name"]) for r in e["resources"]} == {
        ("Mailbox", "ceo@contoso.com"),
        ("Folder", "\\Inbox"),
    }
    unmapped = orjson.loads(e["unmapped"])
    assert unmapped["MailAccessType"] == "Bind"
    assert unmapped["InternetMessageIds"] == ["<m1@x>"]


def test_send_is_email_activity() -> None:
    e = one(
        "o365.management",
        _base(
            RecordType=2,
            Workload="Exchange",
            Operation="Send",
            ResultStatus="Succeeded",
            ClientIP="1.2.3.4",
            Item={
                "Id": "i1",
                "Subject": "Invoice",
                "InternetMessageId": "<s1@x>",
                "SizeInBytes": 2048,
            },
        ),
    )
    assert (e["class_uid"], e["activity_id"], e["direction_id"]) == (4009, 1, 2)
    assert e["email"]["subject"] == "Invoice"
    assert e["email"]["from"] == "alice@contoso.com"


def test_sharepoint_download_and_anonymous_link() -> None:
    common = {
        "Workload": "SharePoint",
        "ClientIP": "203.0.113.9",
        "SiteUrl": "https://contoso.sharepoint.com/sites/Finance/",
        "SourceRelativeUrl": "Shared Documents",
        "SourceFileName": "Budget.xlsx",
        "SourceFileExtension": "xlsx",
        "UserAgent": "rclone/v1.65.0",
    }
    down = one("o365.management", _base(RecordType=6, Operation="FileDownloaded", **common))
    assert (down["class_uid"], down["activity_id"], down["activity_name"]) == (6006, 2, "Download")
    assert (
        down["file"]["path"]
        == "https://contoso.sharepoint.com/sites/Finance/Shared Documents/Budget.xlsx"
    )
    assert orjson.loads(down["unmapped"])["UserAgent"] == "rclone/v1.65.0"
    share = one(
        "o365.management",
        _base(RecordType=14, Operation="AnonymousLinkCreated", Id="s-1", **common),
    )
    assert (share["class_uid"], share["activity_id"], share["activity_name"]) == (6006, 12, "Share")


def test_teams_membership_is_group_management() -> None:
    e = one(
        "o365.management",
        _base(
            RecordType=25,
            Workload="MicrosoftTeams",
            Operation="MemberAdded",
            ClientIP="1.2.3.4",
            TeamName="Finance Team",
            TeamGuid="t-1",
            Members=[{"DisplayName": "Bob", "UPN": "Bob@contoso.com"}],
        ),
    )
    assert (e["class_uid"], e["activity_id"]) == (3006, 3)
    assert e["group"]["name"] == "Finance Team"
    assert e["user"]["name"] == "bob@contoso.com"


def test_unknown_record_type_is_api_activity_with_its_operation() -> None:
    e = one(
        "o365.management",
        _base(
            RecordType=181, Workload="Copilot", Operation="CopilotInteraction", ClientIP="1.2.3.4"
        ),
    )
    assert (e["class_uid"], e["api"]["operation"], e["api"]["service"]["name"]) == (
        6003,
        "CopilotInteraction",
        "Copilot",
    )


def test_service_principal_and_system_actors() -> None:
    sp = one(
        "o365.management",
        _base(
            RecordType=1,
            Workload="Exchange",
            Operation="Set-Mailbox",
            UserType=4,
            UserId="ServicePrincipal_8a6f",
            ClientIP="1.2.3.4",
        ),
    )
    assert sp["actor"]["user"]["type"] == "Service Principal"
    system = one(
        "o365.management",
        _base(
            RecordType=1,
            Workload="Exchange",
            Operation="Set-Mailbox",
            UserType=0,
            UserId="NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)",
        ),
    )
    assert system["actor"]["user"]["type"] == "System"
    assert (
        system["src_endpoint"]["name"] == "unknown"
    )  # required by API Activity, absent in the record


def test_a_mixed_blob_keeps_every_record_in_order() -> None:
    records = [
        _base(
            RecordType=15, Operation="UserLoggedIn", Id=f"a{i}", ErrorNumber="0", ClientIP="1.1.1.1"
        )
        if i % 3 == 0
        else _base(
            RecordType=6,
            Operation="FileAccessed",
            Id=f"a{i}",
            Workload="OneDrive",
            SourceFileName="x.docx",
            SiteUrl="https://c-my.sharepoint.com/personal/a",
            SourceRelativeUrl="Documents",
            ClientIP="1.1.1.1",
        )
        if i % 3 == 1
        else _base(
            RecordType=50, Operation="MailItemsAccessed", Id=f"a{i}", ClientIPAddress="1.1.1.1"
        )
        for i in range(30)
    ]
    batch = run("o365.management", *records)
    assert not batch.quarantined
    assert batch.events["metadata"].struct.field("uid").to_list() == [f"a{i}" for i in range(30)]
