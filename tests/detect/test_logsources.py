"""SigmaHQ's Microsoft logsources on tenantwatch's events: which events a rule selects and where
its field names read, for records in every shape Microsoft writes them (Graph, Azure Monitor,
the Activity API). Every check runs both engines."""

from __future__ import annotations

import copy
import textwrap
from typing import Any

import orjson
import polars as pl
import pytest

from tenantwatch.detect import RuleSet
from tenantwatch.detect.fields import EventView
from tenantwatch.errors import RuleError
from tenantwatch.model.batch import RawBatch
from tenantwatch.normalize import normalize_many
from tenantwatch.sources.files import detect_shape
from tests.detect.helpers import T0

TENANT = "2f4a9c3e-0000-4000-8000-000000000001"

SIGNIN: dict[str, Any] = {
    "id": "6c1f6b3e-9d0a-4a8e-8c52-6f1c0b2a0001",
    "createdDateTime": "2026-01-12T09:00:00Z",
    "userDisplayName": "Legacy Test Account",
    "userPrincipalName": "svc-legacy-test@contoso.com",
    "userId": "0d2c1b8a-1111-4a22-9c33-444455556666",
    "appId": "4765445b-32c6-49b0-83e6-1d93765276ca",
    "appDisplayName": "OfficeHome",
    "ipAddress": "177.32.14.9",
    "clientAppUsed": "Browser",
    "correlationId": "a7e4d2c1-0000-4000-8000-00000000c0de",
    "conditionalAccessStatus": "notApplied",
    "isInteractive": True,
    "resourceDisplayName": "Office 365 Exchange Online",
    "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None},
    "deviceDetail": {
        "deviceId": "",
        "displayName": "",
        "operatingSystem": "Windows10",
        "browser": "Edge 120.0.0",
        "isCompliant": False,
        "isManaged": False,
        "trustType": "",
    },
    "location": {"city": "Sao Paulo", "state": "Sao Paulo", "countryOrRegion": "BR"},
    "authenticationRequirement": "singleFactorAuthentication",
    "authenticationProtocol": "none",
    "signInEventTypes": ["interactiveUser"],
    "userType": "member",
}


def _azure_monitor(signin: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": "2026-01-12T09:00:00.0000000Z",
        "resourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "category": "SignInLogs",
        "tenantId": TENANT,
        "resultType": str(signin["status"]["errorCode"]),
        "resultDescription": signin["status"]["failureReason"],
        "callerIpAddress": signin["ipAddress"],
        "correlationId": signin["correlationId"],
        "location": signin["location"]["countryOrRegion"],
        "properties": {**signin, "createdDateTime": "2026-01-12T09:00:00+00:00"},
    }


AUDIT: dict[str, Any] = {
    "id": "Directory_4f0c_0001",
    "category": "UserManagement",
    "correlationId": "a7e4d2c1-0000-4000-8000-00000000a0d1",
    "result": "success",
    "resultReason": "",
    "activityDisplayName": "Update user",
    "activityDateTime": "2026-01-12T09:05:00Z",
    "loggedByService": "Core Directory",
    "operationType": "Update",
    "initiatedBy": {
        "user": {
            "id": "9b1c0000-0000-4000-8000-000000000001",
            "userPrincipalName": "admin@contoso.com",
            "ipAddress": "12.10.4.4",
        },
        "app": None,
    },
    "targetResources": [
        {
            "id": "0d2c1b8a-1111-4a22-9c33-444455556666",
            "displayName": "Legacy Test Account",
            "type": "User",
            "userPrincipalName": "svc-legacy-test@contoso.com",
            "modifiedProperties": [
                {"displayName": "JobTitle", "oldValue": "[]", "newValue": '["Tester"]'},
                {
                    "displayName": "StrongAuthenticationRequirement",
                    "oldValue": '[{"RelyingParty":"*","State":1}]',
                    "newValue": '[{"RelyingParty":"*","State":0}]',
                },
            ],
        },
    ],
    "additionalDetails": [{"key": "UserType", "value": "Member"}],
}


