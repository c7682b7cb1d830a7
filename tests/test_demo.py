"""End to end: ``tenantwatch demo`` in a real process, headless, twice on one data dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow


def _demo(data_dir: Path, duration: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tenantwatch",
            "demo",
            "--duration",
            str(duration),
            "--data-dir",
            str(data_dir),
            "--no-live",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 90,
        check=False,
    )


def _store_counts(data_dir: Path) -> tuple[int, int, int, int]:
    con = duckdb.connect(str(data_dir / "tenantwatch.duckdb"), read_only=True)
    try:
        row = con.execute(
            """SELECT (SELECT count(*) FROM events), (SELECT count(DISTINCT tw_uid) FROM events),
                      (SELECT count(*) FROM findings),
                      (SELECT count(DISTINCT rule_id || entity_key) FROM findings)"""
        ).fetchall()[0]
    finally:
        con.close()
    assert row is not None
    return row  # type: ignore[return-value]


def test_demo_finds_the_spray_and_a_second_run_adds_no_duplicates(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    first = _demo(data, 45)
    assert first.returncode == 0, first.stderr[-3000:]

    truth = json.loads((data / "ground-truth.json").read_text())
    spray = next(s for s in truth["stages"] if s["stage"] == "password-spray")
    sprayed_users = set(spray["entities"])
    spray_ips = set(spray["source_ips"])

    findings = [json.loads(line) for line in (data / "findings.jsonl").read_text().splitlines()]
    spray_findings = [
        f for f in findings if f["finding_info"]["title"].startswith("Password spray")
    ]
    assert spray_findings, f"no spray finding in {findings}"
    for f in spray_findings:
        user = f["unmapped"]["entity"]["user.name"]
        ips = {o["value"] for o in f["observables"] if o["name"] == "src_endpoint.ip"}
        assert user in sprayed_users
        assert len(ips) >= 5
        assert ips <= spray_ips
        assert f["class_uid"] == 2004
        assert f["metadata"]["version"] == "1.3.0"

    con = duckdb.connect(str(data / "tenantwatch.duckdb"), read_only=True)
    stored = con.execute(
        "SELECT entity_key FROM findings WHERE rule_title LIKE 'Password spray%'"
    ).fetchall()
    con.close()
    assert {k for (k,) in stored} == {
        f"user.name={f['unmapped']['entity']['user.name']}" for f in spray_findings
    }

    events, distinct, n_findings, distinct_findings = _store_counts(data)
    assert events == distinct
    assert n_findings == distinct_findings == len(findings)

    # The second run continues the same simulated tenant: records it fetches again are dropped
    # as duplicates, and nothing alerted in the first run is alerted again.
    second = _demo(data, 20)
    assert second.returncode == 0, second.stderr[-3000:]
    events2, distinct2, n_findings2, distinct_findings2 = _store_counts(data)
    assert events2 == distinct2
    assert events2 >= events
    assert n_findings2 == distinct_findings2 >= n_findings
    lines = [json.loads(line) for line in (data / "findings.jsonl").read_text().splitlines()]
    keys = [(f["finding_info"]["analytic"]["uid"], str(f["unmapped"]["entity"])) for f in lines]
    assert len(keys) == len(set(keys)) == n_findings2
    assert lines[: len(findings)] == findings
    assert "duplicates dropped" in second.stdout
