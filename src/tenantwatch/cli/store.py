"""Commands on the store: ``verify``, ``prune``, ``query``, ``timeline``, ``export lake``."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from tenantwatch.errors import ConfigError
from tenantwatch.store import DuckDBStore
from tenantwatch.store.ledger import LedgerKey, prune, verify

__all__ = ["parse_since", "prune_store", "query_store", "timeline", "verify_store"]

STORE_FILE = "tenantwatch.duckdb"
_AGO = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")


def open_store(data_dir: Path, *, read_only: bool = True) -> DuckDBStore:
    path = data_dir / STORE_FILE
    if not path.exists():
        raise ConfigError(f"no store at {path}", fix="give the pipeline's --data-dir")
    return DuckDBStore(path, read_only=read_only)


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``24h``, ``7d``, ``30m``, ``2w`` ago, or an ISO 8601 date/time (UTC if no offset)."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    m = _AGO.match(text)
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m[2]]
        return now - timedelta(**{unit: int(m[1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"cannot read {text!r} as a time", fix="use 24h, 7d, 2w or 2026-01-12T09:00:00Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# -- verify and prune -------------------------------------------------------------------------


def verify_store(data_dir: Path, public_key: Path | None, console: Console) -> bool:
    store = open_store(data_dir)
    try:
        if public_key is not None:
            key = LedgerKey.from_public_pem(public_key.read_bytes(), str(public_key))
            source = str(public_key)
        else:
            key = store.public_key()
            source = "the store's own copy (pass --public-key for an independent check)"
        report = verify(store, key)
    finally:
        store.close()
    console.print(f"public key {key.fingerprint} from {source}", highlight=False)
    if report.ok:
        console.print(
            f"[green]verified[/]: {report.events:,} events in {report.batches:,} batches "
            f"({report.pruned_batches:,} pruned); chain head {report.head}",
            highlight=False,
        )
        return True
    kinds: dict[str, int] = {}
    for p in report.problems:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    console.print(f"[red]NOT VERIFIED[/]: first problem: {report.first}", highlight=False)
    console.print(
        "problems: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())), highlight=False
    )
    for p in sorted(report.problems)[1:20]:
        console.print(f"  {p}", highlight=False)
    return False


def prune_store(data_dir: Path, older_than: str, console: Console) -> None:
    before = parse_since(older_than)
    assert before is not None
    store = open_store(data_dir, read_only=False)
    try:
        assert store.key is not None
        batches, events = prune(store, store.key, before)
    finally:
        store.close()
    console.print(
        f"pruned {events:,} events ({batches:,} batches) older than {before:%Y-%m-%d %H:%M} UTC; "
        "the pruning is recorded in the ledger",
        highlight=False,
    )


# -- query and timeline -----------------------------------------------------------------------


def query_store(data_dir: Path, sql: str, fmt: str, console: Console) -> None:
    store = open_store(data_dir)
    try:
        frame = store.sql(sql)
    finally:
        store.close()
    _print(frame, fmt, console, title=None)


def timeline(
    data_dir: Path,
    *,
    user: str | None,
    app: str | None,
    ip: str | None,
    since: str | None,
    limit: int,
    fmt: str,
    console: Console,
) -> None:
    """One entity's events in time order: who, what, from where, with what outcome."""
    if sum(x is not None for x in (user, app, ip)) != 1:
        raise ConfigError("give one of --user, --app or --ip")
    clauses: list[str] = []
    params: list[Any] = []
    if user is not None:
        clauses.append(
            "(lower(user.name) = lower(?) OR lower(actor.user.name) = lower(?) "
            "OR lower(user.email_addr) = lower(?))"
        )
        params += [user, user, user]
    if app is not None:
        clauses.append("(actor.app_uid = ? OR lower(actor.app_name) = lower(?))")
        params += [app, app]
    if ip is not None:
        clauses.append("src_endpoint.ip = ?")
        params.append(ip)
    start = parse_since(since)
    if start is not None:
        clauses.append("time >= ?")
        params.append(start)
    sql = f"""
        SELECT time, class_name AS class, coalesce(metadata.event_code, activity_name) AS activity,
               status, coalesce(actor.user.name, actor.app_name, user.name) AS actor,
               user.name AS target, src_endpoint.ip AS ip, src_endpoint.location.country AS country,
               coalesce(actor.app_name, service.name) AS app, metadata.log_name AS log
        FROM events WHERE {" AND ".join(clauses)} ORDER BY time LIMIT {int(limit)}
    """  # noqa: S608 - the clauses are ours, values are parameters
    store = open_store(data_dir)
    try:
        frame = store.sql(sql, params)
    finally:
        store.close()
    who = user or app or ip
    _print(frame, fmt, console, title=f"timeline of {who} ({frame.height} events)")


def _print(frame: pl.DataFrame, fmt: str, console: Console, *, title: str | None) -> None:
    if fmt == "json":
        sys.stdout.write(frame.write_ndjson())
    elif fmt == "csv":
        sys.stdout.write(frame.write_csv())
    elif fmt == "table":
        table = Table(title=title)
        for column in frame.columns:
            table.add_column(column, overflow="fold")
        for row in frame.iter_rows():
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)
    else:
        raise ConfigError(f"unknown format {fmt!r}", fix="use table, json or csv")
    sys.stdout.flush()
