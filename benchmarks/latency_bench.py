"""End-to-end latency in a live run: from the moment a record becomes available at the
(emulated) Microsoft API to the moment the finding it raises arrives at a webhook receiver.

Everything is real: the emulator serves the Management Activity API and Graph over HTTPS on
127.0.0.1, the pipeline is assembled from a pipeline file's settings (msal, httpx, DuckDB, the
built-in rules, the webhook sink with its signature), and a local HTTP server receives the
findings and notes the wall time each arrived.

The tenant's clock runs ``speed`` times faster than real time so that an attack's hours fit in
a minute or two; latencies are converted back to real seconds. Every attack scenario starts
before the run, so their records (which Microsoft makes available 45-90 minutes after the fact)
become available while it runs. Findings whose record was available before collection began
are left out (they measure the backlog and the start, not the pipeline): collection has begun
once every source finished its first poll (connected, signed in, caught up with what was there).

Two lanes collect Entra ID's records beside the Activity API: ``graph`` polls Graph's sign-in
list (three event types, within Microsoft's 5 requests per 10 s per tenant), ``event_hub``
receives them from an event hub that a diagnostic setting streams to (AMQP, push).

Availability is ``contentCreated`` for the Activity API and the enqueued time for an event hub.
Graph does not say when a record appeared, so for Graph records the emulator's own availability
time is looked up (ground truth); the wait until the collector's next read of that stream is
part of the figure.

Run: ``python -m benchmarks.latency_bench [seconds] [graph|event_hub]``.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from tests.sinks.helpers import HttpReceiver

from tenantwatch.assemble import assemble
from tenantwatch.config.model import (
    ClockConfig,
    PipelineConfig,
    SecretConfig,
    SinkConfig,
    SourceConfig,
    TenantConfig,
)
from tenantwatch.emulator import (
    AppRegistration,
    EmulatorServer,
    EmulatorState,
    IdentityProvider,
    SimTenant,
)
from tenantwatch.emulator.auth import GRAPH_RESOURCE, MANAGE_RESOURCE
from tenantwatch.emulator.event_hub import EventHubNamespace
from tenantwatch.emulator.scenarios import SCENARIOS
from tenantwatch.emulator.timeline import DEFAULT_LATENCY
from tenantwatch.model.clock import ScaledClock
from tenantwatch.store import DuckDBStore

SIM_START = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)


def _client(sim: SimTenant) -> str:
    """The app registration reading ``sim`` (one per tenant)."""
    return "5f0e1d2c-3b4a-4958-8766-" + sim.tenant_id[-12:]


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(
    duration_secs: float = 90.0,
    speed: float = 20.0,
    users: int = 100,
    tenants: int = 5,
    lane: str = "graph",
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="tw-latency-"))
    real_start = time.time()
    clock = ScaledClock(SIM_START, speed=speed, real_start=real_start)
    # Microsoft's delay shortened tenfold so the attacks' records become available within the
    # run (it is not part of what is measured: that starts at availability)
    latency = {k: v.scaled(0.1) for k, v in DEFAULT_LATENCY.items()}
    sims = [
        SimTenant.build(
            seed=5 + i,
            users=users,
            start=SIM_START,
            history=timedelta(hours=2),
            scenarios=sorted(SCENARIOS),
            scenario_start=SIM_START + timedelta(minutes=2 * i),
            latency=latency,
        )
        for i in range(tenants)
    ]
    idp = IdentityProvider()
    secret = "latency-bench-secret"
    roles = {GRAPH_RESOURCE: ["AuditLog.Read.All"], MANAGE_RESOURCE: ["ActivityFeed.Read"]}
    for sim in sims:
        idp.add_tenant(sim.tenant_id, sim.directory.domain)
        idp.add_app(AppRegistration(_client(sim), sim.tenant_id, secret=secret, roles=roles))
    state = EmulatorState(
        clock=clock,
        idp=idp,
        tenants={sim.tenant_id: sim for sim in sims},
        graph_requests_per_10s=0,
    )
    server = EmulatorServer(state, tls_dir=work / "tls").start()
    hubs = None
    if lane == "event_hub":
        hubs = EventHubNamespace(state, tls=server.tls).start()
        for sim in sims:
            hub_file = work / f"hub-{sim.tenant_id}"
            hub_file.write_text(hubs.connection_string(f"entra-{sim.tenant_id}"))
            hub_file.chmod(0o600)
    receiver = HttpReceiver()
    arrivals: dict[str, float] = {}
    (work / "secret").write_text(secret)
    (work / "hook").write_text("hook-secret")
    poll = {"poll_interval_secs": 0.5, "initial_lookback_secs": 600.0}
    config = PipelineConfig(
        data_dir=work / "data",
        tenants=tuple(
            TenantConfig(
                id=f"t{i}",
                tenant_id=sim.tenant_id,
                client_id=_client(sim),
                cloud="emulator",
                endpoint=server.base_url,
                ca_file=server.tls.ca_file,
                client_secret=SecretConfig(file=work / "secret"),
            )
            for i, sim in enumerate(sims)
        ),
        sources=tuple(
            source
            for i, sim in enumerate(sims)
            for source in (
                SourceConfig(id=f"activity-{i}", type="o365_management", tenant=f"t{i}", **poll),
                SourceConfig(
                    id=f"signins-{i}",
                    type="graph_signins",
                    tenant=f"t{i}",
                    version="beta",
                    event_types=("interactiveUser", "nonInteractiveUser", "servicePrincipal"),
                    **poll,
                )
                if hubs is None
                else SourceConfig(
                    id=f"hub-{i}",
                    type="event_hub",
                    tenant=f"t{i}",
                    connection_string=SecretConfig(file=work / f"hub-{sim.tenant_id}"),
                    endpoint=hubs.endpoint,
                    initial_lookback_secs=600.0,
                ),
            )
        ),
        sinks=(
            SinkConfig(
                id="hook",
                type="webhook",
                url=receiver.url(),
                secret=SecretConfig(file=work / "hook"),
            ),
        ),
        clock=ClockConfig(sim_start=SIM_START, real_start=real_start, speed=speed),
    )
    assembly = assemble(config, stop=threading.Event())
    watcher_stop = threading.Event()

    def watch_receiver() -> None:  # the wall time each finding arrived
        seen = 0
        while not watcher_stop.is_set():
            while seen < len(receiver.requests):
                request = receiver.requests[seen]
                at = request.received
                for f in orjson.loads(request.body)["findings"]:
                    arrivals.setdefault(f["finding_info"]["uid"], at)
                seen += 1
            watcher_stop.wait(0.005)

    watcher = threading.Thread(target=watch_receiver, daemon=True)
    watcher.start()
    started: list[datetime] = []

    def watch_start() -> None:  # collection began once every source finished its first poll
        while not watcher_stop.wait(0.01):
            collectors = assembly.pipeline._collectors
            if collectors and all(c.completed for c in collectors):
                started.append(clock.now())
                return

    threading.Thread(target=watch_start, daemon=True).start()
    run_begin_sim = clock.now()
    try:
        assembly.pipeline.run(duration_secs)
    finally:
        watcher_stop.set()
        watcher.join()
        assembly.close()
        if hubs is not None:
            hubs.stop()
        server.stop()
        receiver.stop()

    run_start_sim = started[0] if started else clock.now()
    store = DuckDBStore(work / "data" / "tenantwatch.duckdb", read_only=True)
    try:
        findings = store.sql(
            "SELECT f.uid, f.rule_id, f.available_time, f.detected_time, "
            "list(e.tw_source) AS sources, list(e.metadata.uid) AS record_ids, "
            "max(e.tw_fetched_time) AS fetched_time "
            "FROM findings f JOIN events e ON list_contains(f.evidence_uids, e.tw_uid) "
            "AND e.tw_available_time = f.available_time GROUP BY ALL"
        )
        events = store.sql("SELECT count(*) AS n FROM events").item()
    finally:
        store.close()
    graph_available: dict[str, datetime] = {}
    for sim in sims:
        graph_available.update(_graph_availability(sim, run_start_sim, clock.now()))

    def wall(sim: datetime) -> float:
        return real_start + (sim - SIM_START).total_seconds() / speed

    latencies: dict[str, list[float]] = {"activity_api": [], lane: []}
    stages: dict[str, list[float]] = {
        "available_to_fetched": [],
        "fetched_to_detected": [],
        "detected_to_delivered": [],
    }
    skipped = 0
    for row in findings.iter_rows(named=True):
        arrived = arrivals.get(row["uid"])
        available = row["available_time"]
        if arrived is None or available is None or row["rule_id"].startswith("tw_health_"):
            skipped += 1
            continue
        if any(source.startswith("activity") for source in row["sources"]):
            kind, since = "activity_api", available
        elif lane == "event_hub":  # the enqueued time is when the hub had it
            kind, since = lane, available
        else:  # the trigger came from Graph: when did the emulator make it available?
            truth = [graph_available[r] for r in row["record_ids"] if r in graph_available]
            kind, since = "graph", max(truth, default=available)
        if since < run_start_sim:
            skipped += 1
            continue
        latencies[kind].append(arrived - wall(since))
        fetched = row["fetched_time"] or available
        stages["available_to_fetched"].append((fetched - since).total_seconds() / speed)
        stages["fetched_to_detected"].append(
            (row["detected_time"] - fetched).total_seconds() / speed
        )
        stages["detected_to_delivered"].append(arrived - wall(row["detected_time"]))
    every = latencies["activity_api"] + latencies[lane]
    result: dict[str, Any] = {
        "lane": lane,
        "run_secs": duration_secs,
        "clock_speed": speed,
        "tenants": tenants,
        "users_per_tenant": users,
        "events_stored": events,
        "findings_measured": len(every),
        "findings_skipped": skipped,
        "startup_secs": round((run_start_sim - run_begin_sim).total_seconds() / speed, 2),
    }
    for name, values in {**latencies, "all": every, **stages}.items():
        if values:
            result[name] = {
                "n": len(values),
                "p50_secs": round(_quantile(values, 0.5), 3),
                "p99_secs": round(_quantile(values, 0.99), 3),
                "max_secs": round(max(values), 3),
            }
    result["samples_secs"] = {k: sorted(round(v, 3) for v in vs) for k, vs in latencies.items()}
    return result


def _graph_availability(tenant: SimTenant, start: datetime, end: datetime) -> dict[str, datetime]:
    """When each Graph record became available at the emulator (ground truth)."""
    out: dict[str, datetime] = {}
    for stream in (
        "graph/signIns/interactiveUser",
        "graph/signIns/nonInteractiveUser",
        "graph/signIns/servicePrincipal",
        "graph/directoryAudits",
    ):
        for served in tenant.timeline.graph_records(stream, start - timedelta(hours=6), end):
            out[served.id] = served.available
    return out


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 90.0
    figures = main(seconds, lane=sys.argv[2] if len(sys.argv) > 2 else "graph")
    figures.pop("samples_secs")
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