def _events(*records: dict[str, Any]) -> pl.DataFrame:
    batches = [
        RawBatch("t", "s", "x", detect_shape(r) or "?", [orjson.dumps(r)], T0) for r in records
    ]
    batch = normalize_many(batches)
    assert not batch.quarantined, batch.quarantined
    return batch.events


def _rule(logsource: str, detection: str) -> str:
    return textwrap.dedent(
        """\
        title: t
        id: 0a0a0a0a-0000-4000-8000-000000000001
        logsource:
        {logsource}
        detection:
        {detection}
        level: low
        """
    ).format(
        logsource=textwrap.indent(textwrap.dedent(logsource), "  "),
        detection=textwrap.indent(textwrap.dedent(detection), "  "),
    )


def _matches(rule_text: str, events: pl.DataFrame) -> list[bool]:
    """Per event: does the rule match? (both engines, asserted equal)"""
    ruleset = RuleSet.from_texts([("t.yml", rule_text)])
    assert not ruleset.errors, ruleset.errors
    (rule,) = ruleset.rules
    vectorized = ruleset.prepare(events).select(rule.expr.fill_null(False)).to_series().to_list()
    oracle = [
        rule.logsource.accepts(row) and rule.predicate(EventView(row)) for row in events.to_dicts()
    ]
    assert vectorized == oracle
    return vectorized


SIGNINLOGS = "product: azure\nservice: signinlogs"
AUDITLOGS = "product: azure\nservice: auditlogs"


def test_a_signinlogs_rule_reads_graph_and_azure_monitor_records_alike() -> None:
    events = _events(SIGNIN, _azure_monitor(SIGNIN))
    rule = _rule(
        SIGNINLOGS,
        """\
        selection:
          ResultType: 0
          AuthenticationRequirement: singleFactorAuthentication
          properties.appId: 4765445b-32c6-49b0-83e6-1d93765276ca
          Location: BR
        condition: selection
        """,
    )
    assert _matches(rule, events) == [True, True]


def test_field_names_match_whatever_their_case() -> None:
    events = _events(SIGNIN, _azure_monitor(SIGNIN))
    for name in ("DeviceDetail.trusttype", "deviceDetail.trustType", "devicedetail.TRUSTTYPE"):
        rule = _rule(SIGNINLOGS, f"selection:\n  {name}: ''\ncondition: selection")
        assert _matches(rule, events) == [True, True], name


def test_signinlogs_rules_do_not_select_other_logs() -> None:
    audit = _events(AUDIT)
    rule = _rule(SIGNINLOGS, "selection:\n  ResultType: 0\ncondition: selection")
    assert _matches(rule, audit) == [False]


def test_keys_that_cross_lists_read_every_element() -> None:
    events = _events(
        AUDIT,
        {
            "category": "AuditLogs",
            "properties": AUDIT,
            "operationName": "Update user",
            "time": "2026-01-12T09:05:00Z",
            "tenantId": TENANT,
        },
    )
    rule = _rule(
        AUDITLOGS,
        """\
        selection:
          TargetResources.ModifiedProperties.DisplayName: StrongAuthenticationRequirement
          TargetResources.ModifiedProperties.NewValue|contains: 'State":0'
          Category: UserManagement
          OperationName: Update user
        condition: selection
        """,
    )
    assert _matches(rule, events) == [True, True]
    other = copy.deepcopy(AUDIT)
    other["targetResources"][0]["modifiedProperties"] = other["targetResources"][0][
        "modifiedProperties"
    ][:1]
    assert _matches(rule, _events(other)) == [False]


