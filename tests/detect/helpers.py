"""Building small event frames for rule tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from tenantwatch.normalize.columns import conform

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def auth_event(
    uid: str,
    *,
    user: str | None = "alice@contoso.com",
    ip: str | None = "203.0.113.5",
    status_id: int = 2,
    code: str | None = "50126",
    minutes: float = 0,
    is_mfa: bool | None = False,
    raw: dict[str, Any] | None = None,
    tenant: str = "t1",
    **extra: Any,
) -> dict[str, Any]:
    import orjson

    row: dict[str, Any] = {
        "tw_tenant": tenant,
        "tw_uid": uid,
        "time": T0 + timedelta(minutes=minutes),
        "class_uid": 3002,
        "activity_id": 1,
        "status_id": status_id,
        "status_code": code,
        "is_mfa": is_mfa,
        "user": {"name": user, "type_id": 1} if user is not None else None,
        "src_endpoint": {"ip": ip} if ip is not None else None,
        "raw_data": orjson.dumps(raw or {"id": uid}).decode(),
    }
    row.update(extra)
    return row


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows (partial events) as a frame with the full event schema."""
    from tenantwatch.normalize.columns import empty_events

    schema = empty_events().schema
    data = {name: [r.get(name) for r in rows] for name in schema}
    return conform(pl.DataFrame(data, schema=schema))
