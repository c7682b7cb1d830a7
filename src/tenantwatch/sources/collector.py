"""Running a source: a thread that polls it on its interval and queues the batches it yields.

The collector remembers where each stream got to as soon as a batch is queued, so the next poll
continues from there; the store only learns it when the pipeline commits the batch. After a
crash, sources resume from the committed checkpoints: anything queued but not committed is
fetched again, and the store drops what it already holds.
"""

from __future__ import annotations

import logging
import queue
import threading

from tenantwatch.errors import SourceError
from tenantwatch.model.batch import Checkpoint, RawBatch
from tenantwatch.model.clock import utcnow
from tenantwatch.sources.base import Source
from tenantwatch.sources.http import Stopped

__all__ = ["Collector"]

log = logging.getLogger("tenantwatch.collector")

# in ``once`` mode a source that keeps failing (after the HTTP client's own retries) is given up
# after this many polls, so a one-shot run ends and reports it instead of hanging
ONCE_ATTEMPTS = 3
ONCE_RETRY_SECS = 5.0


class Collector(threading.Thread):
    """Polls one source until ``stop`` is set."""

    def __init__(
        self,
        source: Source,
        out: queue.Queue[RawBatch],
        stop: threading.Event,
        checkpoints: dict[str, Checkpoint],
        *,
        once: bool = False,
    ) -> None:
        super().__init__(name=f"collect-{source.id}", daemon=True)
        self.source = source
        self.out = out
        self.stop = stop
        self.positions = dict(checkpoints)
        self.once = once
        self.completed = False  # a poll went through without error
        self.failed_polls = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                for batch in self.source.poll(dict(self.positions)):
                    self._put(batch)
                    if batch.checkpoint is not None:
                        self.positions[batch.checkpoint.stream] = batch.checkpoint
                    if self.stop.is_set():
                        return
                self.source.metrics.last_error = ""
                self.completed = True
            except Stopped:
                return
            except SourceError as exc:
                self.failed_polls += 1
                self.source.metrics.count_error(
                    exc.code or (f"http_{exc.status}" if exc.status else type(exc).__name__)
                )
                self.source.metrics.last_error = str(exc)
                log.warning("source %s: %s", self.source.id, exc)
            except Exception as exc:  # a collector must never die silently
                self.failed_polls += 1
                self.source.metrics.count_error(type(exc).__name__)
                self.source.metrics.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("source %s failed; retrying after its interval", self.source.id)
            self.source.metrics.last_poll = utcnow()
            if self.once and (self.completed or self.failed_polls >= ONCE_ATTEMPTS):
                return
            interval = self.source.poll_interval_secs
            self.stop.wait(min(interval, ONCE_RETRY_SECS) if self.once else interval)

    def _put(self, batch: RawBatch) -> None:
        while not self.stop.is_set():
            try:
                self.out.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue
        raise Stopped
