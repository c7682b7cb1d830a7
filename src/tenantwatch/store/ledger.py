"""Tamper evidence: a signed hash chain over every stored event.

Each committed batch of new events appends one ledger record, in the same transaction as the
events: ``(sequence, batch hash, previous chain hash, chain hash, Ed25519 signature)``, and one
entry per event ``(sequence, position, tenant, record id, event hash)``. The event hash is
SHA-256 over the event's canonical bytes: every stored OCSF and bookkeeping column, in schema
order and types, as compact JSON (``CANONICAL``). The batch hash covers the entries in order; the
chain hash covers the previous chain hash, the sequence, the kind and the batch hash; the
signature covers the chain hash. Events carry their place in the chain (``tw_seq``, ``tw_pos``).

:func:`verify` recomputes everything and names the first record that was altered, deleted,
inserted or moved, and any ledger record that was altered or removed. Pruning old events
(:func:`prune`) removes whole batches and appends a signed ``prune`` record, so the chain still
verifies and a deletion cannot pass for a pruning.

The private key is created on first use next to the store (``ledger.key``, mode 0600) unless a
path is given; the public key is kept in the store and in ``ledger.pub``. Verification is only
as independent as the public key it uses: keep a copy (or its fingerprint) away from the data
directory, and pass it with ``tenantwatch verify --public-key``.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import orjson
import polars as pl
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tenantwatch.errors import StoreError
from tenantwatch.model.schema import EVENT_SCHEMA
from tenantwatch.normalize.columns import conform

if TYPE_CHECKING:
    from tenantwatch.store.duckdb_store import DuckDBStore

__all__ = [
    "CANONICAL",
    "LEDGER_TABLES",
    "LedgerKey",
    "Problem",
    "VerifyReport",
    "event_hashes",
    "prune",
    "verify",
]

CANONICAL = "tw-json-sha256-v1"
GENESIS = b"\x00" * 32
CHUNK = 200  # batches verified at a time

LEDGER_TABLES = [
    """CREATE TABLE IF NOT EXISTS ledger (
        seq BIGINT PRIMARY KEY,
        kind VARCHAR NOT NULL,
        committed_time TIMESTAMP WITH TIME ZONE DEFAULT current_timestamp,
        count BIGINT NOT NULL,
        batch_hash BLOB NOT NULL,
        prev_hash BLOB NOT NULL,
        chain_hash BLOB NOT NULL,
        signature BLOB NOT NULL,
        detail JSON
    )""",
    """CREATE TABLE IF NOT EXISTS ledger_entries (
        seq BIGINT NOT NULL,
        pos INTEGER NOT NULL,
        tw_tenant VARCHAR NOT NULL,
        tw_uid VARCHAR NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (seq, pos)
    )""",
]


# -- keys -----------------------------------------------------------------------------------------


class LedgerKey:
    """The Ed25519 key pair that signs the chain (the private half may be absent: verify only)."""

    def __init__(self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None = None) -> None:
        self.public = public
        self.private = private

    @classmethod
    def load_or_create(cls, path: Path) -> LedgerKey:
        if path.exists():
            try:
                private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as exc:
                raise StoreError(f"ledger key {path} is not a PEM private key: {exc}") from None
            if not isinstance(private, Ed25519PrivateKey):
                raise StoreError(f"ledger key {path} is not an Ed25519 key")
            return cls(private.public_key(), private)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        key = cls(private.public_key(), private)
        path.with_suffix(".pub").write_bytes(key.public_pem())
        return key

    @classmethod
    def from_public_pem(cls, pem: bytes, where: str = "public key") -> LedgerKey:
        try:
            public = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError) as exc:
            raise StoreError(f"{where} is not a PEM public key: {exc}") from None
        if not isinstance(public, Ed25519PublicKey):
            raise StoreError(f"{where} is not an Ed25519 public key")
        return cls(public)

    def public_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def fingerprint(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()[:32]

    def sign(self, data: bytes) -> bytes:
        if self.private is None:
            raise StoreError("the ledger key has no private half here: cannot append")
        return self.private.sign(data)

    def valid(self, signature: bytes, data: bytes) -> bool:
        try:
            self.public.verify(signature, data)
        except InvalidSignature:
            return False
        return True


# -- hashing --------------------------------------------------------------------------------------


def event_hashes(events: pl.DataFrame) -> list[bytes]:
    """SHA-256 of each event's canonical bytes (every schema column, in order, as JSON)."""
    canonical = conform(events.select(EVENT_SCHEMA.names))
    texts = canonical.select(pl.struct(pl.all()).struct.json_encode().alias("j"))["j"]
    return [hashlib.sha256(t.encode()).digest() for t in texts]


