"""Exported files as a source: one file, or a directory watched for new and changed files.

Each file is one stream, checkpointed on its size and modification time: a file is read again
only when it changed (and then the store drops the records it already holds). Records are
grouped by shape; what cannot be read goes to quarantine with its reason and place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenantwatch.model.batch import Checkpoint, RawBatch
from tenantwatch.model.clock import Clock
from tenantwatch.sources.base import SourceMetrics
from tenantwatch.sources.files import read_records_from

__all__ = ["FileSource"]

BATCH = 5000
SUFFIXES = (".json", ".ndjson", ".jsonl", ".csv", ".log")


class FileSource:
    """Reads exported audit files."""

    kind = "file"

    def __init__(
        self,
        *,
        source_id: str,
        path: Path,
        clock: Clock,
        tenant: str = "files",
        fmt: str = "auto",
        poll_interval_secs: float = 30.0,
    ) -> None:
        self.id = source_id
        self.path = path
        self.clock = clock
        self.tenant = tenant
        self.fmt = fmt
        self.poll_interval_secs = poll_interval_secs
        self.metrics = SourceMetrics()

    def _files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(
                p for p in self.path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
            )
        return [self.path] if self.path.exists() else []

    @property
    def streams(self) -> list[str]:
        return [str(p) for p in self._files()]

    def poll(self, checkpoints: dict[str, Checkpoint]) -> Iterator[RawBatch]:
        self.metrics.add(polls=1)
        for path in self._files():
            stream = str(path)
            stat = path.stat()
            state = {"size": stat.st_size, "mtime": stat.st_mtime}
            previous = checkpoints.get(stream)
            if previous is not None and previous.state == state:
                continue
            yield from self._read(path, stream, state)

    def _read(self, path: Path, stream: str, state: dict[str, Any]) -> Iterator[RawBatch]:
        pending: dict[str, list[bytes]] = defaultdict(list)
        rejected: list[tuple[bytes, str]] = []
        for record in read_records_from(path, self.fmt):
            if record.problem:
                rejected.append((record.raw, f"{record.where}: {record.problem}"))
                continue
            pending[record.shape].append(record.raw)
            self.metrics.add(records=1)
            if len(pending[record.shape]) >= BATCH:
                yield self._batch(stream, record.shape, pending.pop(record.shape), ())
        shapes = list(pending.items()) or [("o365.management", [])]
        modified = datetime.fromtimestamp(float(state["mtime"]), UTC)
        for i, (shape, records) in enumerate(shapes):
            last = i == len(shapes) - 1
            yield self._batch(
                stream,
                shape,
                records,
                tuple(rejected) if last else (),
                Checkpoint(self.tenant, self.id, stream, modified, state) if last else None,
            )

    def _batch(
        self,
        stream: str,
        shape: str,
        records: list[bytes],
        rejected: tuple[tuple[bytes, str], ...],
        checkpoint: Checkpoint | None = None,
    ) -> RawBatch:
        self.metrics.add(pages=1)
        return RawBatch(
            tenant=self.tenant,
            source=self.id,
            stream=stream,
            shape=shape,
            records=records,
            fetched_time=self.clock.now(),
            checkpoint=checkpoint,
            rejected=rejected,
        )
