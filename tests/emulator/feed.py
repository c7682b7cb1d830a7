"""A second emulator for Activity API tests: two days of history, every scenario, a movable clock."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

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
from tenantwatch.sources.cloud import CLOUDS
from tenantwatch.sources.credential import MsalCredential, SecretRef
from tests.conftest import CLIENT_ID, CLIENT_SECRET, START

PUBLISHER = "46b472a7-c68e-4adf-8ade-3db49497518e"
SCENARIO_START = START + timedelta(hours=2)
NOW = START + timedelta(days=1)


@dataclass
class Feed:
    server: EmulatorServer
    state: EmulatorState
    tenant: SimTenant
    clock: ManualClock
    manage_token: str
    graph_token: str
    _client: httpx.Client | None = None

    @property
    def root(self) -> str:
        return f"{self.server.base_url}/manage/api/v1.0/{self.tenant.tenant_id}/activity/feed"

    def http(self) -> httpx.Client:
        return httpx.Client(
            verify=ssl.create_default_context(cafile=str(self.server.tls.ca_file)), trust_env=False
        )

    def call(
        self,
        method: str,
        path_or_url: str,
        *,
        publisher: bool = True,
        token: str | None = None,
        **params: str,
    ) -> httpx.Response:
        url = path_or_url if path_or_url.startswith("https://") else f"{self.root}/{path_or_url}"
        if publisher:
            params["PublisherIdentifier"] = PUBLISHER
        merged = httpx.URL(url).copy_merge_params(params)  # keep the URL's own query
        if self._client is None:
            self._client = self.http()
        return self._client.request(
            method, merged, headers={"Authorization": f"Bearer {token or self.manage_token}"}
        )

    def list_all(self, content_type: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every content entry in [start, end), following NextPageUri, in windows of 24 h."""
        entries: list[dict[str, Any]] = []
        while start < end:
            stop = min(start + timedelta(hours=24), end)
            r = self.call(
                "GET",
                "subscriptions/content",
                contentType=content_type,
                startTime=start.strftime("%Y-%m-%dT%H:%M:%S"),
                endTime=stop.strftime("%Y-%m-%dT%H:%M:%S"),
            )
            assert r.status_code == 200, r.text
            entries += r.json()
            while "NextPageUri" in r.headers:
                r = self.call("GET", r.headers["NextPageUri"])
                assert r.status_code == 200, r.text
                entries += r.json()
            start = stop
        return entries


def build_feed(tls_dir: Path) -> Iterator[Feed]:
    clock = ManualClock(NOW)
    tenant = SimTenant.build(
        seed=23,
        users=120,
        start=NOW,
        history=timedelta(days=1),
        scenarios=sorted(SCENARIOS),
        scenario_start=SCENARIO_START,
        duplicate_rate=0.02,
    )
    idp = IdentityProvider()
    idp.add_tenant(tenant.tenant_id, tenant.directory.domain)
    idp.add_app(
        AppRegistration(
            CLIENT_ID,
            tenant.tenant_id,
            secret=CLIENT_SECRET,
            roles={
                GRAPH_RESOURCE: ["AuditLog.Read.All"],
                MANAGE_RESOURCE: ["ActivityFeed.Read", "ActivityFeed.ReadDlp"],
            },
        )
    )
    state = EmulatorState(
        clock=clock,
        idp=idp,
        tenants={tenant.tenant_id: tenant},
        graph_requests_per_10s=0,
        allow_http_webhooks=True,
    )
    server = EmulatorServer(state, tls_dir=tls_dir).start()
    cloud = CLOUDS["commercial"].with_base(server.base_url)
    credential = MsalCredential(
        tenant_id=tenant.tenant_id,
        client_id=CLIENT_ID,
        cloud=cloud,
        secret=SecretRef(value=CLIENT_SECRET),
        ca_file=server.tls.ca_file,
    )
    feed = Feed(
        server,
        state,
        tenant,
        clock,
        credential.token(MANAGE_RESOURCE),
        credential.token(GRAPH_RESOURCE),
    )
    credential.close()
    yield feed
    if feed._client is not None:
        feed._client.close()
    server.stop()
