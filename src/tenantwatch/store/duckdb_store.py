"""The event store: one DuckDB file holding events, findings, checkpoints and quarantine.

Inserts are idempotent on (tenant, record id): a record fetched twice is stored once, and only
the rows a batch really added are handed to detection, so a duplicate never alerts twice. A
batch's events, findings, quarantined records and source checkpoints commit in one transaction:
after a crash at any instant the store holds either all of a batch or none of it, and the
sources resume from the checkpoint that matches what is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl
import pyarrow as pa

from tenantwatch.errors import Gap, StoreError
from tenantwatch.model.batch import Checkpoint, QuarantinedRecord
from tenantwatch.model.finding import Finding
from tenantwatch.model.schema import EVENT_SCHEMA
from tenantwatch.normalize.columns import conform
from tenantwatch.store.ledger import (
    CANONICAL,
    LEDGER_TABLES,
    LedgerKey,
    append_events,
    head,
)

__all__ = ["DuckDBStore"]

SCHEMA_VERSION = 2  # 2: events carry their place in the signed ledger (tw_seq, tw_pos)
EVENT_COLUMNS = EVENT_SCHEMA.names


def _event_ddl(con: duckdb.DuckDBPyConnection) -> str:
    empty = EVENT_SCHEMA.empty_table()  # noqa: F841 - read by DuckDB's replacement scan
    rel = con.sql("SELECT * FROM empty")
    columns = [f'"{n}" {t}' for n, t in zip(rel.columns, rel.types, strict=True)]
    columns.append('"tw_stored_time" TIMESTAMP WITH TIME ZONE DEFAULT current_timestamp')
    columns.append('"tw_seq" BIGINT')
    columns.append('"tw_pos" INTEGER')
    return (
        "CREATE TABLE IF NOT EXISTS events ("
        + ", ".join(columns)
        + ", PRIMARY KEY (tw_tenant, tw_uid))"
    )


TABLES = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    # the access policy's verdict on each successful sign-in (tenantwatch.access)
    """CREATE TABLE IF NOT EXISTS access_verdicts (
        tenant VARCHAR NOT NULL, event_uid VARCHAR NOT NULL, record_uid VARCHAR,
        time TIMESTAMP WITH TIME ZONE, source VARCHAR, user_name VARCHAR, app_uid VARCHAR,
        app_name VARCHAR, logon_type VARCHAR, protocol VARCHAR, ip VARCHAR, is_mfa BOOLEAN,
        compliant BOOLEAN, violations VARCHAR[],
        PRIMARY KEY (tenant, event_uid)
    )""",
    """CREATE TABLE IF NOT EXISTS findings (
        uid VARCHAR PRIMARY KEY,
        tenant VARCHAR NOT NULL,
        rule_id VARCHAR NOT NULL,
        rule_title VARCHAR,
        severity VARCHAR,
        entity_key VARCHAR,
        entity JSON,
        description VARCHAR,
        techniques VARCHAR[],
        first_seen TIMESTAMP WITH TIME ZONE,
        last_seen TIMESTAMP WITH TIME ZONE,
        created_time TIMESTAMP WITH TIME ZONE,
        updated_time TIMESTAMP WITH TIME ZONE DEFAULT current_timestamp,
        count INTEGER,
        evidence_uids VARCHAR[],
        observables JSON,
        status VARCHAR,
        delivered BOOLEAN DEFAULT false
    )""",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        tenant VARCHAR, source VARCHAR, stream VARCHAR,
        watermark TIMESTAMP WITH TIME ZONE,
        state JSON,
        updated_time TIMESTAMP WITH TIME ZONE DEFAULT current_timestamp,
        PRIMARY KEY (tenant, source, stream)
    )""",
    """CREATE TABLE IF NOT EXISTS content_ledger (
        tenant VARCHAR, source VARCHAR, stream VARCHAR, content_id VARCHAR,
        content_created TIMESTAMP WITH TIME ZONE,
        fetched_time TIMESTAMP WITH TIME ZONE DEFAULT current_timestamp,
        PRIMARY KEY (tenant, source, content_id)
    )""",
    """CREATE SEQUENCE IF NOT EXISTS gaps_seq""",
    """CREATE TABLE IF NOT EXISTS gaps (
        id BIGINT DEFAULT nextval('gaps_seq') PRIMARY KEY,
        tenant VARCHAR, stream VARCHAR,
        start_time TIMESTAMP WITH TIME ZONE, end_time TIMESTAMP WITH TIME ZONE,
        reason VARCHAR, content_ids VARCHAR[],
        recorded_time TIMESTAMP WITH TIME ZONE DEFAULT current_timestamp
    )""",
    """CREATE SEQUENCE IF NOT EXISTS quarantine_seq""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        id BIGINT DEFAULT nextval('quarantine_seq') PRIMARY KEY,
        tenant VARCHAR, source VARCHAR, stream VARCHAR, shape VARCHAR,
        reason VARCHAR, record_id VARCHAR, raw BLOB,
        time TIMESTAMP WITH TIME ZONE DEFAULT current_timestamp
    )""",
]


