"""``tenantwatch rules test | lint | coverage`` and ``tenantwatch detect``, run as a user would
(the real command line, in-process)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tenantwatch.cli.app import app
from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.activities import DirectoryAudit, SignIn
from tenantwatch.emulator.render import (
    content_type_of,
    graph_directory_audit,
    graph_signin,
    ual_record,
)
from tests.ocsf import validate

FILES = Path(__file__).parents[1] / "files"
CORPUS = Path(__file__).parents[3] / "shared" / "corpus" / "sigma"
runner = CliRunner()


BUILTIN = Path(__file__).parents[2] / "rules"


def _copy(tmp: Path, *names: str) -> None:
    for name in names:
        for suffix in (".yml", ".tests.yml"):
            (tmp / f"{name}{suffix}").write_text((BUILTIN / f"{name}{suffix}").read_text())


def test_rules_test_runs_every_example(tmp_path: Path) -> None:
    _copy(
        tmp_path,
        "tw_high_privilege_app_role",
        "tw_signin_wrong_password",
        "tw_password_spray_per_user",
    )
    result = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
    assert "ok   tw_high_privilege_app_role" in result.output
    assert "ok   tw_password_spray_per_user" in result.output


def test_rules_test_fails_on_a_wrong_example_and_names_its_line(tmp_path: Path) -> None:
    _copy(tmp_path, "tw_mfa_disabled")
    text = (tmp_path / "tw_mfa_disabled.tests.yml").read_text()
    (tmp_path / "tw_mfa_disabled.tests.yml").write_text(
        text.replace("expect: no finding", "expect: finding", 1)
    )
    result = runner.invoke(app, ["rules", "test", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "tw_mfa_disabled.tests.yml:" in result.output
    assert "no finding of the rule" in result.output


def test_rules_lint_reports_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "bare.yml").write_text(
        "title: bare\nid: 3f0e0000-0000-4000-8000-000000000001\n"
        "logsource: {product: ocsf, category: authentication}\n"
        "detection: {s: {status_id: 2}, condition: s}\nlevel: low\n"
    )
    result = runner.invoke(app, ["rules", "lint", str(tmp_path)])
    assert result.exit_code == 1
    for problem in ("no `name:`", "no description", "no ATT&CK technique", "no examples"):
        assert problem in result.output, problem


def test_rules_coverage_of_the_test_rules_is_complete() -> None:
    result = runner.invoke(app, ["rules", "coverage", str(FILES / "sigma"), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["rules"] == figures["runs"] == 12
    assert figures["unsupported"] == []


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not beside this checkout")
def test_at_least_95_percent_of_sigmahq_azure_and_m365_rules_compile_and_run() -> None:
    result = runner.invoke(app, ["rules", "coverage", str(CORPUS), "--json", "--fail-under", "95"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["rules"] >= 150
    # whatever does not run says why: only placeholders without values
    assert all("placeholder" in u["reason"] for u in figures["unsupported"]), figures["unsupported"]
    with_values = runner.invoke(
        app,
        [
            "rules",
            "coverage",
            str(CORPUS),
            "--json",
            "--placeholders",
            str(FILES / "placeholders.yml"),
        ],
    )
    assert json.loads(with_values.output)["percent"] == 100.0


def test_detect_reads_exported_records_and_prints_ocsf_findings(tmp_path: Path) -> None:
    start = datetime(2026, 1, 12, 0, tzinfo=UTC)
    tenant = SimTenant.build(
        seed=9,
        users=300,
        start=start + timedelta(hours=12),
        history=timedelta(hours=12),
        scenarios=["midnight-blizzard"],
        scenario_start=start + timedelta(hours=1),
    )
    graph, ual = tmp_path / "graph.ndjson", tmp_path / "ual.json"
    graph_lines, ual_records = [], []
    for h in range(12):
        for a in tenant.timeline.activities(start + timedelta(hours=h)):
            if isinstance(a, SignIn):
                graph_lines.append(orjson.dumps(graph_signin(a, beta=True)))
            elif isinstance(a, DirectoryAudit):
                graph_lines.append(orjson.dumps(graph_directory_audit(a)))
            if content_type_of(a):
                ual_records.append(ual_record(a, tenant.tenant_id, tenant.directory.domain))
    graph.write_bytes(b"\n".join(graph_lines) + b"\n")
    ual.write_bytes(orjson.dumps(ual_records))
    result = runner.invoke(app, ["detect", str(graph), str(ual)])
    assert result.exit_code == 0, result.output
    findings = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    titles = {f["finding_info"]["title"] for f in findings}
    assert "High-privilege application permission granted to an app" in titles
    assert "One application read many mailboxes through EWS or Graph" in titles
    for finding in findings:
        assert finding["class_uid"] == 2004
        assert validate(finding) == []
