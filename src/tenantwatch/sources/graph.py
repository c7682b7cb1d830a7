"""Microsoft Graph audit logs: ``auditLogs/signIns`` (one stream per sign-in event type).

Graph filters on event time (``createdDateTime``) but serves records minutes after they happen,
some much later. Each poll therefore asks for the window
``[watermark - lateness, now - delay)``: ``delay`` leaves time for most records to appear,
``lateness`` re-reads a stretch already read to catch the stragglers (the store drops what was
already collected). The watermark moves to ``now - delay`` only after every page of the window
was fetched, in the same transaction as the last page's events.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import orjson

from tenantwatch.model.batch import Checkpoint, RawBatch, RecordShape
from tenantwatch.model.clock import Clock
from tenantwatch.sources.http import ApiClient

__all__ = ["GraphSignInSource", "graph_time"]

SIGNIN_EVENT_TYPES = (
    "interactiveUser",
    "nonInteractiveUser",
    "servicePrincipal",
    "managedIdentity",
)


def graph_time(value: datetime) -> str:
    """A ``$filter`` DateTimeOffset literal (UTC, whole seconds)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class GraphSignInSource:
    """Entra ID sign-ins from Graph, one stream per sign-in event type.

    ``interactiveUser`` is served by v1.0; the other event types need ``version="beta"`` and
    the ``signInEventTypes`` filter.
    """

    kind = "graph_signins"

    def __init__(
        self,
        *,
        source_id: str,
        tenant: str,
        api: ApiClient,
        graph_url: str,
        clock: Clock,
        event_types: tuple[str, ...] = ("interactiveUser",),
        version: str = "v1.0",
        delay: timedelta = timedelta(minutes=2),
        lateness: timedelta = timedelta(minutes=30),
        initial_lookback: timedelta = timedelta(hours=24),
        page_size: int = 1000,
        poll_interval_secs: float = 60.0,
    ) -> None:
        unknown = set(event_types) - set(SIGNIN_EVENT_TYPES)
        if unknown:
            raise ValueError(f"unknown sign-in event types: {sorted(unknown)}")
        if version == "v1.0" and set(event_types) != {"interactiveUser"}:
            raise ValueError("only interactiveUser sign-ins are listed by v1.0; use beta")
        self.id = source_id
        self.tenant = tenant
        self.api = api
        self.graph_url = graph_url.rstrip("/")
        self.clock = clock
        self.event_types = event_types
        self.version = version
        self.delay = delay
        self.lateness = lateness
        self.initial_lookback = initial_lookback
        self.page_size = page_size
        self.poll_interval_secs = poll_interval_secs
        self.metrics = api.metrics

    @property
    def streams(self) -> list[str]:
        return [f"signIns/{t}" for t in self.event_types]

    def poll(self, checkpoints: dict[str, Checkpoint]) -> Iterator[RawBatch]:
        now = self.clock.now()
        self.metrics.add(polls=1)
        self.metrics.last_poll = now
        for event_type, stream in zip(self.event_types, self.streams, strict=True):
            previous = checkpoints.get(stream)
            watermark = previous.watermark if previous else now - self.initial_lookback
            window_end = (now - self.delay).replace(microsecond=0)  # $filter has whole seconds
            if window_end <= watermark:
                continue
            yield from self._window(stream, event_type, watermark - self.lateness, window_end)

    def _window(
        self, stream: str, event_type: str, start: datetime, end: datetime
    ) -> Iterator[RawBatch]:
        clauses = [
            f"createdDateTime ge {graph_time(start)}",
            f"createdDateTime lt {graph_time(end)}",
        ]
        if self.version == "beta":
            clauses.insert(0, f"signInEventTypes/any(t: t eq '{event_type}')")
        url: str | None = f"{self.graph_url}/{self.version}/auditLogs/signIns"
        params: dict[str, str] | None = {
            "$filter": " and ".join(clauses),
            "$top": str(self.page_size),
        }
        while url is not None:
            response = self.api.get(url, params=params)
            fetched = self.clock.now()
            body = response.body if isinstance(response.body, dict) else {}
            records = body.get("value") or []
            url = body.get("@odata.nextLink")
            params = None  # the next link already carries the query
            self.metrics.add(pages=1, records=len(records))
            checkpoint = None
            if url is None:
                checkpoint = Checkpoint(self.tenant, self.id, stream, end)
            yield RawBatch(
                tenant=self.tenant,
                source=self.id,
                stream=stream,
                shape=RecordShape.GRAPH_SIGNIN,
                records=[orjson.dumps(r) for r in records],
                fetched_time=fetched,
                available_time=fetched,
                checkpoint=checkpoint,
            )
