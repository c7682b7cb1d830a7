"""Arbitrary JSON never breaks the normalizer: every record comes out as an event or as a
quarantined record with a reason, whatever the shape."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.normalize.helpers import run

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        ["2024-01-10T09:12:44", "2024-01-10T09:12:44Z", "1.2.3.4:443", "Success", "0"]
    )
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
name_values = st.lists(st.fixed_dictionaries({"Name": values, "Value": values}), max_size=3)


def _shaped(keys: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={k: v | values for k, v in keys.items()})


UAL = _shaped(
    {
        "Id": st.uuids().map(str),
        "RecordType": st.sampled_from([1, 2, 6, 8, 9, 14, 15, 25, 50, 181]),
        "CreationTime": st.just("2024-01-10T09:12:44"),
        "Operation": st.sampled_from(
            ["UserLoggedIn", "Add user.", "Send", "FileDownloaded", "MemberAdded", "X"]
        ),
        "UserId": st.emails(),
        "ClientIP": st.sampled_from(["1.2.3.4", "[::1]:443", "h (10.0.0.1)"]),
        "ExtendedProperties": name_values,
        "Parameters": name_values,
        "Actor": st.lists(st.fixed_dictionaries({"ID": values, "Type": values}), max_size=3),
        "ModifiedProperties": st.lists(
            st.fixed_dictionaries({"Name": values, "NewValue": values}), max_size=3
        ),
        "Folders": values,
        "Members": values,
    }
)
AZURE = st.fixed_dictionaries(
    {
        "category": st.sampled_from(
            ["SignInLogs", "AuditLogs", "Other", "ServicePrincipalSignInLogs"]
        )
    },
    optional={
        "time": values,
        "properties": _shaped(
            {
                "id": st.uuids().map(str),
                "createdDateTime": st.just("2024-01-10T09:12:44Z"),
                "activityDateTime": st.just("2024-01-10T09:12:44Z"),
                "activityDisplayName": st.sampled_from(["Add user", "Consent to application"]),
                "status": values,
                "targetResources": values,
                "initiatedBy": values,
            }
        ),
    },
)
AUDIT = _shaped(
    {
        "id": st.uuids().map(str),
        "activityDateTime": st.just("2024-01-10T09:12:44Z"),
        "activityDisplayName": st.sampled_from(["Add member to role", "Update user", "Weird op"]),
        "targetResources": values,
        "initiatedBy": values,
        "result": values,
    }
)


def _check(shape: str, records: list[Any]) -> None:
    raw = [orjson.dumps(r) for r in records]
    batch = run(shape, *raw)
    assert batch.events.height + len(batch.quarantined) == len(raw)
    assert all(q.reason for q in batch.quarantined)
    assert set(batch.events["raw_data"].to_list()) <= {r.decode() for r in raw}


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(UAL | values, min_size=1, max_size=5))
def test_activity_api_records(records: list[Any]) -> None:
    _check("o365.management", records)


@SETTINGS
@given(st.lists(AZURE | values, min_size=1, max_size=5))
def test_azure_monitor_records(records: list[Any]) -> None:
    _check("azure.monitor", records)


@SETTINGS
@given(st.lists(AUDIT | values, min_size=1, max_size=5))
def test_graph_directory_audits(records: list[Any]) -> None:
    _check("graph.directoryAudit", records)
