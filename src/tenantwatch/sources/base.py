"""The Source protocol every collector implements, and the metrics each one keeps.

A source turns an upstream API into :class:`~tenantwatch.model.RawBatch` es. It is told where
each of its streams stopped (the committed checkpoints) and yields batches; a batch that carries
a checkpoint moves that stream forward only once the pipeline has committed its events.

A source whose streams start ``initial_lookback`` (a timedelta) before "now" on first use has that
start committed by the pipeline before it fetches anything (``Pipeline.start``).

Delivery guarantee of every source: at least once from the API, exactly once into the store
(the store drops re-fetched records by id).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from tenantwatch.model.batch import Checkpoint, RawBatch

__all__ = ["Source", "SourceMetrics"]


@dataclass
class SourceMetrics:
    """Counters of one source (thread-safe increments)."""

    records: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    errors: int = 0
    duplicates: int = 0
    polls: int = 0
    gaps: int = 0
    newest_available: datetime | None = None
    last_poll: datetime | None = None
    last_error: str = ""
    _error_codes: dict[str, int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_error(self, code: str) -> None:
        """One failed poll, by a bounded code (``AF20023``, ``http_503``, ``timeout``...)."""
        with self._lock:
            self.errors += 1
            self._error_codes[code] = self._error_codes.get(code, 0) + 1

    def take_error_codes(self) -> dict[str, int]:
        """Failed polls by code since the last call (for the metrics)."""
        with self._lock:
            codes, self._error_codes = self._error_codes, {}
        return codes

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


@runtime_checkable
class Source(Protocol):
    """A collector of one upstream API for one tenant."""

    id: str
    tenant: str
    poll_interval_secs: float
    metrics: SourceMetrics

    @property
    def streams(self) -> list[str]: ...

    def poll(self, checkpoints: dict[str, Checkpoint]) -> Iterator[RawBatch]:
        """Fetch what is new since ``checkpoints`` (keyed by stream); yield batches in order."""
        ...
