"""``tenantwatch query``, ``timeline``, ``status`` and ``prune`` on a real store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantwatch.cli.app import app
from tenantwatch.model.batch import QuarantinedRecord
from tenantwatch.store import DuckDBStore
from tests.detect.events import emulator_events

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store-commands")
    store = DuckDBStore(folder / "tenantwatch.duckdb")
    try:
        store.insert_events(emulator_events(users=60, hours=24))
        store.quarantine(
            [
                QuarantinedRecord(
                    "t",
                    "activity",
                    "activity/Audit.Exchange",
                    "o365.management",
                    "CreationTime is not a time",
                    b'{"Id": "x"}',
                    "x",
                )
            ]
        )
    finally:
        store.close()
    return folder


def test_query_prints_json_lines(data: Path) -> None:
    result = runner.invoke(
        app,
        [
            "query",
            "SELECT class_uid, count(*) AS n FROM events GROUP BY 1 ORDER BY 1",
            "--data-dir",
            str(data),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["class_uid"] for r in rows} >= {3001, 3002, 6003}
    assert all(r["n"] > 0 for r in rows)


def test_query_is_read_only_and_reports_sql_errors(data: Path) -> None:
    for sql in ("DELETE FROM events", "SELECT nothing FROM nowhere"):
        result = runner.invoke(app, ["query", sql, "--data-dir", str(data)])
        assert result.exit_code != 0
        assert isinstance(result.exception, Exception)


def test_timeline_shows_one_user_in_time_order(data: Path) -> None:
    store = DuckDBStore(data / "tenantwatch.duckdb", read_only=True)
    try:
        user = store.sql(
            "SELECT user.name AS u FROM events WHERE class_uid = 3002 AND user.type_id = 1 "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )["u"][0]
    finally:
        store.close()
    result = runner.invoke(
        app,
        [
            "timeline",
            "--user",
            user.upper(),
            "--since",
            "3650d",
            "--data-dir",
            str(data),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) >= 2
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    assert all(user in (r["actor"], r["target"]) for r in rows)


def test_timeline_needs_exactly_one_entity(data: Path) -> None:
    result = runner.invoke(app, ["timeline", "--data-dir", str(data)])
    assert result.exit_code != 0


def test_status_shows_the_quarantine(data: Path) -> None:
    result = runner.invoke(app, ["status", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "quarantine" in result.output
    assert "CreationTime is not a time" in result.output


def test_prune_removes_old_batches_and_the_store_still_verifies(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "tenantwatch.duckdb")
    now = datetime.now(UTC)
    try:
        events = emulator_events(users=20, hours=6)
        old = events.with_columns(time=events["time"].dt.offset_by("-400d"))
        store.insert_events(old)
        store.insert_events(
            events.with_columns(
                tw_uid=events["tw_uid"] + "-recent",
                time=events["time"].dt.replace_time_zone(None).dt.replace_time_zone("UTC")
                + (now - timedelta(days=1) - events["time"].max()),
            )
        )
    finally:
        store.close()
    result = runner.invoke(app, ["prune", "--older-than", "365d", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"pruned {events.height:,} events (1 batches)" in result.output
    verified = runner.invoke(app, ["verify", "--data-dir", str(tmp_path)])
    assert verified.exit_code == 0, verified.output
    assert "1 pruned" in verified.output