def batch_hash(entries: pl.DataFrame) -> bytes:
    """The hash of a batch's entries (pos, tenant, id, event hash), in position order."""
    h = hashlib.sha256()
    for pos, tenant, uid, digest in entries.select(
        "pos", "tw_tenant", "tw_uid", "hash"
    ).iter_rows():
        h.update(struct.pack(">I", pos))
        h.update(tenant.encode() + b"\x00" + uid.encode() + b"\x00")
        h.update(digest)
    return h.digest()


def chain_hash(prev: bytes, seq: int, kind: str, batch: bytes, count: int) -> bytes:
    return hashlib.sha256(
        prev + struct.pack(">Q", seq) + kind.encode() + b"\x00" + batch + struct.pack(">Q", count)
    ).digest()


# -- appending ------------------------------------------------------------------------------------


def head(con: duckdb.DuckDBPyConnection) -> tuple[int, bytes]:
    """(last sequence, its chain hash), or (0, genesis)."""
    row = con.execute("SELECT seq, chain_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchall()
    return (row[0][0], bytes(row[0][1])) if row else (0, GENESIS)


def append_events(
    con: duckdb.DuckDBPyConnection, key: LedgerKey, seq: int, added: pl.DataFrame, kind: str
) -> None:
    """Record the events a batch added (``tw_seq == seq``; inside the store's transaction)."""
    last, prev = head(con)
    if seq != last + 1:
        raise StoreError(f"ledger out of step: appending {seq} after {last}")
    entries = added.select(
        pl.col("tw_pos").cast(pl.Int32).alias("pos"), "tw_tenant", "tw_uid"
    ).with_columns(pl.Series("hash", event_hashes(added), dtype=pl.Binary))
    entries = entries.sort("pos")
    digest = batch_hash(entries)
    chained = chain_hash(prev, seq, kind, digest, entries.height)
    con.register("tw_entries", entries.with_columns(pl.lit(seq, dtype=pl.Int64).alias("seq")))
    try:
        con.execute(
            "INSERT INTO ledger_entries (seq, pos, tw_tenant, tw_uid, hash) "
            "SELECT seq, pos, tw_tenant, tw_uid, hash FROM tw_entries"
        )
    finally:
        con.unregister("tw_entries")
    con.execute(
        "INSERT INTO ledger (seq, kind, count, batch_hash, prev_hash, chain_hash, signature) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [seq, kind, entries.height, digest, prev, chained, key.sign(chained)],
    )


def append_record(
    con: duckdb.DuckDBPyConnection, key: LedgerKey, kind: str, detail: dict[str, Any]
) -> int:
    """A ledger record that is not a batch of events (a pruning): its hash covers ``detail``."""
    last, prev = head(con)
    seq = last + 1
    body = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(body).digest()
    chained = chain_hash(prev, seq, kind, digest, 0)
    con.execute(
        "INSERT INTO ledger (seq, kind, count, batch_hash, prev_hash, chain_hash, signature, "
        "detail) VALUES (?, ?, 0, ?, ?, ?, ?, ?)",
        [seq, kind, digest, prev, chained, key.sign(chained), body.decode()],
    )
    return seq


# -- verifying ------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Problem:
    """One thing that does not match the ledger, at its place in the chain."""

    seq: int
    pos: int
    kind: str  # altered, deleted, inserted, moved, ledger
    tw_uid: str = ""
    detail: str = ""

    def __str__(self) -> str:
        where = f"batch {self.seq}" + (f", position {self.pos}" if self.pos >= 0 else "")
        record = f" record {self.tw_uid}" if self.tw_uid else ""
        return f"{self.kind}:{record} ({where}){': ' + self.detail if self.detail else ''}"


@dataclass
class VerifyReport:
    batches: int = 0
    events: int = 0
    pruned_batches: int = 0
    head: str = ""
    fingerprint: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return min(self.problems) if self.problems else None


def verify(store: DuckDBStore, key: LedgerKey) -> VerifyReport:
    """Check the chain, its signatures, and every stored event against it."""
    con = store.con
    report = VerifyReport(fingerprint=key.fingerprint)
    rows = con.execute(
        "SELECT seq, kind, count, batch_hash, prev_hash, chain_hash, signature, detail "
        "FROM ledger ORDER BY seq"
    ).fetchall()
    prev, expected_seq = GENESIS, 1
    pruned: set[int] = set()
    batches: dict[int, tuple[int, bytes]] = {}
    for seq, kind, count, digest_raw, prev_raw, chained_raw, signature_raw, detail in rows:
        digest, prev_hash = bytes(digest_raw), bytes(prev_raw)
        chained, signature = bytes(chained_raw), bytes(signature_raw)
        if seq != expected_seq:
            report.problems.append(
                Problem(
                    expected_seq,
                    -1,
                    "ledger",
                    detail=f"ledger records {expected_seq}..{seq - 1} are missing",
                )
            )
        if prev_hash != prev:
            report.problems.append(
                Problem(seq, -1, "ledger", detail="does not follow the previous record")
            )
        if chain_hash(prev_hash, seq, kind, digest, count) != chained:
            report.problems.append(Problem(seq, -1, "ledger", detail="ledger record altered"))
        if not key.valid(signature, chained):
            report.problems.append(
                Problem(seq, -1, "ledger", detail="signature does not verify with this key")
            )
        if kind == "prune":
            body = (
                orjson.dumps(orjson.loads(detail), option=orjson.OPT_SORT_KEYS) if detail else b""
            )
            if hashlib.sha256(body).digest() != digest:
                report.problems.append(Problem(seq, -1, "ledger", detail="prune record altered"))
            else:
                for first, last in orjson.loads(detail)["ranges"]:
                    pruned.update(range(first, last + 1))
        else:
            batches[seq] = (count, digest)
        prev, expected_seq = chained, seq + 1
    report.head = prev.hex()
    report.pruned_batches = len(pruned & set(batches))
    live = sorted(s for s in batches if s not in pruned)
    report.batches = len(batches)
    for i in range(0, len(live), CHUNK):
        chunk = live[i : i + CHUNK]
        report.events += _verify_chunk(store, chunk, batches, report.problems)
    _orphans(store, pruned, report.problems)
    report.problems = _reconcile(report.problems)
    return report


def _verify_chunk(
    store: DuckDBStore,
    seqs: list[int],
    batches: dict[int, tuple[int, bytes]],
    problems: list[Problem],
) -> int:
    con = store.con
    low, high = seqs[0], seqs[-1]
    entries = store.sql(
        "SELECT seq, pos, tw_tenant, tw_uid, hash FROM ledger_entries "
        "WHERE seq BETWEEN ? AND ? ORDER BY seq, pos",
        [low, high],
    )
    for seq in seqs:
        mine = entries.filter(pl.col("seq") == seq)
        count, digest = batches[seq]
        if mine.height != count or batch_hash(mine) != digest:
            problems.append(Problem(seq, -1, "ledger", detail="the batch's entries were altered"))
    columns = ", ".join(f'"{c}"' for c in EVENT_SCHEMA.names)
    table = con.sql(
        f"SELECT {columns}, tw_seq, tw_pos FROM events "  # noqa: S608
        "WHERE tw_seq BETWEEN ? AND ? ORDER BY tw_seq, tw_pos",
        params=[low, high],
    ).to_arrow_table()
    events = pl.DataFrame(pl.from_arrow(table))
    stored = events.select("tw_tenant", "tw_uid", "tw_seq", "tw_pos").with_columns(
        pl.Series("actual", event_hashes(events) if events.height else [], dtype=pl.Binary)
    )
    joined = entries.filter(pl.col("seq").is_in(seqs)).join(
        stored, on=["tw_tenant", "tw_uid"], how="full", coalesce=True
    )
    moved_hashes = set(stored["actual"].to_list())
    recorded = dict(zip(entries["hash"].to_list(), entries["tw_uid"].to_list(), strict=False))
    for row in joined.iter_rows(named=True):
        if row["seq"] is None:  # stored, but no entry for it in these batches
            problems.append(
                Problem(
                    row["tw_seq"], row["tw_pos"], "inserted", row["tw_uid"], "not in the ledger"
                )
            )
        elif row["actual"] is None:
            detail = "missing from the store"
            kind = "deleted"
            if row["hash"] in moved_hashes:
                kind, detail = "moved", "its content is stored under another record"
            problems.append(Problem(row["seq"], row["pos"], kind, row["tw_uid"], detail))
        elif (row["tw_seq"], row["tw_pos"]) != (row["seq"], row["pos"]):
            problems.append(
                Problem(
                    row["seq"],
                    row["pos"],
                    "moved",
                    row["tw_uid"],
                    f"stored at batch {row['tw_seq']}, position {row['tw_pos']}",
                )
            )
        elif row["actual"] != row["hash"]:
            other = recorded.get(row["actual"])
            detail = (
                f"its content is that of record {other}"
                if other and other != row["tw_uid"]
                else "its content differs from what was committed"
            )
            problems.append(Problem(row["seq"], row["pos"], "altered", row["tw_uid"], detail))
    return events.height


def _orphans(store: DuckDBStore, pruned: set[int], problems: list[Problem]) -> None:
    """Stored events whose batch is not a (live) batch of the ledger at all."""
    rows = store.con.execute(
        "SELECT tw_seq, tw_pos, tw_uid FROM events WHERE tw_seq IS NULL OR tw_seq NOT IN "
        "(SELECT seq FROM ledger WHERE kind <> 'prune') ORDER BY tw_seq NULLS FIRST, tw_pos"
    ).fetchall()
    for seq, pos, uid in rows:
        problems.append(
            Problem(
                seq if seq is not None else 0,
                pos if pos is not None else -1,
                "inserted",
                uid,
                "its batch is not in the ledger",
            )
        )
    if pruned:
        rows = store.con.execute(
            "SELECT tw_seq, tw_pos, tw_uid FROM events WHERE tw_seq IN ?", [sorted(pruned)]
        ).fetchall()
        for seq, pos, uid in rows:
            problems.append(Problem(seq, pos, "inserted", uid, "its batch was pruned"))


def _reconcile(problems: list[Problem]) -> list[Problem]:
    """A record reported deleted from its place and inserted elsewhere was moved."""
    deleted = {p.tw_uid: p for p in problems if p.kind == "deleted"}
    inserted = {p.tw_uid: p for p in problems if p.kind == "inserted"}
    out = [p for p in problems if not (p.tw_uid in deleted and p.tw_uid in inserted)]
    for uid in deleted.keys() & inserted.keys():
        gone, found = deleted[uid], inserted[uid]
        out.append(
            Problem(
                gone.seq,
                gone.pos,
                "moved",
                uid,
                f"stored at batch {found.seq}, position {found.pos}",
            )
        )
    return out


# -- pruning --------------------------------------------------------------------------------------


def prune(store: DuckDBStore, key: LedgerKey, before: datetime) -> tuple[int, int]:
    """Remove the batches whose newest event is older than ``before`` (whole batches, so the
    chain still verifies) and record the pruning in the chain. (batches, events) removed."""
    with store.transaction():
        seqs = [
            r[0]
            for r in store.con.execute(
                "SELECT tw_seq FROM events GROUP BY tw_seq HAVING max(time) < ? ORDER BY tw_seq",
                [before],
            ).fetchall()
            if r[0] is not None
        ]
        if not seqs:
            return 0, 0
        removed = store.con.execute(
            "DELETE FROM events WHERE tw_seq IN ? RETURNING 1", [seqs]
        ).fetchall()
        store.con.execute("DELETE FROM ledger_entries WHERE seq IN ?", [seqs])
        append_record(
            store.con,
            key,
            "prune",
            {"before": before.isoformat(), "events": len(removed), "ranges": _ranges(seqs)},
        )
    return len(seqs), len(removed)


def _ranges(values: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for v in values:
        if out and v == out[-1][1] + 1:
            out[-1][1] = v
        else:
            out.append([v, v])
    return out
