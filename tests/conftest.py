"""Shared fixtures: a real emulator on 127.0.0.1 (TLS), app credentials, clients."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tenantwatch.emulator import (
    AppRegistration,
    EmulatorServer,
    EmulatorState,
    IdentityProvider,
    SimTenant,
)
from tenantwatch.emulator.auth import GRAPH_RESOURCE, MANAGE_RESOURCE
from tenantwatch.model.clock import ManualClock
from tenantwatch.sources.base import SourceMetrics
from tenantwatch.sources.cloud import CLOUDS, CloudEndpoints
from tenantwatch.sources.credential import MsalCredential, SecretRef
from tenantwatch.sources.http import ApiClient, RetryPolicy

START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
CLIENT_ID = "4a1f3a52-5f6e-4c1d-9a77-2b8e4c1d0001"
NO_ROLES_CLIENT_ID = "4a1f3a52-5f6e-4c1d-9a77-2b8e4c1d0002"
CLIENT_SECRET = "emulator-test-secret-value"


@dataclass
class Emulated:
    """A running emulator with one tenant and its registered apps."""

    server: EmulatorServer
    state: EmulatorState
    tenant: SimTenant
    clock: ManualClock

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def cloud(self) -> CloudEndpoints:
        return CLOUDS["commercial"].with_base(self.server.base_url)

    @property
    def ca_file(self) -> Path:
        return self.server.tls.ca_file

    def http(self) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return httpx.Client(verify=context, trust_env=False)

    def credential(self, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> MsalCredential:
        return MsalCredential(
            tenant_id=self.tenant_id,
            client_id=client_id,
            cloud=self.cloud,
            secret=SecretRef(value=secret),
            ca_file=self.ca_file,
        )

    def api(self, *, stop: threading.Event | None = None, attempts: int = 4) -> ApiClient:
        return ApiClient(
            credential=self.credential(),
            resource=GRAPH_RESOURCE,
            http=self.http(),
            metrics=SourceMetrics(),
            retry=RetryPolicy(max_attempts=attempts, initial_backoff_secs=0.01),
            stop=stop,
        )


@pytest.fixture(scope="session")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulated]:
    """One emulator for the session: 200 users, a password spray, the clock at 10:00 UTC."""
    clock = ManualClock(START + timedelta(hours=1))
    tenant = SimTenant.build(seed=11, users=200, start=START, scenarios=["password-spray"])
    idp = IdentityProvider()
    idp.add_tenant(tenant.tenant_id, tenant.directory.domain)
    idp.add_app(
        AppRegistration(
            CLIENT_ID,
            tenant.tenant_id,
            secret=CLIENT_SECRET,
            roles={
                GRAPH_RESOURCE: ["AuditLog.Read.All", "Directory.Read.All"],
                MANAGE_RESOURCE: ["ActivityFeed.Read"],
            },
        )
    )
    idp.add_app(AppRegistration(NO_ROLES_CLIENT_ID, tenant.tenant_id, secret=CLIENT_SECRET))
    state = EmulatorState(
        clock=clock, idp=idp, tenants={tenant.tenant_id: tenant}, graph_requests_per_10s=0
    )
    server = EmulatorServer(state, tls_dir=tmp_path_factory.mktemp("tls")).start()
    yield Emulated(server=server, state=state, tenant=tenant, clock=clock)
    server.stop()


@pytest.fixture
def graph_token(emulated: Emulated) -> str:
    return emulated.credential().token(GRAPH_RESOURCE)


@pytest.fixture(scope="session")
def feed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """An emulator with one day of history and every scenario (see tests/emulator/feed.py)."""
    from tests.emulator.feed import build_feed

    yield from build_feed(tmp_path_factory.mktemp("feed-tls"))
