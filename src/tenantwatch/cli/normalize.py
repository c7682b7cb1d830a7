"""``tenantwatch normalize``: exported files to OCSF events, offline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tenantwatch.model.batch import RawBatch
from tenantwatch.model.clock import utcnow
from tenantwatch.model.events import to_ocsf_dicts
from tenantwatch.normalize import normalize
from tenantwatch.sources.files import read_records_from

__all__ = ["normalize_files"]

BATCH = 5000


def normalize_files(
    paths: list[Path], fmt: str, tenant: str
) -> Iterator[tuple[dict[str, Any] | None, str]]:
    """(OCSF event, "") for each normalized record, (None, "where: reason") for the others."""
    for path in paths:
        pending: dict[str, list[tuple[bytes, str]]] = defaultdict(list)
        for record in read_records_from(path, fmt):
            if record.problem:
                yield None, f"{record.where}: {record.problem}"
                continue
            pending[record.shape].append((record.raw, record.where))
            if len(pending[record.shape]) >= BATCH:
                yield from _flush(record.shape, pending.pop(record.shape), tenant, path)
        for shape, items in pending.items():
            yield from _flush(shape, items, tenant, path)


def _flush(
    shape: str, items: list[tuple[bytes, str]], tenant: str, path: Path
) -> Iterator[tuple[dict[str, Any] | None, str]]:
    raw = RawBatch(tenant, "file", str(path), shape, [r for r, _ in items], utcnow())
    batch = normalize(raw)
    places = dict(items)
    for q in batch.quarantined:
        yield None, f"{places.get(q.raw, str(path))}: {q.reason}"
    for event in to_ocsf_dicts(batch.events):
        yield event, ""
