"""The DuckDB store: idempotent inserts, one transaction per batch, checkpoints, findings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenantwatch.model.batch import Checkpoint, QuarantinedRecord
from tenantwatch.model.finding import Finding
from tenantwatch.store import DuckDBStore
from tests.detect.helpers import T0, auth_event, frame


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "tw.duckdb")
    yield s  # type: ignore[misc]
    s.close()


def test_insert_returns_only_new_events(store: DuckDBStore) -> None:
    assert store.insert_events(frame([auth_event("a"), auth_event("b")])).height == 2
    again = store.insert_events(frame([auth_event("b"), auth_event("c"), auth_event("c")]))
    assert again["tw_uid"].to_list() == ["c"]
    assert store.counts()["events"] == 3


def test_same_record_id_in_two_tenants_is_two_events(store: DuckDBStore) -> None:
    store.insert_events(frame([auth_event("a", tenant="t1"), auth_event("a", tenant="t2")]))
    assert store.counts()["events"] == 2


def test_a_failed_transaction_leaves_nothing_behind(store: DuckDBStore) -> None:
    cp = Checkpoint("t1", "src", "stream", T0)

    def crash_between_insert_and_commit() -> None:
        with store.transaction():
            store.insert_events(frame([auth_event("a")]))
            store.save_checkpoints([cp])
            raise RuntimeError("crash between insert and commit")

    with pytest.raises(RuntimeError):
        crash_between_insert_and_commit()
    assert store.counts()["events"] == 0
    assert store.checkpoints() == {}


def test_checkpoints_round_trip_and_update(store: DuckDBStore) -> None:
    store.save_checkpoints([Checkpoint("t1", "src", "s", T0, {"k": [1, 2]})])
    later = datetime(2026, 1, 12, 10, tzinfo=UTC)
    store.save_checkpoints([Checkpoint("t1", "src", "s", later)])
    (cp,) = store.checkpoints().values()
    assert cp.watermark == later


def test_events_read_back_with_the_event_schema(store: DuckDBStore) -> None:
    store.insert_events(frame([auth_event("a", minutes=5), auth_event("b", minutes=1)]))
    back = store.events_since(T0)
    assert back["tw_uid"].to_list() == ["b", "a"]
    assert back.schema == frame([]).schema


def test_findings_upsert_keeps_delivery_state(store: DuckDBStore) -> None:
    f = Finding("f1", "t1", "rule", "Title", "high", T0, T0, T0, {"user.name": "a"}, count=1)
    store.upsert_findings([f])
    store.mark_delivered(["f1"])
    f.count, f.evidence_uids = 3, ["x", "y", "z"]
    store.upsert_findings([f])
    (back,) = store.findings()
    assert back.count == 3
    assert back.evidence_uids == ["x", "y", "z"]
    assert store.findings(undelivered=True) == []


def test_quarantine_keeps_raw_bytes_and_reason(store: DuckDBStore) -> None:
    store.quarantine([QuarantinedRecord("t1", "src", "s", "graph.signIn", "bad time", b"\x00{raw")])
    assert store.sql("SELECT reason, raw FROM quarantine").rows() == [("bad time", b"\x00{raw")]


def test_second_process_cannot_open_a_store_in_use(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "busy.duckdb"
    s = DuckDBStore(path)
    code = (
        "import sys; from tenantwatch.store import DuckDBStore\n"
        "from tenantwatch.errors import StoreError\n"
        f"try:\n    DuckDBStore({str(path)!r})\nexcept StoreError as e:\n    print(e); sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    s.close()
    assert result.returncode == 3
    assert "another tenantwatch process" in result.stdout
