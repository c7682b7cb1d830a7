"""Entra ID logs streamed to an Azure Event Hub by a diagnostic setting (push, not polling).

Graph's audit-log API allows 5 requests per 10 seconds per app and tenant, so a polled record
waits up to ``2 s x streams`` before any tool may fetch it. A diagnostic setting streams every
category — ``SignInLogs``, ``NonInteractiveUserSignInLogs``, ``ServicePrincipalSignInLogs``,
``ManagedIdentitySignInLogs``, ``AuditLogs`` — to an event hub as soon as Entra writes it
(learn.microsoft.com/entra/identity/monitoring-health/howto-stream-logs-to-event-hub), and an
AMQP receiver gets each event the moment the hub has it. Each event's body is
``{"records": [...]}`` of Azure Monitor records (the ``azure.monitor`` shape).

Delivery: one stream per partition (``partition/<id>``); the checkpoint of a partition is the
sequence number (and offset) of the last event committed, so a restart resumes right after it
(``starting_position_inclusive=False``); a first start reads from ``initial_lookback`` before
now. Events the hub dropped (retention) before they were read show up as a jump in sequence
numbers and are recorded as a gap. Receiving is done by ``azure-eventhub`` (reconnects and retries
included) in a background thread; :meth:`EventHubSource.poll` hands over what arrived, waiting up
to ``max_wait_secs`` for the first event. The hub's connection string (a policy with the Listen
right) comes from the environment or a file and is never logged.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from azure.eventhub import EventData, EventHubConsumerClient, PartitionContext
from azure.eventhub.exceptions import EventHubError

from tenantwatch.errors import Gap, SourceError
from tenantwatch.model.batch import Checkpoint, RawBatch, RecordShape
from tenantwatch.model.clock import Clock
from tenantwatch.sources.base import SourceMetrics

__all__ = ["EventHubSource"]

log = logging.getLogger("tenantwatch.sources.event_hub")
# How long the SDK's reader waits on the socket before handing over what it has: its default
# (0.2 s) added 0.4 s at the median and up to 1 s per event; 0.05 s adds about 0.1 s at the
# same CPU cost (measured against the emulated namespace).
SOCKET_TIMEOUT = 0.05
# a partition that never delivered anything is checkpointed this far before "now" when idle:
# a restart reads the last minutes again rather than miss an event still on its way
IDLE_MARGIN = timedelta(minutes=5)
# the SDK logs every AMQP state change at INFO; its warnings still come through
logging.getLogger("azure.eventhub").setLevel(logging.WARNING)


class EventHubSource:
    """A consumer of one event hub (all partitions) for one tenant."""

    kind = "event_hub"

    def __init__(
        self,
        *,
        source_id: str,
        tenant: str,
        connection_string: str,
        clock: Clock,
        event_hub: str | None = None,
        consumer_group: str = "$Default",
        endpoint: str | None = None,
        ca_file: Path | None = None,
        initial_lookback: timedelta = timedelta(hours=1),
        max_wait_secs: float = 1.0,
        catch_up_secs: float = 120.0,
        prefetch: int = 300,
        queue_size: int = 64,
        max_attempts: int = 4,
        retry_backoff_secs: float = 0.8,
        idle_checkpoint_secs: float = 60.0,
    ) -> None:
        self.id = source_id
        self.tenant = tenant
        self.clock = clock
        self.initial_lookback = initial_lookback
        self.max_wait_secs = max_wait_secs
        self.catch_up_secs = catch_up_secs
        self.idle_checkpoint_secs = idle_checkpoint_secs
        self.prefetch = prefetch
        self.poll_interval_secs = 0.0  # poll() itself waits for events
        self.metrics = SourceMetrics()
        options: dict[str, Any] = {
            "consumer_group": consumer_group,
            "logging_enable": False,
            # the SDK's own retries (exponential backoff) for connecting and management calls
            "retry_total": max_attempts - 1,
            "retry_backoff_factor": retry_backoff_secs,
            "socket_timeout": SOCKET_TIMEOUT,
        }
        if event_hub:
            options["eventhub_name"] = event_hub
        if endpoint:
            options["custom_endpoint_address"] = endpoint
        if ca_file is not None:
            options["connection_verify"] = str(ca_file)
        try:
            self._client = EventHubConsumerClient.from_connection_string(
                connection_string, **options
            )
            # management calls get a client each: an SDK client is not safe to share between
            # threads, and the receiving one lives in the receiver's thread
            self._connect = (connection_string, options)
        except (ValueError, KeyError) as exc:
            # the SDK's message names the missing part, never the key
            raise SourceError(
                f"event hub connection string not usable: {exc}", tenant=tenant, stream=source_id
            ) from None
        self._partitions: list[str] | None = None
        # asked at once, in the background: a pipeline with several hubs starts in parallel
        self._lookup = threading.Thread(target=self._list_partitions, daemon=True)
        self._lookup.start()
        self._events: queue.Queue[tuple[str, list[EventData]]] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._expected: dict[str, int] = {}  # partition → next sequence number
        self._last_time: dict[str, datetime] = {}  # partition → enqueued time of the last event
        self._target: dict[str, int] = {}  # partition → last sequence number when receiving began
        self._offsets: dict[str, str | None] = {}  # partition → offset of the last event
        self._idle_at = -idle_checkpoint_secs  # monotonic time of the last idle checkpoint
        self._failing = False  # the SDK reported an error since the last idle checkpoint

    def _management(self) -> EventHubConsumerClient:
        connection_string, options = self._connect
        return EventHubConsumerClient.from_connection_string(connection_string, **options)

    def _list_partitions(self) -> None:
        client = self._management()
        try:
            self._partitions = list(client.get_partition_ids())
        except EventHubError as exc:
            self.metrics.count_error(type(exc).__name__)
            self.metrics.last_error = f"event hub unreachable: {exc}"
            log.warning("source %s: cannot list the hub's partitions: %s", self.id, exc)
        finally:
            client.close()

    @property
    def streams(self) -> list[str]:
        """``partition/<id>`` for every partition (asked of the hub once, in the background;
        empty while it cannot be reached: the pipeline asks for streams on every batch, so
        this never calls the hub itself — :meth:`poll` asks again)."""
        if self._partitions is None and self._lookup.is_alive():
            self._lookup.join()
        return [f"partition/{p}" for p in self._partitions or []]

    def poll(self, checkpoints: dict[str, Checkpoint]) -> Iterator[RawBatch]:
        """What arrived since the last poll. The first poll (or the first after the receiver
        stopped) connects and returns only once it caught up with what the hub held when it
        started; later polls return after ``max_wait_secs`` without a new event."""
        self.metrics.add(polls=1)
        if self._thread is None or not self._thread.is_alive():
            if self._partitions is None:
                self._list_partitions()
            if not self._partitions:
                raise SourceError("event hub unreachable", tenant=self.tenant, stream=self.id)
            self._start(checkpoints)
        catching_up = bool(self._target)
        deadline = time.monotonic() + (self.catch_up_secs if catching_up else self.max_wait_secs)
        while True:
            if catching_up and all(self._expected.get(p, 0) > n for p, n in self._target.items()):
                self._target = {}
                return
            wait = deadline - time.monotonic()
            if wait <= 0:
                if not catching_up:
                    yield from self._idle_checkpoints()
                    return
                behind = sorted(p for p, n in self._target.items() if self._expected.get(p, 0) <= n)
                raise SourceError(
                    f"partitions {', '.join(behind)} not caught up after "
                    f"{self.catch_up_secs:.0f} s",
                    tenant=self.tenant,
                    stream=self.id,
                )
            try:
                partition, events = self._events.get(timeout=wait)
            except queue.Empty:
                continue
            yield from self._batches(partition, events)
            self.metrics.last_poll = self.clock.now()
            if not catching_up:
                deadline = time.monotonic() + self.max_wait_secs

    def _idle_checkpoints(self) -> Iterator[RawBatch]:
        """Every ``idle_checkpoint_secs`` of quiet, move each partition's watermark to now
        (its sequence number unchanged): the hub was listened to until now, so a partition that
        stays silent (a diagnostic setting removed) grows stale for the freshness monitor."""
        if time.monotonic() - self._idle_at < self.idle_checkpoint_secs:
            return
        self._idle_at = time.monotonic()
        if self._failing:  # not listened to: an outage is not a quiet feed (errors show it)
            self._failing = False
            return
        now = self.clock.now()
        for partition in self._partitions or []:
            stream = f"partition/{partition}"
            expected = self._expected.get(partition)
            if expected is None:  # nothing received yet: resume from a time a little back
                checkpoint = Checkpoint(self.tenant, self.id, stream, now - IDLE_MARGIN, {})
            else:
                checkpoint = Checkpoint(
                    self.tenant,
                    self.id,
                    stream,
                    max(now, self._last_time.get(partition, now)),
                    {"sequence_number": expected - 1, "offset": self._offsets.get(partition)},
                )
            yield RawBatch(
                tenant=self.tenant,
                source=self.id,
                stream=stream,
                shape=RecordShape.AZURE_MONITOR,
                records=[],
                fetched_time=now,
                checkpoint=checkpoint,
            )

    def _start(self, checkpoints: dict[str, Checkpoint]) -> None:
        """Receive every partition from just after its committed position."""
        positions: dict[str, int | datetime] = {}
        self._target = {}
        for partition in self._partitions or []:
            cp = checkpoints.get(f"partition/{partition}")
            sequence = cp.state.get("sequence_number") if cp else None
            start: int | datetime
            if isinstance(sequence, int):
                start = sequence
                self._expected[partition] = sequence + 1
                self._last_time[partition] = cp.watermark  # type: ignore[union-attr]
                self._offsets[partition] = cp.state.get("offset")  # type: ignore[union-attr]
            else:
                start = cp.watermark if cp else self.clock.now() - self.initial_lookback
            positions[partition] = start
        self._thread = threading.Thread(
            target=self._receive, args=(positions,), daemon=True, name=f"event-hub-{self.id}"
        )
        self._thread.start()
        # what the hub holds now is what the first poll catches up with (asked while the
        # receiver connects)
        with ThreadPoolExecutor(max_workers=min(8, len(positions) or 1)) as pool:
            found = list(pool.map(self._properties, positions))
        for (partition, start), props in zip(positions.items(), found, strict=True):
            last = int(props["last_enqueued_sequence_number"])
            newer = (
                last > start
                if isinstance(start, int)
                else not props["is_empty"]
                and _millis(props["last_enqueued_time_utc"]) > _millis(start)
            )
            if newer:
                self._target[partition] = last

    def _properties(self, partition: str) -> dict[str, Any]:
        client = self._management()
        try:
            return dict(client.get_partition_properties(partition))
        except EventHubError as exc:
            raise SourceError(
                f"cannot read partition {partition}: {exc}", tenant=self.tenant, stream=self.id
            ) from None
        finally:
            client.close()

    def _receive(self, positions: dict[str, int | datetime]) -> None:
        def on_events(context: PartitionContext, events: list[EventData]) -> None:
            while events and not self._closing.is_set():
                try:
                    self._events.put((context.partition_id, events), timeout=0.5)
                except queue.Full:
                    continue  # the pipeline is behind: hold the hub back (prefetch is bounded)
                # the SDK's own (in-memory) position: a partition consumer it restarts after
                # an outage resumes after this event, not from where receiving began
                context.update_checkpoint(events[-1])
                return

        def on_error(context: PartitionContext | None, error: Exception) -> None:
            self._failing = True
            self.metrics.count_error(type(error).__name__)
            self.metrics.last_error = f"{type(error).__name__}: {error}"
            log.warning("source %s: %s", self.id, self.metrics.last_error)

        try:
            self._client.receive_batch(
                on_event_batch=on_events,
                on_error=on_error,
                starting_position=positions,
                starting_position_inclusive=False,
                max_batch_size=self.prefetch,
                prefetch=self.prefetch,
            )
        except Exception as exc:  # the next poll starts receiving again
            self.metrics.count_error(type(exc).__name__)
            self.metrics.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("source %s stopped receiving: %s", self.id, self.metrics.last_error)

    def _batches(self, partition: str, events: list[EventData]) -> Iterator[RawBatch]:
        stream = f"partition/{partition}"
        fetched = self.clock.now()
        for event in events:
            sequence = int(event.sequence_number or 0)
            enqueued = event.enqueued_time or fetched
            gaps: tuple[Gap, ...] = ()
            expected = self._expected.get(partition)
            if expected is not None and sequence < expected:  # delivered again (a reconnect)
                self.metrics.add(duplicates=1)
                continue
            if expected is not None and sequence > expected:
                gaps = (
                    Gap(
                        self.tenant,
                        stream,
                        self._last_time.get(partition, enqueued),
                        enqueued,
                        f"event hub dropped events {expected}..{sequence - 1} of partition "
                        f"{partition} before they were read (hub retention exceeded)",
                    ),
                )
                self.metrics.add(gaps=1)
            self._expected[partition] = sequence + 1
            self._last_time[partition] = enqueued
            self._offsets[partition] = event.offset
            records, rejected = _split(event)
            self.metrics.add(pages=1, records=len(records))
            if self.metrics.newest_available is None or enqueued > self.metrics.newest_available:
                self.metrics.newest_available = enqueued
            yield RawBatch(
                tenant=self.tenant,
                source=self.id,
                stream=stream,
                shape=RecordShape.AZURE_MONITOR,
                records=records,
                fetched_time=fetched,
                available_time=enqueued,
                checkpoint=Checkpoint(
                    self.tenant,
                    self.id,
                    stream,
                    enqueued,
                    {"sequence_number": sequence, "offset": event.offset},
                ),
                gaps=gaps,
                rejected=rejected,
            )

    def close(self) -> None:
        """Stop receiving and close the AMQP connection."""
        self._closing.set()
        self._client.close()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _split(event: EventData) -> tuple[list[bytes], tuple[tuple[bytes, str], ...]]:
    """The records of an event's ``{"records": [...]}`` body; what is not a record is rejected
    with its reason (it goes to quarantine, the rest of the event goes on)."""
    where = f"event {event.sequence_number} (offset {event.offset})"
    try:
        body = event.body_as_str(encoding="utf-8").encode()
    except (TypeError, ValueError) as exc:
        return [], ((repr(event.body).encode(), f"{where}: body is not UTF-8 text: {exc}"),)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return [], ((body, f"{where}: body is not JSON: {exc}"),)
    records = document.get("records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        return [], ((body, f'{where}: body has no "records" array'),)
    good: list[bytes] = []
    bad: list[tuple[bytes, str]] = []
    for i, record in enumerate(records):
        raw = orjson.dumps(record)
        if isinstance(record, dict):
            good.append(raw)
        else:
            bad.append((raw, f"{where}: records[{i}] is not an object"))
    return good, tuple(bad)
