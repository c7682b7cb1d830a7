"""An emulator and real pipelines against it, for collector tests.

The emulator runs in-process (uvicorn thread, TLS on 127.0.0.1) on a :class:`ManualClock` that
the pipeline shares, so a test can move time (an outage, a week) and restart the pipeline on
the same store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tenantwatch.assemble import assemble
from tenantwatch.config.model import (
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
from tenantwatch.emulator.scenarios import SCENARIOS
from tenantwatch.model.clock import ManualClock
from tenantwatch.pipeline import Pipeline
from tenantwatch.store import DuckDBStore

NOW = datetime(2026, 1, 14, 10, tzinfo=UTC)  # a Wednesday morning
CLIENT = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
PUBLISHER = "11111111-2222-4333-8444-555555555555"


@dataclass
class Tenant:
    server: EmulatorServer
    state: EmulatorState
    tenant: SimTenant
    clock: ManualClock
    secret_file: Path

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    def config(self, data_dir: Path, *sources: SourceConfig) -> PipelineConfig:
        return PipelineConfig(
            data_dir=data_dir,
            tenants=(
                TenantConfig(
                    id="t",
                    tenant_id=self.tenant_id,
                    client_id=CLIENT,
                    cloud="emulator",
                    endpoint=self.server.base_url,
                    ca_file=self.server.tls.ca_file,
                    client_secret=SecretConfig(file=self.secret_file),
                    publisher_id=PUBLISHER,
                ),
            ),
            sources=sources,
            sinks=(SinkConfig(id="f", type="jsonl", path=data_dir / "findings.jsonl"),),
        )

    def served(self, stream_prefix: str) -> set[str]:
        """Ids the emulator has served under streams starting with ``stream_prefix``."""
        return {
            record_id
            for (tenant, stream), ids in self.state.served.items()
            if tenant == self.tenant_id and stream.startswith(stream_prefix)
            for record_id in ids
        }


def start_tenant(
    tmp: Path,
    *,
    users: int = 40,
    history: timedelta = timedelta(days=2),
    duplicate_rate: float = 0.02,
    manage_requests_per_minute: int = 2000,
) -> Iterator[Tenant]:
    clock = ManualClock(NOW)
    tenant = SimTenant.build(
        seed=31,
        users=users,
        start=NOW,
        history=history,
        scenarios=sorted(SCENARIOS),
        scenario_start=NOW - timedelta(hours=20),
        duplicate_rate=duplicate_rate,
    )
    idp = IdentityProvider()
    idp.add_tenant(tenant.tenant_id, tenant.directory.domain)
    secret = "compliance-test-secret"
    idp.add_app(
        AppRegistration(
            CLIENT,
            tenant.tenant_id,
            secret=secret,
            roles={GRAPH_RESOURCE: ["AuditLog.Read.All"], MANAGE_RESOURCE: ["ActivityFeed.Read"]},
        )
    )
    state = EmulatorState(
        clock=clock,
        idp=idp,
        tenants={tenant.tenant_id: tenant},
        graph_requests_per_10s=0,
        manage_requests_per_minute=manage_requests_per_minute,
    )
    server = EmulatorServer(state, tls_dir=tmp / "tls").start()
    secret_file = tmp / "secret"
    secret_file.write_text(secret)
    secret_file.chmod(0o600)
    yield Tenant(server, state, tenant, clock, secret_file)
    server.stop()


def run_once(tenant: Tenant, config: PipelineConfig) -> Pipeline:
    """A fresh pipeline process-equivalent: assemble, poll every source once, stop."""
    assembly = assemble(config, stop=threading.Event())
    # the pipeline follows the emulator's manual clock
    assembly.pipeline.clock = tenant.clock
    for source in assembly.pipeline.sources:
        source.clock = tenant.clock  # type: ignore[attr-defined]
    try:
        assembly.pipeline.run(once=True)
    finally:
        assembly.close()
    return assembly.pipeline


def stored_ids(data_dir: Path, stream_prefix: str = "") -> list[str]:
    store = DuckDBStore(data_dir / "tenantwatch.duckdb", read_only=True)
    try:
        rows = store.sql(
            "SELECT metadata.uid AS uid FROM events WHERE tw_stream LIKE ? ORDER BY 1",
            [stream_prefix + "%"],
        )
    finally:
        store.close()
    return rows["uid"].to_list()