def test_a_field_read_from_several_places_matches_any_and_is_missing_only_if_all_are() -> None:
    failed = copy.deepcopy(SIGNIN)
    failed["status"] = {
        "errorCode": 500121,
        "failureReason": "Authentication failed",
        "additionalDetails": "MFA denied; user declined the authentication",
    }
    events = _events(SIGNIN, failed)
    # Status is the OCSF outcome and Entra's status object: either can match
    assert _matches(_rule(SIGNINLOGS, "s:\n  Status: Success\ncondition: s"), events) == [
        True,
        False,
    ]
    assert _matches(
        _rule(SIGNINLOGS, "s:\n  Status|contains: MFA denied\ncondition: s"), events
    ) == [False, True]
    assert _matches(_rule(SIGNINLOGS, "s:\n  Status: null\ncondition: s"), events) == [False, False]
    assert _matches(_rule(SIGNINLOGS, "s:\n  Status|exists: true\ncondition: s"), events) == [
        True,
        True,
    ]


def test_a_record_that_is_not_json_does_not_stop_the_batch() -> None:
    events = _events(SIGNIN, SIGNIN | {"id": "6c1f6b3e-9d0a-4a8e-8c52-6f1c0b2a0002"})
    events = events.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("not json {"))
        .otherwise(pl.col("raw_data"))
        .alias("raw_data")
    )
    rule = _rule(SIGNINLOGS, "s:\n  clientAppUsed: Browser\ncondition: s")
    assert _matches(rule, events) == [False, True]


def test_an_unsupported_logsource_names_the_supported_ones() -> None:
    ruleset = RuleSet.from_texts(
        [("r.yml", _rule("product: aws\nservice: cloudtrail", "s:\n  a: 1\ncondition: s"))]
    )
    (error,) = ruleset.errors
    assert error.path == "r.yml"
    assert error.line == 3
    assert "azure/signinlogs" in error.reason
    assert "m365/audit" in error.reason


def test_placeholders_take_their_values_or_are_reported() -> None:
    text = _rule(SIGNINLOGS, "s:\n  Location|expand: '%Known_Location%'\ncondition: not s")
    missing = RuleSet.from_texts([("p.yml", text)])
    (error,) = missing.errors
    assert "%Known_Location%" in error.reason
    assert "placeholders" in error.reason
    given = RuleSet.from_texts([("p.yml", text)], placeholders={"Known_Location": ["US", "DE"]})
    assert not given.errors
    (rule,) = given.rules
    events = _events(SIGNIN)
    assert rule.matches(events.to_dicts()[0])  # BR is not a known location


def test_correlation_aliases_and_chains_are_checked() -> None:
    base = """\
title: a
name: a
logsource: {product: ocsf, category: authentication}
detection: {s: {status_id: 1}, condition: s}
---
title: b
name: b
logsource: {product: ocsf, category: account_change}
detection: {s: {status_id: 1}, condition: s}
---
"""
    wrong_group = (
        base
        + """\
title: c
name: c
correlation: {type: temporal, rules: [a, b], group-by: [user.name], timespan: 1h}
---
title: d
name: d
correlation: {type: temporal, rules: [c, a], group-by: [src_endpoint.ip], timespan: 2h}
"""
    )
    ruleset = RuleSet.from_texts([("c.yml", wrong_group)])
    (error,) = ruleset.errors
    assert "not grouped by correlation 'c'" in error.reason
    cycle = (
        base
        + """\
title: e
name: e
correlation: {type: temporal, rules: [f, a], group-by: [user.name], timespan: 1h}
---
title: f
name: f
correlation: {type: temporal, rules: [e, b], group-by: [user.name], timespan: 1h}
"""
    )
    ruleset = RuleSet.from_texts([("cycle.yml", cycle)])
    assert len(ruleset.errors) == 2
    assert all("cycle" in e.reason for e in ruleset.errors)


def test_rule_errors_name_the_file_and_line() -> None:
    bad_field = _rule(
        "product: ocsf\ncategory: authentication", "s:\n  src_endpoint.ipp: 1\ncondition: s"
    )
    (error,) = RuleSet.from_texts([("f.yml", bad_field)]).errors
    assert error.path == "f.yml"
    assert error.line == 8  # the line of the misspelt field
    assert "did you mean 'src_endpoint.ip'" in error.reason
    with pytest.raises(RuleError):
        raise error
