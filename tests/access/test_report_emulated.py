"""Acceptance: the Midnight Blizzard scenario through the real pipeline, then the access report.

The legacy test account's single-factor sign-in and the attacker's app holding
``full_access_as_app`` are violations, with their first-seen times."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantwatch.cli.app import app
from tenantwatch.config.model import SourceConfig
from tests.sources.harness import Tenant, run_once, start_tenant

runner = CliRunner()


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tenant, Path]]:
    tmp = tmp_path_factory.mktemp("access")
    for tenant in start_tenant(tmp, users=30, history=timedelta(days=1)):
        data = tmp / "data"
        config = tenant.config(
            data,
            SourceConfig(
                id="signins",
                type="graph_signins",
                tenant="t",
                version="beta",
                event_types=("interactiveUser", "nonInteractiveUser", "servicePrincipal"),
                initial_lookback_secs=86400,
            ),
            SourceConfig(
                id="audits", type="graph_directory_audits", tenant="t", initial_lookback_secs=86400
            ),
            SourceConfig(
                id="activity", type="o365_management", tenant="t", initial_lookback_secs=86400
            ),
        )
        run_once(tenant, config)
        yield tenant, data


def _stage(tenant: Tenant, name: str) -> dict[str, object]:
    doc = tenant.tenant.ground_truth_document()
    return next(
        s for s in doc["stages"] if s["scenario"] == "midnight-blizzard" and s["stage"] == name
    )


def _report(data: Path, fmt: str) -> str:
    result = runner.invoke(
        app,
        ["access", "report", "--data-dir", str(data), "--since", "3d", "--format", fmt],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_the_report_shows_both_midnight_blizzard_violations_with_first_seen(
    collected: tuple[Tenant, Path],
) -> None:
    tenant, data = collected
    report = json.loads(_report(data, "json"))
    violators = report["violators"]

    (account,) = _stage(tenant, "valid-account")["entities"]  # type: ignore[misc]
    # the account falls to the password-spray scenario too: its first single-factor access
    # is the earliest "valid-account" record naming it in the ground truth
    first_signin = min(
        r["time"]
        for s in tenant.tenant.ground_truth_document()["stages"]
        if s["stage"] == "valid-account" and account in s["entities"]
        for r in s["records"]
    )
    no_mfa = [
        v for v in violators if v["rule"] == "mfa_required" and v["entity"] == {"user": account}
    ]
    assert len(no_mfa) == 1, violators
    assert datetime.fromisoformat(no_mfa[0]["first_seen"]) == datetime.fromisoformat(first_signin)

    grant = _stage(tenant, "full-access-as-app")
    granted = datetime.fromisoformat(min(r["time"] for r in grant["records"]))  # type: ignore[attr-defined]
    apps = [
        v
        for v in violators
        if v["rule"] == "high_privilege_apps"
        and v["entity"].get("permission") == "full_access_as_app"
    ]
    assert len(apps) == 1, violators
    assert datetime.fromisoformat(apps[0]["first_seen"]) == granted
    assert apps[0]["entity"]["app"] == "mailsync connector"
    assert apps[0]["severity"] == "critical"
    # ... and its sign-in to read the mail is judged too
    signed_in = [
        v
        for v in violators
        if v["rule"] == "high_privilege_apps" and v["entity"] == {"app": "mailsync connector"}
    ]
    assert len(signed_in) == 1

    # the summary counts each sign-in once although both Graph and the Activity API had it
    summary = report["summary"]
    assert 0 < summary["compliant"] < summary["accesses"]
    protocols = {row["protocol"]: row for row in report["inventory"]["protocols"]}
    assert protocols["OAuth 2.0"]["succeeded"] > 0
    workloads = {row["app"].lower(): row for row in report["inventory"]["workload_identities"]}
    assert "full_access_as_app" in workloads["mailsync connector"]["permissions"]


def test_the_html_report_escapes_what_the_tenant_controls(collected: tuple[Tenant, Path]) -> None:
    _, data = collected
    page = _report(data, "html")
    assert page.startswith("<!doctype html>")
    assert "mailsync connector" in page
    assert "Violations by policy rule" in page
    assert "<script" not in page.lower()


def test_the_table_report_leads_with_the_compliant_share(collected: tuple[Tenant, Path]) -> None:
    _, data = collected
    text = _report(data, "table")
    assert "comply with the access policy" in text
    assert "Workload identities" in text
