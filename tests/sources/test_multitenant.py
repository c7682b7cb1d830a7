"""Several tenants in one pipeline file: each has its own credentials, checkpoints and records,
and one tenant's failure does not stop the others."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tenantwatch.assemble import assemble
from tenantwatch.config.model import PipelineConfig, SecretConfig, SourceConfig, TenantConfig
from tenantwatch.emulator import (
    AppRegistration,
    EmulatorServer,
    EmulatorState,
    IdentityProvider,
    SimTenant,
)
from tenantwatch.emulator.auth import GRAPH_RESOURCE, MANAGE_RESOURCE
from tenantwatch.model.clock import ManualClock
from tenantwatch.store import DuckDBStore
from tests.sources.harness import NOW, PUBLISHER

FAST = {"poll_interval_secs": 0.1, "retry_backoff_secs": 0.02, "initial_lookback_secs": 3 * 3600}
APPS = {
    "contoso": "6a2b9c1d-0000-4000-8000-00000000c0c0",
    "fabrikam": "6a2b9c1d-0000-4000-8000-0000000fab00",
}


@pytest.fixture(scope="module")
def emulator(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmulatorState, EmulatorServer, dict[str, SimTenant], Path]]:
    tmp = tmp_path_factory.mktemp("multitenant")
    clock = ManualClock(NOW)
    idp = IdentityProvider()
    tenants = {}
    for seed, (name, app) in enumerate(APPS.items()):
        tenant = SimTenant.build(seed=100 + seed, users=20, start=NOW, history=timedelta(hours=6))
        idp.add_tenant(tenant.tenant_id, tenant.directory.domain)
        idp.add_app(
            AppRegistration(
                app,
                tenant.tenant_id,
                secret=f"{name}-secret",
                roles={
                    GRAPH_RESOURCE: ["AuditLog.Read.All"],
                    MANAGE_RESOURCE: ["ActivityFeed.Read"],
                },
            )
        )
        (tmp / name).write_text(f"{name}-secret")
        (tmp / name).chmod(0o600)
        tenants[name] = tenant
    state = EmulatorState(
        clock=clock,
        idp=idp,
        tenants={t.tenant_id: t for t in tenants.values()},
        graph_requests_per_10s=0,
    )
    server = EmulatorServer(state, tls_dir=tmp / "tls").start()
    yield state, server, tenants, tmp
    server.stop()


def _config(
    data: Path, server: EmulatorServer, tenants: dict[str, SimTenant], secrets: dict[str, Path]
) -> PipelineConfig:
    return PipelineConfig(
        data_dir=data,
        tenants=tuple(
            TenantConfig(
                id=name,
                tenant_id=tenant.tenant_id,
                client_id=APPS[name],
                cloud="emulator",
                endpoint=server.base_url,
                ca_file=server.tls.ca_file,
                client_secret=SecretConfig(file=secrets[name]),
                publisher_id=PUBLISHER,
            )
            for name, tenant in tenants.items()
        ),
        sources=tuple(
            source
            for name in tenants
            for source in (
                SourceConfig(id=f"{name}-signins", type="graph_signins", tenant=name, **FAST),
                SourceConfig(
                    id=f"{name}-activity",
                    type="o365_management",
                    tenant=name,
                    content_types=("Audit.AzureActiveDirectory", "Audit.Exchange"),
                    **FAST,
                ),
            )
        ),
    )


def _run_once(config: PipelineConfig, clock: ManualClock) -> dict[str, str]:
    assembly = assemble(config, stop=threading.Event())
    assembly.pipeline.clock = clock
    for source in assembly.pipeline.sources:
        source.clock = clock  # type: ignore[attr-defined]
    try:
        assembly.pipeline.run(once=True)
    finally:
        assembly.close()
    return assembly.pipeline.failed_sources


def _stored(data: Path) -> dict[str, set[str]]:
    store = DuckDBStore(data / "tenantwatch.duckdb", read_only=True)
    try:
        rows = store.sql("SELECT tw_tenant, metadata.uid AS uid FROM events")
    finally:
        store.close()
    out: dict[str, set[str]] = {}
    for tenant, uid in rows.iter_rows():
        out.setdefault(tenant, set()).add(uid)
    return out


def _served(state: EmulatorState, tenant: SimTenant) -> set[str]:
    return {i for (t, _), ids in state.served.items() if t == tenant.tenant_id for i in ids}


def test_each_tenant_is_collected_with_its_own_credentials(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, server, tenants, secrets_dir = emulator
    state.served.clear()
    config = _config(tmp_path, server, tenants, {n: secrets_dir / n for n in tenants})
    assert _run_once(config, state.clock) == {}
    stored = _stored(tmp_path)
    assert set(stored) == {t.tenant_id for t in tenants.values()}
    for tenant in tenants.values():
        served = _served(state, tenant)
        assert len(served) > 50
        assert stored[tenant.tenant_id] == served  # exactly this tenant's records, under its id
    contoso, fabrikam = (stored[t.tenant_id] for t in tenants.values())
    assert not contoso & fabrikam
    store = DuckDBStore(tmp_path / "tenantwatch.duckdb", read_only=True)
    try:
        checkpoints = store.checkpoints()
    finally:
        store.close()
    assert {(t, s) for t, s, _ in checkpoints} == {
        (tenant.tenant_id, f"{name}-{kind}")
        for name, tenant in tenants.items()
        for kind in ("signins", "activity")
    }


def test_a_tenant_with_a_wrong_secret_does_not_stop_the_others(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, server, tenants, secrets_dir = emulator
    state.served.clear()
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-secret")
    wrong.chmod(0o600)
    config = _config(
        tmp_path, server, tenants, {"contoso": secrets_dir / "contoso", "fabrikam": wrong}
    )
    failed = _run_once(config, state.clock)
    assert set(failed) == {"fabrikam-signins", "fabrikam-activity"}
    assert all("not-the-secret" not in error for error in failed.values())
    assert all(
        "AADSTS7000215" in error or "invalid_client" in error for error in failed.values()
    ), failed
    stored = _stored(tmp_path)
    contoso = tenants["contoso"].tenant_id
    assert set(stored) == {contoso}
    assert stored[contoso] == _served(state, tenants["contoso"])
