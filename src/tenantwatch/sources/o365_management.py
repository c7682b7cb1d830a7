"""The Office 365 Management Activity API: Exchange, SharePoint, OneDrive, Teams, Entra and DLP
records, as content blobs listed per content type.

Delivery: every record of every blob listed while the subscription is enabled, exactly once into
the store. How:

- subscriptions for the configured content types are ensured once (an already-enabled one is
  fine; a start is not repeated within 15 minutes);
- per (tenant, content type) a watermark on ``contentCreated``; each poll lists
  ``[watermark - overlap, now)`` in windows of at most 24 hours, following ``NextPageUri`` (with
  ``PublisherIdentifier`` added, as on every call) to the last page;
- blobs are fetched concurrently within a bound; blobs fetched before (a ledger of content ids,
  kept in the store with the records for 7 days) are not fetched again; records fetched twice
  (duplicates across blobs are by design) are dropped by the store;
- the watermark moves to the end of a window only when every blob of it was fetched, with the
  window's last batch;
- what can no longer be fetched is recorded as a gap with its time range, never skipped
  silently: downtime beyond the 7-day retention, an expired blob (``AF20051``), a subscription
  found disabled (``AF20022``/``AF20023``, restarted at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import orjson

from tenantwatch.errors import Gap, SourceError
from tenantwatch.model.batch import Checkpoint, RawBatch, RecordShape
from tenantwatch.model.clock import Clock
from tenantwatch.sources.http import ApiClient

__all__ = ["CONTENT_TYPES", "O365ManagementSource"]

CONTENT_TYPES = (
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
    "DLP.All",
)
RETENTION = timedelta(days=7)
MAX_WINDOW = timedelta(hours=24)
START_INTERVAL_SECS = 900.0  # Microsoft answers repeated starts with "retry again after 14m"


def _feed_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _created(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


class O365ManagementSource:
    """Collects the Management Activity API for one tenant, one stream per content type."""

    kind = "o365_management"

    def __init__(
        self,
        *,
        source_id: str,
        tenant: str,
        api: ApiClient,
        manage_url: str,
        clock: Clock,
        publisher_id: str,
        content_types: tuple[str, ...] = CONTENT_TYPES,
        overlap: timedelta = timedelta(hours=1),
        initial_lookback: timedelta = timedelta(hours=24),
        max_concurrent_blobs: int = 4,
        poll_interval_secs: float = 60.0,
    ) -> None:
        self.id = source_id
        self.tenant = tenant
        self.api = api
        self.root = f"{manage_url.rstrip('/')}/api/v1.0/{tenant}/activity/feed"
        self.clock = clock
        self.publisher_id = publisher_id
        self.content_types = content_types
        self.overlap = overlap
        self.initial_lookback = min(initial_lookback, RETENTION)
        self.max_concurrent_blobs = max_concurrent_blobs
        self.poll_interval_secs = poll_interval_secs
        self.metrics = api.metrics
        # content id -> contentCreated of every blob fetched in the last 7 days, per stream
        self._fetched: dict[str, dict[str, datetime | None]] = {
            f"activity/{ct}": {} for ct in content_types
        }
        self._last_start: dict[str, float] = {}
        self._subscribed = False
        self._lock = threading.Lock()

    @property
    def streams(self) -> list[str]:
        return [f"activity/{ct}" for ct in self.content_types]

    def restore(self, fetched: dict[str, set[str]]) -> None:
        """Content ids fetched before (from the store), so they are not fetched again."""
        for stream, ids in fetched.items():
            if stream in self._fetched:
                self._fetched[stream].update(dict.fromkeys(ids))

    def _params(self, **extra: str) -> dict[str, str]:
        return {**extra, "PublisherIdentifier": self.publisher_id}

    # -- subscriptions ----------------------------------------------------------------------

    def _ensure_subscriptions(self) -> set[str]:
        """Start every subscription that is not enabled; the content types (re)started."""
        listed = self.api.get(f"{self.root}/subscriptions/list", params=self._params()).body
        enabled = {
            s.get("contentType")
            for s in (listed if isinstance(listed, list) else [])
            if isinstance(s, dict) and s.get("status") == "enabled"
        }
        started = set()
        for ct in self.content_types:
            if ct not in enabled and self._start(ct):
                started.add(ct)
        self._subscribed = True
        return started

    def _start(self, content_type: str) -> bool:
        """Start a subscription unless one was started recently; True if it is enabled."""
        now = time.monotonic()
        if now - self._last_start.get(content_type, -START_INTERVAL_SECS) < START_INTERVAL_SECS:
            return False
        self._last_start[content_type] = now
        try:
            self.api.request(
                "POST",
                f"{self.root}/subscriptions/start",
                params=self._params(contentType=content_type),
            )
        except SourceError as exc:
            if exc.code == "AF20024":  # already enabled: fine
                return True
            raise
        return True

    # -- polling ----------------------------------------------------------------------------

    def poll(self, checkpoints: dict[str, Checkpoint]) -> Iterator[RawBatch]:
        self.metrics.add(polls=1)
        started = self._ensure_subscriptions() if not self._subscribed else set()
        now = self.clock.now()
        for content_type in self.content_types:
            stream = f"activity/{content_type}"
            previous = checkpoints.get(stream)
            if previous is not None and content_type in started:
                # collected before, found stopped at startup: what happened while it was off is
                # not listed. Record the range; whatever is still listed is collected below.
                yield self._gap_batch(
                    stream,
                    previous.watermark,
                    now,
                    f"subscription to {content_type} was found disabled at startup; restarted",
                )
            yield from self._collect(content_type, stream, previous, now)

    def _collect(
        self, content_type: str, stream: str, previous: Checkpoint | None, now: datetime
    ) -> Iterator[RawBatch]:
        floor = now - RETENTION + timedelta(minutes=5)
        ledger = self._fetched[stream]
        for content_id in [k for k, created in ledger.items() if created and created < floor]:
            del ledger[content_id]  # expired upstream: it cannot be listed again
        watermark = previous.watermark if previous else now - self.initial_lookback
        gaps: list[Gap] = []
        if watermark < floor:
            gaps.append(
                Gap(
                    self.tenant,
                    stream,
                    watermark,
                    floor,
                    "not collected within the Activity API's 7-day retention",
                )
            )
            watermark = floor
        start = max(watermark - self.overlap, floor)
        while start < now:
            end = min(start + MAX_WINDOW, now)
            try:
                entries = self._list(content_type, start, end)
            except SourceError as exc:
                if exc.code not in ("AF20022", "AF20023"):
                    raise
                yield from self._resubscribe(content_type, stream, watermark, exc)
                return
            yield from self._fetch(content_type, stream, entries, gaps)
            checkpoint = Checkpoint(self.tenant, self.id, stream, end)
            yield RawBatch(
                tenant=self.tenant,
                source=self.id,
                stream=stream,
                shape=RecordShape.O365_MANAGEMENT,
                records=[],
                fetched_time=self.clock.now(),
                checkpoint=checkpoint,
                gaps=tuple(gaps),
            )
            gaps = []
            start = end

    def _list(self, content_type: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        response = self.api.get(
            f"{self.root}/subscriptions/content",
            params=self._params(
                contentType=content_type, startTime=_feed_time(start), endTime=_feed_time(end)
            ),
        )
        while True:
            self.metrics.add(pages=1)
            if isinstance(response.body, list):
                entries.extend(e for e in response.body if isinstance(e, dict))
            next_page = response.headers.get("NextPageUri")
            if not next_page:
                return entries
            response = self.api.get(next_page, params=self._params())

    def _fetch(
        self, content_type: str, stream: str, entries: list[dict[str, Any]], gaps: list[Gap]
    ) -> Iterator[RawBatch]:
        seen = self._fetched[stream]
        todo = [e for e in entries if e.get("contentId") and e["contentId"] not in seen]
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=self.max_concurrent_blobs) as pool:
            for entry, outcome in zip(todo, pool.map(self._blob, todo), strict=True):
                content_id = str(entry["contentId"])
                created = _created(str(entry.get("contentCreated", "")))
                if isinstance(outcome, SourceError):
                    if outcome.code != "AF20051":
                        raise outcome
                    gaps.append(
                        Gap(
                            self.tenant,
                            stream,
                            created or self.clock.now(),
                            created or self.clock.now(),
                            "content blob expired before it was fetched (AF20051)",
                            (content_id,),
                        )
                    )
                    self.metrics.add(gaps=1)
                    continue
                records, rejected = outcome
                seen[content_id] = created
                self.metrics.add(records=len(records))
                yield RawBatch(
                    tenant=self.tenant,
                    source=self.id,
                    stream=stream,
                    shape=RecordShape.O365_MANAGEMENT,
                    records=records,
                    fetched_time=self.clock.now(),
                    available_time=created,
                    content_id=content_id,
                    rejected=rejected,
                )

    def _blob(
        self, entry: dict[str, Any]
    ) -> tuple[list[bytes], tuple[tuple[bytes, str], ...]] | SourceError:
        try:
            body = self.api.get(str(entry["contentUri"]), params=self._params()).body
        except SourceError as exc:
            if exc.code == "AF20051":
                return exc
            raise
        if not isinstance(body, list):
            return [], ((orjson.dumps(body), "content blob is not a JSON array"),)
        records = [orjson.dumps(r) for r in body if isinstance(r, dict)]
        rejected = tuple(
            (orjson.dumps(r), "blob item is not a JSON object")
            for r in body
            if not isinstance(r, dict)
        )
        return records, rejected

    def _resubscribe(
        self, content_type: str, stream: str, watermark: datetime, exc: SourceError
    ) -> Iterator[RawBatch]:
        """A subscription found missing or disabled: content since the last collection is lost.
        Start it again; if that worked, record the gap and continue from now."""
        self._last_start.pop(content_type, None)
        if not self._start(content_type):
            raise exc
        restarted = self.clock.now()
        yield self._gap_batch(
            stream,
            watermark,
            restarted,
            f"subscription to {content_type} was disabled ({exc.code}); restarted",
            checkpoint=Checkpoint(self.tenant, self.id, stream, restarted),
        )

    def _gap_batch(
        self,
        stream: str,
        start: datetime,
        end: datetime,
        reason: str,
        checkpoint: Checkpoint | None = None,
    ) -> RawBatch:
        self.metrics.add(gaps=1)
        return RawBatch(
            tenant=self.tenant,
            source=self.id,
            stream=stream,
            shape=RecordShape.O365_MANAGEMENT,
            records=[],
            fetched_time=end,
            checkpoint=checkpoint,
            gaps=(Gap(self.tenant, stream, start, end, reason),),
        )
