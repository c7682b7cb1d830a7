"""``tenantwatch status``: how every source is doing, from ``status.json`` and the store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.table import Table

from tenantwatch.errors import StoreError
from tenantwatch.store import DuckDBStore

__all__ = ["show_status"]


def _print_delivery(pipeline: dict[str, Any], console: Console) -> None:
    """Alert latency, sink backlogs and the age of each stream's newest record."""
    p50, p99 = pipeline.get("alert_latency_p50_secs"), pipeline.get("alert_latency_p99_secs")
    if p50 is not None:
        console.print(
            f"alerts: availability → delivered p50 ≤ {p50:g} s, p99 ≤ {p99:g} s", highlight=False
        )
    backlog = {k: v for k, v in (pipeline.get("sink_backlog") or {}).items() if v}
    if backlog:
        waiting = ", ".join(f"{sink} {n}" for sink, n in sorted(backlog.items()))
        console.print(f"[yellow]sinks behind[/]: {waiting} findings waiting", highlight=False)
    ages = pipeline.get("stream_staleness_secs") or {}
    if ages:
        oldest = sorted(ages.items(), key=lambda kv: -kv[1])[:3]
        shown = ", ".join(f"{stream} {age / 60:.0f} min" for stream, age in oldest)
        console.print(f"newest record per stream, oldest first: {shown}", highlight=False)


def show_status(data_dir: Path, console: Console) -> None:
    if not console.is_terminal:  # piped or captured: do not squeeze the tables into 80 columns
        console.width = max(console.width, 132)
    status_file = data_dir / "status.json"
    status = orjson.loads(status_file.read_bytes()) if status_file.exists() else {}
    table = Table(title=f"tenantwatch status ({data_dir})", box=box.SIMPLE_HEAD, padding=(0, 1))
    # short headers so the table fits an 80-column terminal; errors are listed below it
    for column in (
        "source",
        "records",
        "dupes",
        "pages",
        "requests",
        "throttled",
        "retries",
        "errors",
        "gaps",
        "polled",
    ):
        table.add_column(column, no_wrap=True, justify="left" if column == "source" else "right")
    errors: list[str] = []
    for name, s in (status.get("sources") or {}).items():
        table.add_row(
            name,
            str(s.get("records", 0)),
            str(s.get("duplicates", 0)),
            str(s.get("pages", 0)),
            str(s.get("requests", 0)),
            str(s.get("throttled", 0)),
            str(s.get("retries", 0)),
            str(s.get("errors", 0)),
            str(s.get("gaps", 0)),
            (s.get("last_poll") or "")[11:19],
        )
        if s.get("last_error"):
            errors.append(f"{name} ({s.get('kind', '')}): {s['last_error']}")
    console.print(table)
    for line in errors:
        console.print(f"[red]last error[/red] {line}", highlight=False)
    _print_delivery(status.get("pipeline") or {}, console)
    try:
        store = DuckDBStore(data_dir / "tenantwatch.duckdb", read_only=True)
    except StoreError as exc:
        console.print(f"[yellow]store busy ({exc}); figures above are from status.json[/]")
        return
    try:
        committed = store.checkpoints()
        several = len({tenant for tenant, _, _ in committed}) > 1
        checkpoints = Table(title="watermarks (UTC)", box=box.SIMPLE_HEAD, padding=(0, 1))
        for column in ("tenant", "source", "stream", "watermark", "lag")[0 if several else 1 :]:
            checkpoints.add_column(column, no_wrap=True)
        now = datetime.fromisoformat(status["time"]) if status.get("time") else None
        for (tenant, source, stream), cp in sorted(committed.items()):
            lag = f"{(now - cp.watermark).total_seconds() / 60:.1f} min" if now else ""
            row = (tenant[:8], source, stream, f"{cp.watermark:%m-%d %H:%M:%S}", lag)
            checkpoints.add_row(*row[0 if several else 1 :])
        console.print(checkpoints)
        counts = store.counts()
        console.print(
            f"store: {counts['events']} events, {counts['findings']} findings, "
            f"{counts['quarantined']} quarantined, {counts['gaps']} gaps"
        )
        quarantine = store.sql(
            "SELECT source, stream, count(*) AS records, arg_max(reason, id) AS latest_reason "
            "FROM quarantine GROUP BY source, stream ORDER BY records DESC LIMIT 20"
        )
        if quarantine.height:
            table = Table(title="quarantine", box=box.SIMPLE_HEAD, padding=(0, 1))
            for column in quarantine.columns:
                table.add_column(column, overflow="fold")
            for row in quarantine.iter_rows():
                table.add_row(*(str(v) for v in row))
            console.print(table)
        for gap in store.gaps()[-10:]:
            console.print(
                f"[red]gap[/] {gap.stream}: {gap.start:%Y-%m-%d %H:%M} → {gap.end:%Y-%m-%d %H:%M} "
                f"{gap.reason}"
            )
    finally:
        store.close()
