"""Microsoft Graph audit logs: ``auditLogs/signIns`` (one stream per sign-in event type) and
``auditLogs/directoryAudits``.

Graph filters on event time but publishes records minutes after they happen, some much later.
Each poll reads ``[watermark, now)`` and moves the watermark to ``now - delay`` only: the next
poll reads the last ``delay`` again, catching the records that appeared late within it, while
what is already published is fetched at once (near real time; the store drops what it already
holds). ``read_to_now=False`` reads ``[watermark, now - delay)`` instead: fewer re-reads, up to
``delay`` later. Every ``sweep_interval`` the poll reaches back ``lateness`` further, to catch
the stragglers. The watermark moves only after every page of a window was fetched, in the same
transaction as the last page's events; requests share the tenant's Graph budget (5 per 10
seconds per app).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import orjson

from tenantwatch.model.batch import Checkpoint, RawBatch, RecordShape
from tenantwatch.model.clock import Clock
from tenantwatch.sources.http import ApiClient

__all__ = ["GraphDirectoryAuditSource", "GraphSignInSource", "graph_time"]

SIGNIN_EVENT_TYPES = (
    "interactiveUser",
    "nonInteractiveUser",
    "servicePrincipal",
    "managedIdentity",
)


def graph_time(value: datetime) -> str:
    """A ``$filter`` DateTimeOffset literal (UTC, whole seconds)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class _GraphAuditSource:
    """Shared polling of a Graph audit-log collection."""

    kind = ""
    resource = ""
    time_field = ""
    shape = ""

    def __init__(
        self,
        *,
        source_id: str,
        tenant: str,
        api: ApiClient,
        graph_url: str,
        clock: Clock,
        version: str = "v1.0",
        delay: timedelta = timedelta(minutes=2),
        lateness: timedelta = timedelta(minutes=30),
        sweep_interval: timedelta = timedelta(minutes=10),
        initial_lookback: timedelta = timedelta(hours=24),
        page_size: int = 1000,
        poll_interval_secs: float = 60.0,
        read_to_now: bool = True,
    ) -> None:
        self.id = source_id
        self.tenant = tenant
        self.api = api
        self.graph_url = graph_url.rstrip("/")
        self.clock = clock
        self.version = version
        self.delay = delay
        self.lateness = lateness
        self.sweep_interval = sweep_interval
        self.initial_lookback = initial_lookback
        self.page_size = page_size
        self.poll_interval_secs = poll_interval_secs
        self.read_to_now = read_to_now
        self.metrics = api.metrics

    @property
    def streams(self) -> list[str]:
        return [self.resource]

    def _filters(self, stream: str) -> list[str]:
        return []

    def poll(self, checkpoints: dict[str, Checkpoint]) -> Iterator[RawBatch]:
        now = self.clock.now()
        self.metrics.add(polls=1)
        for stream in self.streams:
            previous = checkpoints.get(stream)
            watermark = previous.watermark if previous else now - self.initial_lookback
            settled = (now - self.delay).replace(microsecond=0)  # $filter has whole seconds
            if settled <= watermark:
                continue
            end = now.replace(microsecond=0) if self.read_to_now else settled
            swept = previous.state.get("swept") if previous else None
            sweep = swept is None or now - datetime.fromisoformat(swept) >= self.sweep_interval
            start = min(watermark, settled - self.lateness) if sweep else watermark
            state = {"swept": now.isoformat() if sweep else swept}
            yield from self._window(stream, start, end, state, settled)

    def _window(
        self,
        stream: str,
        start: datetime,
        end: datetime,
        state: dict[str, object],
        settled: datetime,
    ) -> Iterator[RawBatch]:
        clauses = [
            *self._filters(stream),
            f"{self.time_field} ge {graph_time(start)}",
            f"{self.time_field} lt {graph_time(end)}",
        ]
        url: str | None = f"{self.graph_url}/{self.version}/auditLogs/{self.resource}"
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
            params = None  # the next link carries the query
            self.metrics.add(pages=1, records=len(records))
            checkpoint = None
            if url is None:
                checkpoint = Checkpoint(self.tenant, self.id, stream, settled, state)
            yield RawBatch(
                tenant=self.tenant,
                source=self.id,
                stream=stream,
                shape=self.shape,
                records=[orjson.dumps(r) for r in records],
                fetched_time=fetched,
                available_time=fetched,
                checkpoint=checkpoint,
            )


class GraphSignInSource(_GraphAuditSource):
    """Entra ID sign-ins, one stream per sign-in event type.

    ``interactiveUser`` is served by v1.0; the other event types need ``version="beta"`` and
    the ``signInEventTypes`` filter.
    """

    kind = "graph_signins"
    resource = "signIns"
    time_field = "createdDateTime"
    shape = RecordShape.GRAPH_SIGNIN

    def __init__(
        self, *, event_types: tuple[str, ...] = ("interactiveUser",), **options: object
    ) -> None:
        unknown = set(event_types) - set(SIGNIN_EVENT_TYPES)
        if unknown:
            raise ValueError(f"unknown sign-in event types: {sorted(unknown)}")
        if options.get("version", "v1.0") == "v1.0" and set(event_types) != {"interactiveUser"}:
            raise ValueError("only interactiveUser sign-ins are listed by v1.0; use beta")
        self.event_types = event_types
        super().__init__(**options)  # type: ignore[arg-type]

    @property
    def streams(self) -> list[str]:
        return [f"signIns/{t}" for t in self.event_types]

    def _filters(self, stream: str) -> list[str]:
        if self.version != "beta":
            return []
        return [f"signInEventTypes/any(t: t eq '{stream.removeprefix('signIns/')}')"]


class GraphDirectoryAuditSource(_GraphAuditSource):
    """Entra ID directory changes (``auditLogs/directoryAudits``)."""

    kind = "graph_directory_audits"
    resource = "directoryAudits"
    time_field = "activityDateTime"
    shape = RecordShape.GRAPH_DIRECTORY_AUDIT