class DuckDBStore:
    """A tenantwatch store in one DuckDB file (``<data-dir>/tenantwatch.duckdb``)."""

    def __init__(
        self, path: Path | str, *, read_only: bool = False, key_path: Path | None = None
    ) -> None:
        self.path = Path(path)
        self.key_path = key_path or self.path.parent / "ledger.key"
        self.key: LedgerKey | None = None
        self._in_transaction = False
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open store {self.path}: {str(exc).splitlines()[0]} "
                "(another tenantwatch process may hold it; stop it or use its HTTP API)"
            ) from None
        self.con.execute("SET TimeZone='UTC'")
        if not read_only:
            # batches of wide events: checkpoint (compress into the main file) every 256 MB of
            # WAL rather than 16 MB, which costs a quarter of the insert time and makes a
            # smaller file (committed data is in the WAL either way)
            self.con.execute("SET checkpoint_threshold = '256MB'")
        self._lock = threading.RLock()
        if not read_only:
            self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            self.con.execute(_event_ddl(self.con))
            for ddl in [*TABLES, *LEDGER_TABLES]:
                self.con.execute(ddl)
            # a store of version 1: events had no place in the ledger yet
            self.con.execute("ALTER TABLE events ADD COLUMN IF NOT EXISTS tw_seq BIGINT")
            self.con.execute("ALTER TABLE events ADD COLUMN IF NOT EXISTS tw_pos INTEGER")
            for column in ("available_time", "detected_time", "delivered_time"):
                self.con.execute(
                    f"ALTER TABLE findings ADD COLUMN IF NOT EXISTS {column} "
                    "TIMESTAMP WITH TIME ZONE"
                )
            self.con.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
            self.con.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)]
            )
            self.key = self._ledger_key()
            self._adopt_unchained()

    def _ledger_key(self) -> LedgerKey:
        """The signing key; the store remembers its public half and refuses another key."""
        key = LedgerKey.load_or_create(self.key_path)
        row = self.con.execute("SELECT value FROM meta WHERE key = 'ledger_public_key'").fetchall()
        if not row:
            self.con.execute(
                "INSERT INTO meta VALUES ('ledger_public_key', ?)", [key.public_pem().decode()]
            )
            self.con.execute(
                "INSERT OR IGNORE INTO meta VALUES ('ledger_canonical', ?)", [CANONICAL]
            )
        elif row[0][0].encode() != key.public_pem():
            raise StoreError(
                f"the ledger key {self.key_path} is not the key this store was signed with; "
                "restore the store's key (or point --ledger-key at it)"
            )
        return key

    def public_key(self) -> LedgerKey:
        """The ledger's public key as the store recorded it."""
        row = self.con.execute("SELECT value FROM meta WHERE key = 'ledger_public_key'").fetchall()
        if not row:
            raise StoreError(f"{self.path} has no ledger yet")
        return LedgerKey.from_public_pem(row[0][0].encode(), "the store's public key")

    def _adopt_unchained(self) -> None:
        """Events stored before the ledger existed join it as one batch (kind ``adopted``)."""
        count = self.con.execute("SELECT count(*) FROM events WHERE tw_seq IS NULL").fetchall()
        if not count or not count[0][0]:
            return
        assert self.key is not None
        with self.transaction():
            seq = head(self.con)[0] + 1
            self.con.execute(
                "UPDATE events SET tw_seq = ?, tw_pos = r.pos FROM (SELECT tw_tenant AS t, "
                "tw_uid AS u, (row_number() OVER (ORDER BY tw_stored_time, tw_tenant, tw_uid) "
                "- 1)::INTEGER AS pos FROM events WHERE tw_seq IS NULL) r "
                "WHERE events.tw_tenant = r.t AND events.tw_uid = r.u",
                [seq],
            )
            adopted = self._events_where("tw_seq = ?", [seq])
            append_events(self.con, self.key, seq, adopted, "adopted")

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[DuckDBStore]:
        """Everything inside commits together or not at all (nested: part of the outer one)."""
        with self._lock:
            if self._in_transaction:
                yield self
                return
            self.con.execute("BEGIN TRANSACTION")
            self._in_transaction = True
            try:
                yield self
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            else:
                self.con.execute("COMMIT")
            finally:
                self._in_transaction = False

    # -- events -------------------------------------------------------------------------------

    def insert_events(
        self, events: pl.DataFrame, *, stored_time: datetime | None = None
    ) -> pl.DataFrame:
        """Insert the events not stored yet and record them in the ledger, in one transaction;
        return exactly those (the rest were duplicates), with ``tw_stored_time``.

        ``stored_time`` stamps the rows (the pipeline's clock, so that latencies on a simulated
        clock stay consistent); by default the wall clock."""
        if events.is_empty():
            return events
        if self.key is None:
            raise StoreError("the store is open read-only")
        batch = events.unique(subset=["tw_tenant", "tw_uid"], keep="first", maintain_order=True)
        columns = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
        with self.transaction():
            seq = head(self.con)[0] + 1
            placed = batch.select(EVENT_COLUMNS).with_columns(
                pl.lit(seq, dtype=pl.Int64).alias("tw_seq"),
                pl.int_range(pl.len(), dtype=pl.Int32).alias("tw_pos"),
            )
            arrow = placed.to_arrow()  # noqa: F841 - read by DuckDB's replacement scan
            stored_time = stored_time or datetime.now(UTC)
            keys = self.con.execute(
                f"INSERT OR IGNORE INTO events ({columns}, tw_seq, tw_pos, tw_stored_time) "  # noqa: S608
                f"SELECT {columns}, tw_seq, tw_pos, ?::TIMESTAMPTZ FROM arrow "
                "RETURNING tw_tenant, tw_uid",
                [stored_time],
            ).fetchall()
            added = pl.DataFrame(
                keys, schema={"tw_tenant": pl.String, "tw_uid": pl.String}, orient="row"
            )
            if added.height != placed.height:
                placed = placed.join(
                    added, on=["tw_tenant", "tw_uid"], how="semi", maintain_order="left"
                )
            if placed.height:
                append_events(self.con, self.key, seq, placed, "events")
        return placed.drop("tw_seq", "tw_pos").with_columns(
            pl.lit(stored_time, dtype=pl.Datetime("us", "UTC")).alias("tw_stored_time")
        )

    def _events_where(self, where: str, params: list[Any]) -> pl.DataFrame:
        columns = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
        table = self.con.sql(
            f"SELECT {columns}, tw_seq, tw_pos FROM events WHERE {where} "  # noqa: S608
            "ORDER BY tw_pos",
            params=params,
        ).to_arrow_table()
        return _frame(table)

    def events_since(self, since: datetime, *, tenant: str | None = None) -> pl.DataFrame:
        """Stored events with event time at or after ``since``, oldest first."""
        where, params = "time >= ?", list[Any]([since])
        if tenant:
            where, params = where + " AND tw_tenant = ?", [*params, tenant]
        columns = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
        with self._lock:
            frame = self.con.sql(
                f"SELECT {columns} FROM events WHERE {where} ORDER BY time",  # noqa: S608
                params=params,
            ).to_arrow_table()
        return conform(_frame(frame))

    def insert_verdicts(self, verdicts: pl.DataFrame) -> None:
        """Store access verdicts (one per sign-in event; a verdict already stored stays)."""
        if verdicts.is_empty():
            return
        arrow = verdicts.to_arrow()  # noqa: F841 - read by DuckDB's replacement scan
        with self._lock:
            self.con.execute("INSERT OR IGNORE INTO access_verdicts BY NAME SELECT * FROM arrow")

    def events_of_class(self, class_uid: int) -> pl.DataFrame:
        """Every stored event of one OCSF class, oldest first."""
        columns = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
        with self._lock:
            frame = self.con.sql(
                f"SELECT {columns} FROM events WHERE class_uid = ? ORDER BY time",  # noqa: S608
                params=[class_uid],
            ).to_arrow_table()
        return conform(_frame(frame))

    def newest_event_time(self) -> datetime | None:
        with self._lock:
            rows = self.con.execute("SELECT max(time) FROM events").fetchall()
        return rows[0][0] if rows else None

    # -- findings -----------------------------------------------------------------------------

    def upsert_findings(
        self,
        findings: list[Finding],
        *,
        available: dict[str, datetime] | None = None,
        detected_time: datetime | None = None,
    ) -> None:
        """Insert new findings; extend existing ones (keeping their delivery state).

        A new finding records when the record that raised it became available
        (``available``, by uid) and when it was detected, for latency accounting."""
        if not findings:
            return
        available = available or {}
        latest = {f.uid: f for f in findings}  # one row per finding: the last version given
        columns: list[tuple[str, Any, Callable[[Finding], Any]]] = [
            ("uid", pl.String, lambda f: f.uid),
            ("tenant", pl.String, lambda f: f.tenant),
            ("rule_id", pl.String, lambda f: f.rule_id),
            ("rule_title", pl.String, lambda f: f.rule_title),
            ("severity", pl.String, lambda f: f.severity),
            ("entity_key", pl.String, lambda f: f.entity_key),
            ("entity", pl.String, lambda f: orjson.dumps(f.entity).decode()),
            ("description", pl.String, lambda f: f.description),
            ("techniques", pl.List(pl.String), lambda f: list(f.techniques)),
            ("first_seen", pl.Datetime("us", "UTC"), lambda f: f.first_seen),
            ("last_seen", pl.Datetime("us", "UTC"), lambda f: f.last_seen),
            ("created_time", pl.Datetime("us", "UTC"), lambda f: f.created_time),
            ("count", pl.Int32, lambda f: f.count),
            ("evidence_uids", pl.List(pl.String), lambda f: list(f.evidence_uids)),
            ("observables", pl.String, lambda f: orjson.dumps(f.observables).decode()),
            ("status", pl.String, lambda f: f.status),
            ("available_time", pl.Datetime("us", "UTC"), lambda f: available.get(f.uid)),
            ("detected_time", pl.Datetime("us", "UTC"), lambda f: detected_time),
        ]
        frame = pl.DataFrame(  # one bulk upsert from Arrow, not a statement per finding
            {name: [get(f) for f in latest.values()] for name, _, get in columns},
            schema={name: dtype for name, dtype, _ in columns},
        )
        arrow = frame.to_arrow()  # noqa: F841 - read by DuckDB's replacement scan
        names = ", ".join(name for name, _, _ in columns)
        with self._lock:
            self.con.execute(
                f"""INSERT INTO findings ({names}) SELECT {names} FROM arrow
                   ON CONFLICT (uid) DO UPDATE SET
                       first_seen = excluded.first_seen, last_seen = excluded.last_seen,
                       count = excluded.count, evidence_uids = excluded.evidence_uids,
                       observables = excluded.observables, updated_time = now()"""  # noqa: S608
            )

    def findings(
        self, *, since: datetime | None = None, undelivered: bool = False
    ) -> list[Finding]:
        """Stored findings, oldest first; ``since`` filters on last seen."""
        clauses, params = [], []
        if since is not None:
            clauses.append("last_seen >= ?")
            params.append(since)
        if undelivered:
            clauses.append("NOT delivered")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self.con.execute(
                f"""SELECT uid, tenant, rule_id, rule_title, severity, entity, description,
                    techniques, first_seen, last_seen, created_time, count, evidence_uids,
                    observables, status FROM findings {where} ORDER BY created_time, uid""",  # noqa: S608
                params,
            ).fetchall()
        return [_finding(r) for r in rows]

    def mark_delivered(self, uids: list[str], when: datetime | None = None) -> None:
        """Every sink has these findings (delivered, or in its dead-letter file)."""
        if not uids:
            return
        with self._lock:
            self.con.execute(
                "UPDATE findings SET delivered = true, delivered_time = coalesce(delivered_time, "
                "?::TIMESTAMPTZ, current_timestamp) WHERE uid IN ?",
                [when, uids],
            )

    def newest_available(self) -> list[tuple[str, str, str, datetime]]:
        """(tenant, source, stream, newest availability time) of every stream stored."""
        with self._lock:
            rows = self.con.execute(
                "SELECT tw_tenant, tw_source, tw_stream, max(tw_available_time) FROM events "
                "WHERE tw_available_time IS NOT NULL GROUP BY ALL"
            ).fetchall()
        return [(t, s, st, when) for t, s, st, when in rows]

    # -- checkpoints and quarantine -----------------------------------------------------------

    def save_checkpoints(self, checkpoints: list[Checkpoint]) -> None:
        """Upsert where each stream got to; of several for one stream, the last counts (one
        statement for all)."""
        latest = {cp.key: cp for cp in checkpoints}
        if not latest:
            return
        rows = pa.table(
            {
                "tenant": [cp.tenant for cp in latest.values()],
                "source": [cp.source for cp in latest.values()],
                "stream": [cp.stream for cp in latest.values()],
                "watermark": pa.array(
                    [cp.watermark for cp in latest.values()], pa.timestamp("us", tz="UTC")
                ),
                "state": [orjson.dumps(cp.state).decode() for cp in latest.values()],
            }
        )
        with self._lock:
            self.con.register("tw_checkpoint_rows", rows)
            try:
                self.con.execute(
                    """INSERT INTO checkpoints (tenant, source, stream, watermark, state)
                       SELECT tenant, source, stream, watermark, state FROM tw_checkpoint_rows
                       ON CONFLICT (tenant, source, stream) DO UPDATE SET
                           watermark = excluded.watermark, state = excluded.state,
                           updated_time = now()"""
                )
            finally:
                self.con.unregister("tw_checkpoint_rows")

    def checkpoints(self) -> dict[tuple[str, str, str], Checkpoint]:
        with self._lock:
            rows = self.con.execute(
                "SELECT tenant, source, stream, watermark, state FROM checkpoints"
            ).fetchall()
        return {
            (t, s, st): Checkpoint(t, s, st, wm, orjson.loads(state) if state else {})
            for t, s, st, wm, state in rows
        }

    def quarantine(self, records: list[QuarantinedRecord]) -> None:
        if not records:
            return
        frame = pl.DataFrame(  # one bulk insert from Arrow (a bad batch can be large)
            {
                "tenant": [q.tenant for q in records],
                "source": [q.source for q in records],
                "stream": [q.stream for q in records],
                "shape": [q.shape for q in records],
                "reason": [q.reason for q in records],
                "record_id": [q.record_id for q in records],
                "raw": [q.raw for q in records],
            },
            schema={
                "tenant": pl.String,
                "source": pl.String,
                "stream": pl.String,
                "shape": pl.String,
                "reason": pl.String,
                "record_id": pl.String,
                "raw": pl.Binary,
            },
        )
        with self._lock:
            self.con.register("tw_quarantine", frame.to_arrow())
            try:
                self.con.execute(
                    "INSERT INTO quarantine (tenant, source, stream, shape, reason, record_id, "
                    "raw) SELECT * FROM tw_quarantine"
                )
            finally:
                self.con.unregister("tw_quarantine")

    # -- the content ledger and gaps ----------------------------------------------------------

    def record_content(self, fetched: list[tuple[str, str, str, str, datetime | None]]) -> None:
        """Remember content blobs as fetched, committed with their records: rows of
        (tenant, source, stream, content id, contentCreated). One statement for the lot —
        row-at-a-time inserts cost milliseconds each once the ledger is large."""
        if not fetched:
            return
        with self._lock:
            frame = pl.DataFrame(
                fetched,
                schema={
                    "tenant": pl.Utf8,
                    "source": pl.Utf8,
                    "stream": pl.Utf8,
                    "content_id": pl.Utf8,
                    "content_created": pl.Datetime("us", "UTC"),
                },
                orient="row",
            ).unique(subset=["tenant", "source", "content_id"])
            self.con.register("tw_fetched", frame)
            try:
                self.con.execute(
                    "INSERT OR IGNORE INTO content_ledger (tenant, source, stream, content_id, "
                    "content_created) SELECT tenant, source, stream, content_id, content_created "
                    "FROM tw_fetched"
                )
            finally:
                self.con.unregister("tw_fetched")

    def fetched_content(self, tenant: str, source: str, since: datetime) -> dict[str, set[str]]:
        """Content ids fetched since ``since``, by stream (older ones have expired upstream)."""
        with self._lock:
            rows = self.con.execute(
                "SELECT stream, content_id FROM content_ledger WHERE tenant = ? AND source = ? "
                "AND (content_created IS NULL OR content_created >= ?)",
                [tenant, source, since],
            ).fetchall()
        out: dict[str, set[str]] = {}
        for stream, content_id in rows:
            out.setdefault(stream, set()).add(content_id)
        return out

    def prune_content(self, before: datetime) -> int:
        """Forget ledger entries of content created before ``before`` (expired upstream)."""
        with self._lock:
            row = self.con.execute(
                "DELETE FROM content_ledger WHERE content_created < ? RETURNING 1", [before]
            ).fetchall()
        return len(row)

    def record_gaps(self, gaps: list[Gap]) -> None:
        if not gaps:
            return
        with self._lock:
            self.con.executemany(
                "INSERT INTO gaps (tenant, stream, start_time, end_time, reason, content_ids) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(g.tenant, g.stream, g.start, g.end, g.reason, list(g.content_ids)) for g in gaps],
            )

    def gaps(self) -> list[Gap]:
        with self._lock:
            rows = self.con.execute(
                "SELECT tenant, stream, start_time, end_time, reason, content_ids "
                "FROM gaps ORDER BY id"
            ).fetchall()
        return [Gap(t, s, a, b, r, tuple(ids or ())) for t, s, a, b, r, ids in rows]

    # -- reading ------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self._lock:
            row = self.con.execute(
                """SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM findings),
                          (SELECT count(*) FROM quarantine), (SELECT count(*) FROM gaps)"""
            ).fetchall()[0]  # fetchall: DuckDB 2 keeps a half-read result open after fetchone
        return {"events": row[0], "findings": row[1], "quarantined": row[2], "gaps": row[3]}

    def sql(self, query: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run a query and return its result as a Polars frame."""
        with self._lock:
            try:
                return _frame(self.con.sql(query, params=params or None).to_arrow_table())
            except duckdb.Error as exc:
                raise StoreError(str(exc).splitlines()[0]) from None


def _frame(table: Any) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _finding(row: tuple[Any, ...]) -> Finding:
    (
        uid,
        tenant,
        rule_id,
        title,
        severity,
        entity,
        description,
        techniques,
        first_seen,
        last_seen,
        created,
        count,
        evidence,
        observables,
        status,
    ) = row
    return Finding(
        uid=uid,
        tenant=tenant,
        rule_id=rule_id,
        rule_title=title,
        severity=severity,
        first_seen=first_seen,
        last_seen=last_seen,
        created_time=created,
        entity=orjson.loads(entity) if entity else {},
        description=description or "",
        techniques=tuple(techniques or ()),
        evidence_uids=list(evidence or []),
        observables=orjson.loads(observables) if observables else {},
        count=count or 0,
        status=status or "new",
    )
