"""Tamper evidence: a store verifies untouched; an altered, deleted, inserted or moved record,
an altered or removed ledger record, each fails verification naming what changed. Tampering is
done as an attacker would: directly in the DuckDB file, with the store closed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tenantwatch.cli.app import app
from tenantwatch.errors import StoreError
from tenantwatch.store import DuckDBStore
from tenantwatch.store.ledger import LedgerKey, prune, verify
from tests.detect.helpers import T0, auth_event, frame


def _fill(path: Path) -> list[str]:
    """Three batches of events (one with a duplicate); the stored ids in chain order."""
    store = DuckDBStore(path)
    try:
        store.insert_events(frame([auth_event(f"a{i}", minutes=i) for i in range(5)]))
        store.insert_events(
            frame([auth_event("a4"), *[auth_event(f"b{i}", minutes=60 + i) for i in range(4)]])
        )
        store.insert_events(
            frame([auth_event(f"c{i}", minutes=120 + i, user="bob@contoso.com") for i in range(3)])
        )
    finally:
        store.close()
    return [
        *(f"a{i}" for i in range(5)),
        *(f"b{i}" for i in range(4)),
        *(f"c{i}" for i in range(3)),
    ]


def _verify(path: Path):  # type: ignore[no-untyped-def]
    store = DuckDBStore(path, read_only=True)
    try:
        return verify(store, LedgerKey.from_public_pem((path.parent / "ledger.pub").read_bytes()))
    finally:
        store.close()


def _tamper(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "tenantwatch.duckdb"
    _fill(path)
    return path


def test_an_untouched_store_verifies(db: Path) -> None:
    report = _verify(db)
    assert report.ok, report.problems
    assert (report.batches, report.events) == (3, 12)
    assert len(report.head) == 64


def test_an_altered_field_names_the_record(db: Path) -> None:
    _tamper(db, "UPDATE events SET status_id = 1 WHERE tw_uid = 'b2'")
    report = _verify(db)
    assert report.first is not None
    assert (report.first.kind, report.first.tw_uid) == ("altered", "b2")
    assert (report.first.seq, report.first.pos) == (
        2,
        3,
    )  # b2 is 4th of batch 2 (a4 was a duplicate)


def test_an_altered_nested_field_is_caught(db: Path) -> None:
    _tamper(
        db,
        "UPDATE events SET src_endpoint = {'ip': '10.9.9.9', 'port': NULL, 'hostname': NULL, "
        "'name': NULL, 'uid': NULL, 'location': NULL, 'autonomous_system': NULL} WHERE tw_uid = 'a0'",
    )
    assert _verify(db).first.tw_uid == "a0"  # type: ignore[union-attr]


def test_a_deleted_row_names_the_record(db: Path) -> None:
    _tamper(db, "DELETE FROM events WHERE tw_uid = 'c1'")
    first = _verify(db).first
    assert first is not None
    assert (first.kind, first.tw_uid, first.seq, first.pos) == ("deleted", "c1", 3, 1)


def test_an_inserted_row_names_the_record(db: Path) -> None:
    _tamper(
        db,
        "INSERT INTO events SELECT * REPLACE ('forged' AS tw_uid, 7 AS tw_pos) FROM events WHERE tw_uid = 'b0'",
    )
    report = _verify(db)
    assert [(p.kind, p.tw_uid) for p in report.problems] == [("inserted", "forged")]


def test_two_swapped_rows_are_named(db: Path) -> None:
    _tamper(
        db,
        "UPDATE events SET tw_pos = CASE tw_uid WHEN 'a1' THEN 3 ELSE 1 END WHERE tw_uid IN ('a1', 'a3')",
    )
    report = _verify(db)
    assert {(p.kind, p.tw_uid) for p in report.problems} == {("moved", "a1"), ("moved", "a3")}
    assert report.first is not None
    assert report.first.tw_uid == "a1"


def test_swapped_contents_are_named(db: Path) -> None:
    # exchange everything but the chain position between two events of the same batch
    _tamper(
        db,
        "UPDATE events SET tw_uid = 'tmp' WHERE tw_uid = 'b1'",
        "UPDATE events SET tw_uid = 'b1' WHERE tw_uid = 'b3'",
        "UPDATE events SET tw_uid = 'b3' WHERE tw_uid = 'tmp'",
    )
    report = _verify(db)
    assert {p.tw_uid for p in report.problems} == {"b1", "b3"}
    assert {p.kind for p in report.problems} <= {"moved", "altered"}


@pytest.mark.parametrize(
    ("statement", "detail"),
    [
        ("DELETE FROM ledger WHERE seq = 2", "missing"),
        ("UPDATE ledger SET count = 9 WHERE seq = 2", "altered"),
        ("UPDATE ledger_entries SET hash = sha256('x')::BLOB WHERE seq = 1 AND pos = 0", "entries"),
    ],
)
def test_tampering_with_the_ledger_itself_is_caught(db: Path, statement: str, detail: str) -> None:
    _tamper(db, statement)
    report = _verify(db)
    assert not report.ok
    assert any(p.kind == "ledger" and detail in p.detail for p in report.problems), report.problems


def test_a_ledger_re_signed_with_another_key_does_not_verify_with_the_original(
    db: Path, tmp_path: Path
) -> None:
    original = LedgerKey.from_public_pem((tmp_path / "ledger.pub").read_bytes())
    forger = LedgerKey.load_or_create(tmp_path / "forger" / "ledger.key")
    con = duckdb.connect(str(db))
    for seq, chained in con.execute("SELECT seq, chain_hash FROM ledger").fetchall():
        con.execute(
            "UPDATE ledger SET signature = ? WHERE seq = ?", [forger.sign(bytes(chained)), seq]
        )
    con.close()
    store = DuckDBStore(db, read_only=True)
    try:
        assert not verify(store, original).ok
        assert verify(store, forger).ok  # why the public key must be kept apart
    finally:
        store.close()


def test_pruning_keeps_the_chain_verifiable(db: Path) -> None:
    store = DuckDBStore(db)
    try:
        assert store.key is not None
        batches, events = prune(store, store.key, T0 + timedelta(minutes=100))
    finally:
        store.close()
    assert (batches, events) == (2, 9)
    report = _verify(db)
    assert report.ok, report.problems
    assert (report.pruned_batches, report.events) == (2, 3)
    _tamper(db, "DELETE FROM events WHERE tw_uid = 'c0'")  # a deletion is not a pruning
    assert _verify(db).first.kind == "deleted"  # type: ignore[union-attr]


def test_a_store_refuses_a_different_signing_key(db: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "ledger.key"
    LedgerKey.load_or_create(other)
    with pytest.raises(StoreError, match="not the key this store was signed with"):
        DuckDBStore(db, key_path=other)


def test_the_key_file_is_private(db: Path) -> None:
    assert (db.parent / "ledger.key").stat().st_mode & 0o077 == 0


def test_tenantwatch_verify_exits_non_zero_naming_the_record(db: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "--data-dir", str(db.parent)])
    assert ok.exit_code == 0, ok.output
    assert "12 events in 3 batches" in ok.output
    _tamper(db, "DELETE FROM events WHERE tw_uid = 'a2'")
    bad = runner.invoke(
        app, ["verify", "--data-dir", str(db.parent), "--public-key", str(db.parent / "ledger.pub")]
    )
    assert bad.exit_code == 1
    assert "deleted: record a2 (batch 1, position 2)" in bad.output


def test_events_stored_before_the_ledger_join_it(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _fill(path)
    # a version-1 store: no ledger, events without a place in it
    _tamper(
        path,
        "DROP TABLE ledger",
        "DROP TABLE ledger_entries",
        "UPDATE events SET tw_seq = NULL, tw_pos = NULL",
        "DELETE FROM meta",
    )
    DuckDBStore(path).close()
    report = _verify(path)
    assert report.ok, report.problems
    assert (report.batches, report.events) == (1, 12)


Tamper = Callable[[Path], None]
