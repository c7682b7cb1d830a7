"""``tenantwatch status``: how every source is doing, from ``status.json`` and the store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from tenantwatch.errors import StoreError
from tenantwatch.store import DuckDBStore

__all__ = ["show_status"]


def show_status(data_dir: Path, console: Console) -> None:
    status_file = data_dir / "status.json"
    status = orjson.loads(status_file.read_bytes()) if status_file.exists() else {}
    table = Table(title=f"tenantwatch status ({data_dir})")
    for column in (
        "source",
        "kind",
        "records",
        "duplicates",
        "pages",
        "requests",
        "throttled",
        "retries",
        "errors",
        "gaps",
        "last poll",
        "last error",
    ):
        table.add_column(column)
    for name, s in (status.get("sources") or {}).items():
        table.add_row(
            name,
            s.get("kind", ""),
            str(s.get("records", 0)),
            str(s.get("duplicates", 0)),
            str(s.get("pages", 0)),
            str(s.get("requests", 0)),
            str(s.get("throttled", 0)),
            str(s.get("retries", 0)),
            str(s.get("errors", 0)),
            str(s.get("gaps", 0)),
            (s.get("last_poll") or "")[:19],
            (s.get("last_error") or "")[:60],
        )
    console.print(table)
    try:
        store = DuckDBStore(data_dir / "tenantwatch.duckdb", read_only=True)
    except StoreError as exc:
        console.print(f"[yellow]store busy ({exc}); figures above are from status.json[/]")
        return
    try:
        checkpoints = Table(title="watermarks")
        for column in ("tenant", "source", "stream", "watermark", "lag"):
            checkpoints.add_column(column)
        now = datetime.fromisoformat(status["time"]) if status.get("time") else None
        for (tenant, source, stream), cp in sorted(store.checkpoints().items()):
            lag = f"{(now - cp.watermark).total_seconds() / 60:.1f} min" if now else ""
            checkpoints.add_row(
                tenant[:8], source, stream, f"{cp.watermark:%Y-%m-%d %H:%M:%S}", lag
            )
        console.print(checkpoints)
        counts = store.counts()
        console.print(
            f"store: {counts['events']} events, {counts['findings']} findings, "
            f"{counts['quarantined']} quarantined, {counts['gaps']} gaps"
        )
        for gap in store.gaps()[-10:]:
            console.print(
                f"[red]gap[/] {gap.stream}: {gap.start:%Y-%m-%d %H:%M} → {gap.end:%Y-%m-%d %H:%M} "
                f"{gap.reason}"
            )
    finally:
        store.close()
