"""A crash between storing a batch's events and committing its checkpoint: the real pipeline
process is killed (SIGKILL) inside that window, then started again. Nothing is lost, nothing is
stored twice, and the ledger still verifies."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import yaml

from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.activities import SignIn
from tenantwatch.emulator.render import graph_signin
from tenantwatch.store import DuckDBStore
from tenantwatch.store.ledger import verify

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from tenantwatch.store import duckdb_store

    calls = 0
    original = duckdb_store.DuckDBStore.save_checkpoints

    def save_checkpoints(self, checkpoints):
        global calls
        calls += 1
        if calls == int(os.environ["CRASH_AT"]):  # the batch's events are in, not committed
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, checkpoints)

    duckdb_store.DuckDBStore.save_checkpoints = save_checkpoints
    from tenantwatch import pipeline
    pipeline.MAX_BATCHES = 1  # one file per transaction, so the kill lands between two of them
    from tenantwatch.cli.app import main
    sys.argv = ["tenantwatch", "run", "--once", "--config", sys.argv[1]]
    main()
    """
)


def _exports(folder: Path) -> set[str]:
    start = datetime(2026, 1, 12, 8, tzinfo=UTC)
    tenant = SimTenant.build(
        seed=4, users=120, start=start + timedelta(hours=8), history=timedelta(hours=8)
    )
    ids: set[str] = set()
    for hour in range(8):
        records = [
            graph_signin(a, beta=True)
            for a in tenant.timeline.activities(start + timedelta(hours=hour))
            if isinstance(a, SignIn)
        ]
        (folder / f"signins-{hour}.json").write_bytes(orjson.dumps(records))
        ids |= {r["id"] for r in records}
    return ids


def _run(config: Path, crash_at: int | None) -> subprocess.CompletedProcess[str]:
    env = {"CRASH_AT": str(crash_at or 0), "PATH": "/usr/bin:/bin"}
    command = (
        [sys.executable, "-c", CHILD, str(config)]
        if crash_at
        else [sys.executable, "-m", "tenantwatch", "run", "--once", "--config", str(config)]
    )
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=env, check=False
    )


def _stored(data: Path) -> tuple[list[str], bool, int]:
    store = DuckDBStore(data / "tenantwatch.duckdb", read_only=True)
    try:
        ids = store.sql("SELECT metadata.uid AS uid FROM events")["uid"].to_list()
        report = verify(store, store.public_key())
        checkpoints = len(store.checkpoints())
    finally:
        store.close()
    return ids, report.ok, checkpoints


def test_a_kill_between_insert_and_checkpoint_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    expected = _exports(exports)
    data = tmp_path / "data"
    config = tmp_path / "pipeline.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(data),
                "sources": [{"id": "exports", "type": "file", "path": str(exports)}],
                "sinks": [{"id": "f", "type": "jsonl", "path": "findings.jsonl"}],
            }
        )
    )
    crashed = _run(config, crash_at=3)
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    partial, ok, checkpoints = _stored(data)
    assert 0 < len(partial) < len(expected)  # the kill came mid-run
    assert ok  # what was committed is whole, ledger included
    assert checkpoints < 8
    restarted = _run(config, crash_at=None)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    stored, ok, checkpoints = _stored(data)
    assert sorted(stored) == sorted(expected)  # every record, once
    assert ok
    assert checkpoints == 8
