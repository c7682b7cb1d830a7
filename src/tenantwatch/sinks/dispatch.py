"""Delivering findings to every sink without ever holding up collection.

Each sink gets its own worker thread and queue. The pipeline hands findings over
(:meth:`Dispatcher.submit` never blocks) and carries on; the worker delivers them, retrying a
failed delivery with exponential backoff (honouring a ``Retry-After`` the receiver sent), and
after the last attempt writes them to the sink's dead-letter file
(``<data-dir>/dead-letter/<sink>.jsonl``, one line per finding with the error), from which they
can be replayed. A sink whose queue is full (it has been down for long) dead-letters new findings
at once instead of growing without bound.

Delivery guarantee: at least once per sink. The pipeline marks a finding delivered in the store
once every sink delivered or dead-lettered it (:meth:`Dispatcher.settled`); a finding still
queued when tenantwatch stops is delivered again on the next start.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import orjson
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_when_event_set,
    wait_random_exponential,
)

from tenantwatch.errors import SinkError
from tenantwatch.model.finding import Finding
from tenantwatch.sinks.base import Sink

__all__ = ["Delivery", "Dispatcher", "RetrySchedule"]

log = logging.getLogger("tenantwatch.sinks")

MAX_FINDINGS_PER_DELIVERY = 100


@dataclass(frozen=True)
class RetrySchedule:
    """How hard a worker tries before dead-lettering: ``max_attempts`` deliveries, waiting
    ``initial_backoff_secs`` doubling up to ``max_backoff_secs`` (with jitter) in between."""

    max_attempts: int = 6
    initial_backoff_secs: float = 1.0
    max_backoff_secs: float = 60.0


@dataclass(frozen=True)
class Delivery:
    """What one worker did with some findings."""

    sink: str
    uids: tuple[str, ...]
    time: datetime
    outcome: Literal["delivered", "dead_letter"]
    attempts: int
    error_code: str = ""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, SinkError) and getattr(exc, "retryable", True)


def error_code(exc: BaseException) -> str:
    """A bounded label for an error (metrics): the sink error's code, else its type."""
    code = getattr(exc, "code", None)
    return str(code) if code else type(exc).__name__


