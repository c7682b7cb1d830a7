"""Every record family the emulator serves carries the documented fields with their types.

Field sets: Management Activity API schema (learn.microsoft.com/office/office-365-management-api/
office-365-management-activity-api-schema), Graph signIn and directoryAudit resources.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tenantwatch.emulator.activities import DirectoryAudit, SignIn
from tenantwatch.emulator.render import (
    azure_monitor_record,
    content_type_of,
    graph_directory_audit,
    graph_signin,
    ual_record,
)
from tests.emulator.feed import NOW, Feed

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
GRAPH_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$")

COMMON = {
    "Id": str,
    "RecordType": int,
    "CreationTime": str,
    "Operation": str,
    "OrganizationId": str,
    "UserType": int,
    "UserKey": str,
    "Workload": str,
    "UserId": str,
}
NAME_VALUE = ("Name", "Value")
BY_RECORD_TYPE: dict[int, dict[str, Any]] = {
    15: {
        "ClientIP": str,
        "ErrorNumber": str,
        "ApplicationId": str,
        "ExtendedProperties": NAME_VALUE,
        "DeviceProperties": NAME_VALUE,
        "Actor": ("ID", "Type"),
        "Target": ("ID", "Type"),
        "ActorIpAddress": str,
        "AzureActiveDirectoryEventType": int,
        "ResultStatus": str,
    },
    8: {
        "ModifiedProperties": ("Name", "NewValue", "OldValue"),
        "Actor": ("ID", "Type"),
        "Target": ("ID", "Type"),
        "ExtendedProperties": NAME_VALUE,
        "ObjectId": str,
        "ResultStatus": str,
        "AzureActiveDirectoryEventType": int,
    },
    1: {
        "Parameters": NAME_VALUE,
        "ObjectId": str,
        "ClientIP": str,
        "ResultStatus": str,
        "ExternalAccess": bool,
        "OrganizationName": str,
        "OriginatingServer": str,
    },
    50: {
        "MailboxOwnerUPN": str,
        "MailboxGuid": str,
        "ClientInfoString": str,
        "LogonType": int,
        "ClientIPAddress": str,
        "AppId": str,
        "ClientAppId": str,
        "OperationProperties": NAME_VALUE,
        "OperationCount": int,
    },
    6: {
        "SiteUrl": str,
        "SourceFileName": str,
        "SourceRelativeUrl": str,
        "SourceFileExtension": str,
        "ClientIP": str,
        "UserAgent": str,
        "ObjectId": str,
        "ItemType": str,
        "EventSource": str,
    },
    14: {
        "SiteUrl": str,
        "SourceFileName": str,
        "UniqueSharingId": str,
        "EventData": str,
        "ClientIP": str,
    },
    25: {"ClientIP": str},
}
SIGNIN_V1 = {
    "id",
    "createdDateTime",
    "userDisplayName",
    "userPrincipalName",
    "userId",
    "appId",
    "appDisplayName",
    "ipAddress",
    "clientAppUsed",
    "correlationId",
    "conditionalAccessStatus",
    "isInteractive",
    "riskDetail",
    "riskLevelAggregated",
    "riskLevelDuringSignIn",
    "riskState",
    "riskEventTypes_v2",
    "resourceDisplayName",
    "resourceId",
    "status",
    "deviceDetail",
    "location",
    "appliedConditionalAccessPolicies",
    "authenticationRequirement",
    "signInEventTypes",
    "servicePrincipalId",
    "userAgent",
    "uniqueTokenIdentifier",
    "autonomousSystemNumber",
}
DIRECTORY_AUDIT = {
    "id",
    "category",
    "correlationId",
    "result",
    "resultReason",
    "activityDisplayName",
    "activityDateTime",
    "loggedByService",
    "operationType",
    "initiatedBy",
    "targetResources",
    "additionalDetails",
}


def _activities(feed: Feed) -> list[Any]:
    timeline = feed.tenant.timeline
    out: list[Any] = []
    hour = timeline.history_start
    while hour < NOW:
        out += timeline.activities(hour)
        hour += timedelta(hours=1)
    return out


def _check(record: dict[str, Any], spec: dict[str, Any]) -> None:
    for name, kind in spec.items():
        assert name in record, f"{record.get('Operation')}: missing {name}"
        value = record[name]
        if isinstance(kind, tuple):
            assert isinstance(value, list), name
            for item in value:
                assert set(kind) <= set(item), f"{name}: {item}"
        else:
            assert isinstance(value, kind), f"{name}={value!r} is not {kind.__name__}"


def test_every_activity_api_record_has_the_documented_fields(feed: Feed) -> None:
    seen: set[int] = set()
    tenant = feed.tenant
    for activity in _activities(feed):
        if content_type_of(activity) is None:
            continue
        record = ual_record(activity, tenant.tenant_id, tenant.directory.domain)
        _check(record, COMMON)
        _check(record, BY_RECORD_TYPE[record["RecordType"]])
        assert GUID.match(record["Id"])
        assert record["OrganizationId"] == tenant.tenant_id
        assert UAL_TIME.match(record["CreationTime"])
        if record["RecordType"] == 8:
            assert record["Operation"].endswith((".", "management "))
        seen.add(record["RecordType"])
    assert seen == set(BY_RECORD_TYPE)


def test_failed_sts_logons_carry_the_outcome_in_error_number_not_result_status(feed: Feed) -> None:
    tenant = feed.tenant
    failed = [
        ual_record(a, tenant.tenant_id, tenant.directory.domain)
        for a in _activities(feed)
        if isinstance(a, SignIn) and a.error_code and content_type_of(a)
    ]
    assert failed
    assert all(
        r["Operation"] == "UserLoginFailed" and r["ErrorNumber"] != "0" and r["LogonError"]
        for r in failed
    )
    assert {r["ResultStatus"] for r in failed} == {"Success", "Failed"}


def test_graph_records_have_the_documented_properties(feed: Feed) -> None:
    kinds = set()
    for activity in _activities(feed):
        if isinstance(activity, SignIn):
            record = graph_signin(activity)
            assert set(record) >= SIGNIN_V1
            assert GRAPH_TIME.match(record["createdDateTime"])
            assert isinstance(record["status"]["errorCode"], int)
            kinds.add(activity.event_type)
            monitor = azure_monitor_record(activity, feed.tenant.tenant_id)
            assert monitor["properties"]["id"] == activity.id
            assert monitor["resultType"] == str(activity.error_code)
        elif isinstance(activity, DirectoryAudit):
            record = graph_directory_audit(activity)
            assert set(record) >= DIRECTORY_AUDIT
            assert GRAPH_TIME.match(record["activityDateTime"])
            assert set(record["initiatedBy"]) == {"user", "app"}
    assert kinds == {"interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity"}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_same_seed_gives_the_same_tenant(seed: int) -> None:
    from tenantwatch.emulator import SimTenant

    def build() -> list[str]:
        t = SimTenant.build(
            seed=seed,
            users=30,
            start=NOW,
            history=timedelta(hours=2),
            scenarios=["midnight-blizzard"],
        )
        ids = [
            a.id
            for h in range(2)
            for a in t.timeline.activities(t.timeline.history_start + timedelta(hours=h))
        ]
        return [
            t.tenant_id,
            *ids,
            *(s["records"][0]["id"] for s in t.ground_truth_document()["stages"]),
        ]

    assert build() == build()
