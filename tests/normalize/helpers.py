"""Normalizing records in tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from tenantwatch.model.batch import EventBatch, RawBatch
from tenantwatch.normalize import normalize

FETCHED = datetime(2024, 1, 10, 9, 30, tzinfo=UTC)


def run(shape: str, *records: Any) -> EventBatch:
    raw = [r if isinstance(r, bytes) else orjson.dumps(r) for r in records]
    return normalize(RawBatch("tenant-1", "test", "stream", shape, raw, FETCHED))


def one(shape: str, record: Any) -> dict[str, Any]:
    batch = run(shape, record)
    assert not batch.quarantined, [q.reason for q in batch.quarantined]
    (row,) = batch.events.to_dicts()
    return row