class _Worker(threading.Thread):
    def __init__(
        self,
        sink: Sink,
        dispatcher: Dispatcher,
        schedule: RetrySchedule,
        queue_limit: int,
    ) -> None:
        super().__init__(name=f"sink-{sink.id}", daemon=True)
        self.sink = sink
        self.dispatcher = dispatcher
        self.schedule = schedule
        self.queue_limit = queue_limit
        self.inbox: queue.Queue[list[Finding] | None] = queue.Queue()
        self.queued = 0  # findings waiting (guarded by the dispatcher's lock)
        self.busy = False
        self.abort = threading.Event()  # stop retrying (shutdown deadline passed)

    def run(self) -> None:
        while True:
            first = self.inbox.get()
            if first is None:
                return
            batch = list(first)
            closing = False
            while len(batch) < MAX_FINDINGS_PER_DELIVERY:
                try:
                    more = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    closing = True
                    break
                batch.extend(more)
            with self.dispatcher._lock:
                self.queued -= len(batch)
                self.busy = True
            try:
                self._deliver(batch)
            finally:
                with self.dispatcher._lock:
                    self.busy = False
            if closing:
                return

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hint = getattr(exc, "retry_after", None)
        backoff = wait_random_exponential(
            multiplier=self.schedule.initial_backoff_secs, max=self.schedule.max_backoff_secs
        )(state)
        if isinstance(hint, int | float) and hint > 0:
            return float(min(max(hint, backoff), self.schedule.max_backoff_secs * 5))
        return backoff

    def _sleep(self, secs: float) -> None:
        self.abort.wait(secs)  # a shutdown cuts the backoff short

    def _deliver(self, findings: list[Finding]) -> None:
        uids = tuple(f.uid for f in findings)
        retrying = Retrying(
            stop=stop_after_attempt(self.schedule.max_attempts) | stop_when_event_set(self.abort),
            wait=self._wait,
            retry=retry_if_exception(_retryable),
            sleep=self._sleep,
            reraise=False,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    self.sink.deliver(findings)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            self._failed(findings, uids, last or exc, attempts)
            return
        except Exception as exc:
            self._failed(findings, uids, exc, attempts)
            return
        self.dispatcher._record(
            Delivery(self.sink.id, uids, self.dispatcher.now(), "delivered", attempts)
        )

    def _failed(
        self, findings: list[Finding], uids: tuple[str, ...], exc: BaseException, attempts: int
    ) -> None:
        if self.abort.is_set() and _retryable(exc):
            # shutting down mid-retry: leave them undelivered; the next start delivers them
            log.warning(
                "sink %s: %d findings not delivered before shutdown; they will be sent on the "
                "next start",
                self.sink.id,
                len(findings),
            )
            return
        message = str(exc) if isinstance(exc, SinkError) else f"{type(exc).__name__}: {exc}"
        if not message.startswith(f"sink {self.sink.id}:"):
            message = f"sink {self.sink.id}: {message}"
        log.error(
            "%s; %d findings dead-lettered after %d attempts",
            message,
            len(findings),
            attempts,
        )
        self.dispatcher._dead_letter(self.sink.id, findings, message)
        self.dispatcher._record(
            Delivery(
                self.sink.id, uids, self.dispatcher.now(), "dead_letter", attempts, error_code(exc)
            )
        )


class Dispatcher:
    """Hands findings to every sink's worker and reports what each did."""

    def __init__(
        self,
        sinks: list[Sink],
        *,
        now: Callable[[], datetime],
        dead_letter_dir: Path | None = None,
        schedule: RetrySchedule | dict[str, RetrySchedule] | None = None,
        queue_limit: int = 10_000,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.sinks = sinks
        self.now = now
        self.dead_letter_dir = dead_letter_dir
        self.on_delivery = on_delivery
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._outstanding: dict[str, set[str]] = {}  # finding uid -> sinks not done yet
        self._settled: list[tuple[str, datetime]] = []
        schedules: dict[str, RetrySchedule] = schedule if isinstance(schedule, dict) else {}
        default = schedule if isinstance(schedule, RetrySchedule) else RetrySchedule()
        self._workers = [_Worker(s, self, schedules.get(s.id, default), queue_limit) for s in sinks]
        for worker in self._workers:
            worker.start()

    def submit(self, findings: list[Finding]) -> None:
        """Queue ``findings`` for every sink; returns at once."""
        if not findings:
            return
        if not self._workers:
            with self._lock:
                now = self.now()
                self._settled.extend((f.uid, now) for f in findings)
            return
        overflow: list[_Worker] = []
        with self._lock:
            for f in findings:
                self._outstanding.setdefault(f.uid, set()).update(s.id for s in self.sinks)
            for worker in self._workers:
                if worker.queued + len(findings) > worker.queue_limit:
                    overflow.append(worker)
                else:
                    worker.queued += len(findings)
                    worker.inbox.put(list(findings))
        for worker in overflow:
            worker._failed(
                findings,
                tuple(f.uid for f in findings),
                SinkError(
                    f"{worker.queued} findings already waiting; the sink is not keeping up",
                    sink=worker.sink.id,
                ),
                0,
            )

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)
            for uid in delivery.uids:
                waiting = self._outstanding.get(uid)
                if waiting is None:
                    continue
                waiting.discard(delivery.sink)
                if not waiting:
                    del self._outstanding[uid]
                    self._settled.append((uid, delivery.time))
        if self.on_delivery is not None:
            self.on_delivery(delivery)

    def _dead_letter(self, sink_id: str, findings: list[Finding], error: str) -> None:
        if self.dead_letter_dir is None:
            return
        path = self.dead_letter_dir / f"{sink_id}.jsonl"
        when = self.now().isoformat()
        lines = b"".join(
            orjson.dumps({"sink": sink_id, "time": when, "error": error, "finding": f.to_ocsf()})
            + b"\n"
            for f in findings
        )
        try:
            self.dead_letter_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, lines)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.error("cannot write dead-letter file %s: %s", path, exc.strerror)

    def settled(self) -> tuple[list[Delivery], list[tuple[str, datetime]]]:
        """Deliveries since the last call, and the findings every sink is done with (uid, when
        the last sink was done)."""
        with self._lock:
            deliveries, self._deliveries = self._deliveries, []
            settled, self._settled = self._settled, []
        return deliveries, settled

    def backlog(self) -> dict[str, int]:
        """Findings waiting per sink (queued or being delivered)."""
        with self._lock:
            return {w.sink.id: w.queued + (1 if w.busy else 0) for w in self._workers}

    def flush(self, timeout: float) -> bool:
        """Wait until every queue is empty and no delivery is in progress (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while any(self.backlog().values()):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued for up to ``timeout`` seconds, then stop retrying and close
        every sink. What did not go stays undelivered in the store, for the next start."""
        self.flush(timeout)
        for worker in self._workers:
            worker.abort.set()
            worker.inbox.put(None)
        for worker in self._workers:
            worker.join(timeout=5)
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                log.warning("sink %s did not close cleanly: %s", sink.id, exc)
