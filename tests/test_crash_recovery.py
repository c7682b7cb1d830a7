"""Kill the pipeline process (SIGKILL) at random moments, restart it, twenty times: at the end,
every record the emulator served is stored once, and no finding is raised twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from tenantwatch.emulator import (
    AppRegistration,
    EmulatorServer,
    EmulatorState,
    IdentityProvider,
    SimTenant,
)
from tenantwatch.emulator.auth import GRAPH_RESOURCE, MANAGE_RESOURCE
from tenantwatch.model.clock import ScaledClock
from tests.sources.harness import CLIENT, stored_ids

pytestmark = pytest.mark.slow
KILLS = 20


@pytest.fixture
def emulator(
    tmp_path: Path,
) -> Iterator[tuple[EmulatorServer, EmulatorState, SimTenant, ScaledClock, Path]]:
    start = datetime(2026, 1, 14, 10, tzinfo=UTC)
    clock = ScaledClock(start, speed=30.0)  # new activity keeps arriving between kills
    tenant = SimTenant.build(
        seed=41,
        users=120,
        start=start,
        history=timedelta(days=1),
        scenarios=["midnight-blizzard", "password-spray"],
        scenario_start=start - timedelta(hours=14),
        duplicate_rate=0.02,
    )
    idp = IdentityProvider()
    idp.add_tenant(tenant.tenant_id)
    idp.add_app(
        AppRegistration(
            CLIENT,
            tenant.tenant_id,
            secret="kill-test-secret",
            roles={GRAPH_RESOURCE: ["AuditLog.Read.All"], MANAGE_RESOURCE: ["ActivityFeed.Read"]},
        )
    )
    state = EmulatorState(
        clock=clock, idp=idp, tenants={tenant.tenant_id: tenant}, graph_requests_per_10s=0
    )
    state.faults.update({"server_error_rate": 0.03, "retry_after_secs": 0})
    server = EmulatorServer(state, tls_dir=tmp_path / "tls").start()
    secret = tmp_path / "secret"
    secret.write_text("kill-test-secret")
    secret.chmod(0o600)
    yield server, state, tenant, clock, secret
    server.stop()


def _config(
    path: Path, server: EmulatorServer, tenant: SimTenant, clock: ScaledClock, secret: Path
) -> None:
    fast = {"poll_interval_secs": 0.5, "retry_backoff_secs": 0.05, "initial_lookback_secs": 86400}
    config = {
        "data_dir": str(path.parent / "data"),
        "tenants": [
            {
                "id": "t",
                "tenant_id": tenant.tenant_id,
                "client_id": CLIENT,
                "cloud": "emulator",
                "endpoint": server.base_url,
                "ca_file": str(server.tls.ca_file),
                "client_secret": {"file": str(secret)},
                "publisher_id": tenant.tenant_id,
            }
        ],
        "sources": [
            {
                "id": "signins",
                "type": "graph_signins",
                "tenant": "t",
                "version": "beta",
                "event_types": ["interactiveUser", "servicePrincipal"],
                "sweep_interval_secs": 0,
                **fast,
            },
            {
                "id": "audits",
                "type": "graph_directory_audits",
                "tenant": "t",
                "sweep_interval_secs": 0,
                **fast,
            },
            {"id": "activity", "type": "o365_management", "tenant": "t", **fast},
        ],
        "sinks": [{"id": "f", "type": "jsonl", "path": "findings.jsonl"}],
        "clock": {
            "sim_start": clock.sim_start.isoformat(),
            "real_start": clock.real_start,
            "speed": clock.speed,
        },
    }
    path.write_text(yaml.safe_dump(config))


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, state, tenant, clock, secret = emulator
    config = tmp_path / "pipeline.yml"
    _config(config, server, tenant, clock, secret)
    rng = random.Random(7)
    command = [sys.executable, "-m", "tenantwatch", "run", "--config", str(config)]
    stored_after_kill = []
    for _ in range(KILLS):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 4.5))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        if (tmp_path / "data" / "tenantwatch.duckdb").exists():
            stored_after_kill.append(len(stored_ids(tmp_path / "data")))
    # the kills landed while work was under way, not only before or after it
    assert len(set(stored_after_kill)) >= 4, stored_after_kill
    state.faults.update({"server_error_rate": 0.0})
    final = subprocess.run(
        [*command, "--once"], capture_output=True, text=True, timeout=300, check=False
    )
    assert final.returncode == 0, final.stderr[-2000:]

    data = tmp_path / "data"
    graph = stored_ids(data, "signIns/") + stored_ids(data, "directoryAudits")
    activity = stored_ids(data, "activity/")
    served_graph = {
        i for (t, s), ids in state.served.items() if s.startswith("graph/") for i in ids
    }
    served_activity = {
        i for (t, s), ids in state.served.items() if s.startswith("o365/") for i in ids
    }
    assert len(graph) == len(set(graph))
    assert len(activity) == len(set(activity))
    assert set(graph) == served_graph
    assert set(activity) == served_activity
    assert len(served_graph) > 100
    assert len(served_activity) > 100

    con = duckdb.connect(str(data / "tenantwatch.duckdb"), read_only=True)
    findings, distinct = con.execute(
        "SELECT count(*), count(DISTINCT rule_id || entity_key) FROM findings"
    ).fetchall()[0]
    con.close()
    assert findings == distinct
    assert findings >= 1, "the password spray is found despite the crashes"
