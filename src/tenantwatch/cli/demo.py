"""``tenantwatch demo``: an emulated tenant under attack, the real pipeline, live findings.

Everything runs for real: the emulator serves Microsoft's APIs over HTTPS on 127.0.0.1, the
Graph collector signs in with msal and polls over HTTP, events land in a DuckDB file, the rules
raise findings, and findings go to the terminal and ``<data-dir>/findings.jsonl``.

The demo's simulated clock runs ``speed`` times faster than real time. Running the demo again on
the same data directory continues the same simulated tenant from where it stopped (the
collector resumes from its checkpoint); ``--reset`` starts over.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import ssl
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from tenantwatch.detect import DetectionEngine, RuleSet
from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.emulator import (
    AppRegistration,
    EmulatorServer,
    EmulatorState,
    IdentityProvider,
    SimTenant,
)
from tenantwatch.emulator.auth import GRAPH_RESOURCE
from tenantwatch.errors import ConfigError
from tenantwatch.model.clock import ScaledClock
from tenantwatch.pipeline import Pipeline
from tenantwatch.sinks import JsonlSink, Sink, TerminalSink
from tenantwatch.sources.base import SourceMetrics
from tenantwatch.sources.cloud import CLOUDS
from tenantwatch.sources.credential import MsalCredential, SecretRef
from tenantwatch.sources.graph import GraphSignInSource
from tenantwatch.sources.http import ApiClient, RequestBudget
from tenantwatch.store import DuckDBStore

__all__ = ["DemoOptions", "run_demo"]

STATE_FILE = "demo.json"
DEMO_FILES = (
    STATE_FILE,
    "tenantwatch.duckdb",
    "tenantwatch.duckdb.wal",
    "findings.jsonl",
    "ground-truth.json",
)
# Monday 2026-01-12 09:00 UTC: the working day has just begun in Europe.
DEFAULT_START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class DemoOptions:
    data_dir: Path
    duration_secs: float | None = None
    users: int = 200
    speed: float = 30.0
    seed: int = 7
    reset: bool = False
    live: bool = True
    poll_interval_secs: float = 3.0


@dataclass
class DemoState:
    """What must stay the same when a demo continues: the tenant and its simulated time."""

    seed: int
    users: int
    sim_start: datetime
    sim_reached: datetime
    tenant_id: str

    @classmethod
    def load(cls, path: Path) -> DemoState | None:
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        return cls(
            seed=int(raw["seed"]),
            users=int(raw["users"]),
            sim_start=datetime.fromisoformat(raw["sim_start"]),
            sim_reached=datetime.fromisoformat(raw["sim_reached"]),
            tenant_id=str(raw["tenant_id"]),
        )

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "seed": self.seed,
                    "users": self.users,
                    "sim_start": self.sim_start.isoformat(),
                    "sim_reached": self.sim_reached.isoformat(),
                    "tenant_id": self.tenant_id,
                },
                indent=2,
            )
        )


def _prepare(options: DemoOptions) -> DemoState:
    data = options.data_dir
    if options.reset and data.exists():
        for name in DEMO_FILES:
            (data / name).unlink(missing_ok=True)
        shutil.rmtree(data / "emulator-tls", ignore_errors=True)
    data.mkdir(parents=True, exist_ok=True)
    state = DemoState.load(data / STATE_FILE)
    if state is None:
        tenant_id = str(uuid.UUID(int=options.seed, version=4))
        return DemoState(options.seed, options.users, DEFAULT_START, DEFAULT_START, tenant_id)
    if (state.seed, state.users) != (options.seed, options.users):
        raise ConfigError(
            f"{data} holds a demo of {state.users} users with seed {state.seed}",
            path=str(data / STATE_FILE),
            fix="add --reset to start over, or choose another --data-dir",
        )
    return state


def run_demo(options: DemoOptions, console: Console) -> Pipeline:
    """Run the demo; return the pipeline (its stats) once it stopped."""
    state = _prepare(options)
    data = options.data_dir
    clock = ScaledClock(state.sim_reached, speed=options.speed)
    tenant = SimTenant.build(
        seed=state.seed,
        users=state.users,
        start=state.sim_start,
        scenarios=["password-spray"],
        scenario_start=state.sim_start + timedelta(minutes=1),
        tenant_id=state.tenant_id,
    )
    (data / "ground-truth.json").write_text(json.dumps(tenant.ground_truth_document(), indent=2))

    # The emulator: Entra ID and Graph for the simulated tenant, over TLS on 127.0.0.1.
    idp = IdentityProvider()
    idp.add_tenant(tenant.tenant_id, tenant.directory.domain)
    client_id, client_secret = str(uuid.uuid4()), secrets.token_urlsafe(32)
    idp.add_app(
        AppRegistration(
            client_id,
            tenant.tenant_id,
            secret=client_secret,
            roles={GRAPH_RESOURCE: ["AuditLog.Read.All", "Directory.Read.All"]},
        )
    )
    emulator = EmulatorState(clock=clock, idp=idp, tenants={tenant.tenant_id: tenant})
    server = EmulatorServer(emulator, tls_dir=data / "emulator-tls").start()
    try:
        cloud = CLOUDS["commercial"].with_base(server.base_url)
        credential = MsalCredential(
            tenant_id=tenant.tenant_id,
            client_id=client_id,
            cloud=cloud,
            secret=SecretRef(value=client_secret),
            ca_file=server.tls.ca_file,
        )
        http = httpx.Client(
            verify=ssl.create_default_context(cafile=str(server.tls.ca_file)), trust_env=False
        )
        stop = threading.Event()
        metrics = SourceMetrics()
        api = ApiClient(
            credential=credential,
            resource=cloud.graph_resource,
            http=http,
            metrics=metrics,
            budget=RequestBudget(5, 10.0),
            stop=stop,
            stream="signIns",
        )
        source = GraphSignInSource(
            source_id="graph_signins",
            tenant=tenant.tenant_id,
            api=api,
            graph_url=cloud.graph,
            clock=clock,
            delay=timedelta(minutes=2),
            lateness=timedelta(minutes=30),
            initial_lookback=timedelta(hours=1),
            poll_interval_secs=options.poll_interval_secs,
        )
        store = DuckDBStore(data / "tenantwatch.duckdb")
        engine = DetectionEngine(RuleSet.from_paths([builtin_rules_path()]))
        sinks: list[Sink] = [JsonlSink(data / "findings.jsonl"), TerminalSink(console)]
        pipeline = Pipeline(
            sources=[source], store=store, engine=engine, sinks=sinks, clock=clock, stop=stop
        )
        _print_intro(console, options, server.base_url, tenant, data)
        try:
            if options.live:
                with Live(
                    get_renderable=lambda: _view(pipeline, clock, store),
                    console=console,
                    refresh_per_second=2,
                    transient=False,
                ):
                    pipeline.run(options.duration_secs)
            else:
                pipeline.run(options.duration_secs)
        except KeyboardInterrupt:
            pipeline.shutdown()
            console.print("[dim]stopped[/]")
        finally:
            state.sim_reached = clock.now()
            state.save(data / STATE_FILE)
            store.close()
            http.close()
            credential.close()
        _print_summary(console, pipeline, data)
        return pipeline
    finally:
        server.stop()


def _print_intro(
    console: Console, options: DemoOptions, url: str, tenant: SimTenant, data: Path
) -> None:
    console.print(
        f"[bold]tenantwatch demo[/]: {len(tenant.directory.users)} simulated users, "
        f"clock ×{options.speed:g}, emulator at {url}, data in {data}"
    )
    console.print(
        "[dim]A password spray from rotating residential IPs starts one simulated minute in; "
        "watch for the findings.[/]"
    )


def _view(pipeline: Pipeline, clock: ScaledClock, store: DuckDBStore) -> Group:
    s = pipeline.stats
    table = Table(show_header=False, box=None, padding=(0, 2))
    source_metrics = pipeline.sources[0].metrics
    table.add_row("simulated time", f"{clock.now():%Y-%m-%d %H:%M:%S} UTC")
    table.add_row("records fetched", str(s.received))
    table.add_row("events stored", str(s.stored))
    table.add_row("duplicates dropped", str(s.duplicates))
    table.add_row("quarantined", str(s.quarantined))
    table.add_row(
        "API requests / throttled / retries",
        f"{source_metrics.requests} / {source_metrics.throttled} / {source_metrics.retries}",
    )
    table.add_row("findings", f"[bold]{s.findings}[/] new, {s.findings_updated} updates")
    table.add_row("pipeline latency (fetch → stored)", f"{s.last_latency_secs:.2f} s")
    if s.newest_event is not None:
        lag = (clock.now() - s.newest_event).total_seconds()
        table.add_row(
            "newest event (lag)", f"{s.newest_event:%H:%M:%S} ({lag / 60:.1f} simulated min)"
        )
    if source_metrics.last_error:
        table.add_row("[red]last error[/]", source_metrics.last_error[:100])
    return Group(table)


def _print_summary(console: Console, pipeline: Pipeline, data: Path) -> None:
    s = pipeline.stats
    console.print(
        f"[bold]done[/]: {s.received} records fetched, {s.stored} events stored, "
        f"{s.duplicates} duplicates dropped, {s.quarantined} quarantined, {s.findings} findings "
        f"→ {data / 'findings.jsonl'}"
    )


logging.getLogger("httpx").setLevel(logging.WARNING)
