"""The Parquet lake: stored events as OCSF 1.3 Parquet, laid out as Amazon Security Lake custom
sources expect.

One custom source per OCSF class (Security Lake takes one class per custom source)::

    <out>/ext/<prefix>-<class>/region=<region>/accountId=<account>/eventDay=YYYYMMDD/<file>.parquet

Files are zstd-compressed, rows sorted by event time, rolled over at ``max_file_bytes``. The
columns are the OCSF attributes of the events (tenantwatch's own bookkeeping columns stay in the
store); the tenant is ``metadata.tenant_uid`` and the record id ``metadata.uid``.

Exports cover whole days (UTC): ``since`` is rounded down and ``until`` up to midnight, and a day
exported again replaces that day's files, so exporting twice never duplicates a record.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tenantwatch.errors import ConfigError, StoreError
from tenantwatch.model.schema import EVENT_SCHEMA
from tenantwatch.store.duckdb_store import DuckDBStore

__all__ = ["OCSF_COLUMNS", "LakeExport", "export_lake", "source_name"]

OCSF_COLUMNS = [n for n in EVENT_SCHEMA.names if not n.startswith("tw_")]
_REGION = re.compile(r"^[a-z0-9-]{1,32}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")


@dataclass
class LakeExport:
    """What an export wrote."""

    events: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    by_source: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_sec(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def source_name(prefix: str, class_name: str) -> str:
    """``tenantwatch-authentication`` for class Authentication."""
    slug = re.sub(r"[^a-z0-9]+", "-", class_name.lower()).strip("-")
    return f"{prefix}-{slug}"


def _day(when: datetime) -> datetime:
    return datetime(when.year, when.month, when.day, tzinfo=UTC)


def export_lake(
    store: DuckDBStore,
    out: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    region: str = "local",
    account_id: str = "000000000000",
    prefix: str = "tenantwatch",
    max_file_bytes: int = 256 * 1024 * 1024,
) -> LakeExport:
    """Write the stored events of ``[since, until)`` (whole days) to the lake at ``out``."""
    if not _REGION.match(region):
        raise ConfigError(f"region {region!r}", fix="use a region name such as us-east-1")
    if not _ACCOUNT.match(account_id):
        raise ConfigError(f"account id {account_id!r}", fix="use the 12-digit AWS account id")
    clauses, params = ["TRUE"], list[Any]()
    if since is not None:
        clauses.append("time >= ?")
        params.append(_day(since))
    if until is not None:
        end = _day(until)
        clauses.append("time < ?")
        params.append(end if end == until else end + timedelta(days=1))
    where = " AND ".join(clauses)
    report = LakeExport()
    t0 = time.perf_counter()
    con = store.con
    classes = con.execute(
        f"SELECT class_uid, any_value(class_name), list(DISTINCT strftime(time, '%Y%m%d')) "  # noqa: S608
        f"FROM events WHERE {where} GROUP BY class_uid ORDER BY class_uid",
        params,
    ).fetchall()
    columns = ", ".join(f'"{c}"' for c in OCSF_COLUMNS)
    for class_uid, class_name, days in classes:
        source = source_name(prefix, class_name or f"class-{class_uid}")
        root = out / "ext" / source
        base = root / f"region={region}" / f"accountId={account_id}"
        for day in days:  # a day exported again replaces its files
            shutil.rmtree(base / f"eventDay={day}", ignore_errors=True)
        base.mkdir(parents=True, exist_ok=True)
        try:
            count = con.execute(
                f"""COPY (
                        SELECT {columns}, ? AS region, ? AS accountId,
                               strftime(time, '%Y%m%d') AS eventDay
                        FROM events WHERE {where} AND class_uid = ? ORDER BY time
                    ) TO '{_quote(root)}' (
                        FORMAT parquet, COMPRESSION zstd,
                        PARTITION_BY (region, accountId, eventDay),
                        APPEND true, FILENAME_PATTERN 'part-{{uuid}}',
                        FILE_SIZE_BYTES {int(max_file_bytes)}
                    )""",  # noqa: S608 - our column names, a validated path; values are params
                [region, account_id, *params, class_uid],
            ).fetchall()
        except Exception as exc:
            raise StoreError(f"lake export of {source} failed: {exc}") from None
        written = int(count[0][0]) if count else 0
        report.by_source[source] = written
        report.events += written
    report.seconds = time.perf_counter() - t0
    for f in (out / "ext").rglob("*.parquet") if (out / "ext").exists() else []:
        report.files += 1
        report.bytes += f.stat().st_size
    return report


def _quote(path: Path) -> str:
    text = str(path.resolve())
    if "'" in text:
        raise ConfigError(f"lake path {text!r} contains a quote", fix="choose another --out")
    return text
