"""Exported files: every format is read, every record recognised or reported with a reason.

The exports are written by the test from emulator records, in the layouts Microsoft's tools
produce: NDJSON, a Graph response page, Event Hub captures (``{"records": [...]}``), Purview
audit search CSV (``AuditData``) and Log Analytics CSV (PascalCase columns, JSON in dynamic ones).
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenantwatch.emulator.directory import Directory
from tenantwatch.emulator.network import NETWORKS
from tenantwatch.emulator.render import azure_monitor_record, graph_signin, ual_record
from tenantwatch.emulator.scenarios.base import ActivityFactory
from tenantwatch.sources.files import read_records_from

DIRECTORY = Directory.generate(9, 10)
WHEN = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)


def _signins(n: int = 3) -> list:  # type: ignore[type-arg]
    f = ActivityFactory(DIRECTORY, random.Random(4))
    return [
        f.signin(DIRECTORY.regular_users[i], WHEN, NETWORKS[5], error_code=50126 * (i % 2))
        for i in range(n)
    ]


def test_ndjson_with_a_broken_line_and_an_unknown_record(tmp_path: Path) -> None:
    path = tmp_path / "signins.ndjson"
    lines = [json.dumps(graph_signin(s)) for s in _signins()] + [
        "{not json",
        json.dumps({"hello": 1}),
    ]
    path.write_text("\n".join(lines) + "\n")
    records = list(read_records_from(path))
    assert [r.shape for r in records[:3]] == ["graph.signIn"] * 3
    assert records[3].problem == "line is not valid JSON"
    assert records[3].where == f"{path}:4"
    assert records[4].problem.startswith("not a record of a known")


def test_graph_page_and_event_hub_capture(tmp_path: Path) -> None:
    page = tmp_path / "page.json"
    page.write_text(
        json.dumps({"@odata.context": "x", "value": [graph_signin(s) for s in _signins()]})
    )
    capture = tmp_path / "capture.json"
    capture.write_text(
        json.dumps({"records": [azure_monitor_record(s, DIRECTORY.tenant_id) for s in _signins()]})
    )
    assert {r.shape for r in read_records_from(page)} == {"graph.signIn"}
    assert {r.shape for r in read_records_from(capture)} == {"azure.monitor"}


def test_purview_audit_export_csv(tmp_path: Path) -> None:
    path = tmp_path / "audit.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["CreationDate", "UserIds", "Operations", "AuditData"])
        for s in _signins():
            record = ual_record(s, DIRECTORY.tenant_id, DIRECTORY.domain)
            w.writerow(
                [record["CreationTime"], record["UserId"], record["Operation"], json.dumps(record)]
            )
        w.writerow(["2026-01-12", "x", "y", "{broken"])
    records = list(read_records_from(path))
    assert [r.shape for r in records[:3]] == ["o365.management"] * 3
    assert records[3].problem == "AuditData is not JSON"


def _log_analytics_row(signin) -> dict[str, str]:  # type: ignore[no-untyped-def]
    p = graph_signin(signin, beta=True)
    return {
        "TenantId": DIRECTORY.tenant_id,
        "TimeGenerated [UTC]": p["createdDateTime"],
        "Category": "SignInLogs",
        "ResultType": str(p["status"]["errorCode"]),
        "ResultDescription": p["status"]["failureReason"],
        "Id": p["id"],
        "UserPrincipalName": p["userPrincipalName"],
        "UserId": p["userId"],
        "AppId": p["appId"],
        "AppDisplayName": p["appDisplayName"],
        "IPAddress": p["ipAddress"],
        "ClientAppUsed": p["clientAppUsed"],
        "AuthenticationRequirement": p["authenticationRequirement"],
        "IsInteractive": "True",
        "UserAgent": p["userAgent"],
        "CorrelationId": p["correlationId"],
        "DeviceDetail": json.dumps(p["deviceDetail"]),
        "LocationDetails": json.dumps(p["location"]),
        "Status": json.dumps(p["status"]),
        "AutonomousSystemNumber": str(p["autonomousSystemNumber"]),
    }


def test_log_analytics_export_normalizes_like_graph(tmp_path: Path) -> None:
    from tests.normalize.helpers import one

    signin = _signins()[1]
    path = tmp_path / "SigninLogs.csv"
    row = _log_analytics_row(signin)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        w.writeheader()
        w.writerow(row)
    (record,) = list(read_records_from(path))
    assert record.shape == "azure.monitor"
    from_export = one("azure.monitor", record.raw)
    from_graph = one("graph.signIn", graph_signin(signin))
    for field in ("class_uid", "status_id", "status_code", "is_mfa", "auth_protocol", "time"):
        assert from_export[field] == from_graph[field], field
    assert from_export["user"]["name"] == from_graph["user"]["name"]
    assert from_export["src_endpoint"]["ip"] == from_graph["src_endpoint"]["ip"]


def test_normalize_command_prints_ocsf_and_reports_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    lines = [json.dumps(graph_signin(s)) for s in _signins()]
    lines.append(
        json.dumps({"id": "x", "createdDateTime": "not a time", "userPrincipalName": "a@b.c"})
    )
    path.write_text("\n".join(lines))
    result = subprocess.run(
        [sys.executable, "-m", "tenantwatch", "normalize", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 3
    assert all(e["class_uid"] == 3002 and e["metadata"]["version"] == "1.3.0" for e in events)
    assert "unparseable event time" in result.stderr


def test_unknown_format_is_a_config_error(tmp_path: Path) -> None:
    from tenantwatch.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown format"):
        list(read_records_from(tmp_path / "x", "xml"))
