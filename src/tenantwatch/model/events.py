"""Events as OCSF JSON documents (nested, nulls dropped, times in epoch milliseconds)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import polars as pl

from tenantwatch.model.schema import OCSF_COLUMNS

__all__ = ["to_ocsf", "to_ocsf_dicts"]

_TIMES = {"time", "logged_time", "processed_time", "created_time", "modified_time"}


def _clean(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {k: _clean(v, k) for k, v in value.items() if v is not None}
        out = {k: v for k, v in out.items() if v not in ({}, [])}
        return out
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value


def to_ocsf(row: dict[str, Any]) -> dict[str, Any]:
    """One event row (as Polars gives it) as an OCSF document."""
    event = {k: row.get(k) for k in OCSF_COLUMNS}
    unmapped = event.get("unmapped")
    if isinstance(unmapped, str):
        try:
            event["unmapped"] = orjson.loads(unmapped)
        except orjson.JSONDecodeError:
            event["unmapped"] = {"text": unmapped}
    document: dict[str, Any] = _clean(event)
    return document


def to_ocsf_dicts(events: pl.DataFrame) -> Iterator[dict[str, Any]]:
    """Every event of a frame as an OCSF document."""
    for row in events.iter_rows(named=True):
        yield to_ocsf(row)
