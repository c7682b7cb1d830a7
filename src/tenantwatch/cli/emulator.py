"""``tenantwatch emulator``: serve the simulated tenant's Microsoft APIs on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from rich.console import Console

from tenantwatch.emulator import (
    AppRegistration,
    EmulatorServer,
    EmulatorState,
    Faults,
    IdentityProvider,
    SimTenant,
)
from tenantwatch.emulator.auth import GRAPH_RESOURCE, MANAGE_RESOURCE
from tenantwatch.emulator.event_hub import EventHubNamespace
from tenantwatch.model.clock import ScaledClock

__all__ = ["EmulatorOptions", "build_emulator", "serve"]

ROLES = {
    GRAPH_RESOURCE: ["AuditLog.Read.All", "Directory.Read.All"],
    MANAGE_RESOURCE: ["ActivityFeed.Read", "ActivityFeed.ReadDlp"],
}


@dataclass
class EmulatorOptions:
    state_dir: Path = Path("tenantwatch-emulator")
    users: int = 200
    seed: int = 7
    scenarios: list[str] = field(default_factory=list)
    ground_truth: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    speed: float = 1.0
    start: datetime | None = None
    backfill_days: float = 1.0
    scenario_delay_minutes: float = 2.0
    graph_limit: int = 5
    duplicate_rate: float = 0.005
    faults: Faults = field(default_factory=Faults)
    first_content_delay_minutes: float = 0.0
    subscribed: bool = True


@dataclass
class Emulator:
    """A built emulator, with what a client needs to reach it."""

    server: EmulatorServer
    state: EmulatorState
    tenant: SimTenant
    clock: ScaledClock
    client_id: str
    secret_file: Path
    cert_file: Path
    key_file: Path
    thumbprint: str
    control_key_file: Path
    hubs: EventHubNamespace
    hub_connection_file: Path


def _private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o600)


def _client_certificate(directory: Path) -> tuple[Path, Path, str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tenantwatch collector")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = directory / "client-cert.pem", directory / "client-key.pem"
    cert_file.write_bytes(cert_pem)
    _private(
        key_file,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's thumbprint
    return cert_file, key_file, thumbprint, cert_pem


def build_emulator(options: EmulatorOptions) -> Emulator:
    """Everything but the serving: tenant, identity, credentials on disk, server bound to a port."""
    state_dir = options.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    start = options.start or datetime.now(UTC).replace(microsecond=0)
    clock = ScaledClock(start, speed=options.speed)
    tenant = SimTenant.build(
        seed=options.seed,
        users=options.users,
        start=start,
        history=timedelta(days=options.backfill_days),
        scenarios=options.scenarios,
        scenario_start=start + timedelta(minutes=options.scenario_delay_minutes),
        duplicate_rate=options.duplicate_rate,
    )
    seeded = random.Random(f"client:{options.seed}")  # noqa: S311 - a stable id, not a secret
    client_id = str(uuid.UUID(int=seeded.getrandbits(128), version=4))
    secret = secrets.token_urlsafe(32)
    secret_file = state_dir / "client-secret"
    _private(secret_file, secret.encode())
    cert_file, key_file, thumbprint, cert_pem = _client_certificate(state_dir)
    idp = IdentityProvider()
    idp.add_tenant(tenant.tenant_id, tenant.directory.domain)
    idp.add_app(
        AppRegistration(
            client_id, tenant.tenant_id, secret=secret, certificate_pem=cert_pem, roles=ROLES
        )
    )
    state = EmulatorState(
        clock=clock,
        idp=idp,
        tenants={tenant.tenant_id: tenant},
        graph_requests_per_10s=options.graph_limit,
        faults=options.faults,
        first_content_delay_secs=options.first_content_delay_minutes * 60,
        subscribed=options.subscribed,
    )
    control_key_file = state_dir / "control-key"
    _private(control_key_file, state.control_key.encode())
    server = EmulatorServer(state, tls_dir=state_dir / "tls", host=options.host, port=options.port)
    # the tenant's Entra diagnostic setting streams to an event hub (1 day retained)
    hubs = EventHubNamespace(
        state,
        tls=server.tls,
        host=options.host,
        history=timedelta(days=min(1.0, options.backfill_days)),
    )
    hub_connection_file = state_dir / "event-hub-connection"
    _private(hub_connection_file, hubs.connection_string(f"entra-{tenant.tenant_id}").encode())
    if options.ground_truth is not None:
        options.ground_truth.write_text(json.dumps(tenant.ground_truth_document(), indent=2))
    return Emulator(
        server,
        state,
        tenant,
        clock,
        client_id,
        secret_file,
        cert_file,
        key_file,
        thumbprint,
        control_key_file,
        hubs,
        hub_connection_file,
    )


def sample_config(emu: Emulator) -> str:
    """A pipeline file that collects everything from this emulator."""
    lines = [
        "# tenantwatch pipeline for the emulator (tenantwatch run --config FILE)",
        "tenants:",
        "  - id: emulated",
        f"    tenant_id: {emu.tenant.tenant_id}",
        "    cloud: emulator",
        f"    endpoint: {emu.server.base_url}",
        f"    ca_file: {emu.server.tls.ca_file.resolve()}",
        f"    client_id: {emu.client_id}",
        f"    client_secret: {{file: {emu.secret_file.resolve()}}}",
        "    # or a certificate:",
        f"    # certificate: {{key_file: {emu.key_file.resolve()}, thumbprint: {emu.thumbprint}}}",
        f"    publisher_id: {emu.tenant.tenant_id}",
        "sources:",
        "  # Entra ID sign-ins and directory audits as a diagnostic setting streams them to an",
        "  # event hub: each record within seconds of Microsoft writing it",
        "  - {id: entra_hub, type: event_hub, tenant: emulated,",
        f"     endpoint: {emu.hubs.endpoint},",
        f"     connection_string: {{file: {emu.hub_connection_file.resolve()}}}}}",
        "  # or poll Graph for them (5 requests per 10 s per tenant: seconds more per record)",
        "  # - {id: signins, type: graph_signins, tenant: emulated, version: beta,",
        "  #    event_types: [interactiveUser, nonInteractiveUser, servicePrincipal, "
        "managedIdentity]}",
        "  # - {id: directory_audits, type: graph_directory_audits, tenant: emulated}",
        "  - {id: activity, type: o365_management, tenant: emulated}",
    ]
    if emu.clock.speed != 1.0:
        c = emu.clock
        lines += [
            "clock:  # the emulator's simulated clock runs faster than real time",
            f"  sim_start: {c.sim_start.isoformat()}",
            f"  real_start: {c.real_start}",
            f"  speed: {c.speed}",
        ]
    return "\n".join(lines) + "\n"


def serve(options: EmulatorOptions, console: Console) -> None:
    """Build the emulator, print how to reach it, serve until Ctrl-C."""
    emu = build_emulator(options)
    base = emu.server.base_url
    t = emu.tenant
    console.print(
        f"[bold]tenantwatch emulator[/]: tenant {t.tenant_id} ({t.directory.domain}), "
        f"{len(t.directory.users)} users, clock ×{options.speed:g} from "
        f"{emu.clock.sim_start:%Y-%m-%d %H:%M} UTC, "
        f"scenarios: {', '.join(options.scenarios) or 'none'}"
    )
    console.print(f"  Entra ID (login)          {base}/{t.tenant_id}/oauth2/v2.0/token")
    console.print(f"  Microsoft Graph           {base}/graph/v1.0/auditLogs/signIns")
    feed = f"{base}/manage/api/v1.0/{t.tenant_id}/activity/feed/"
    console.print(f"  Management Activity API   {feed}")
    console.print(
        f"  control API               {base}/_emulator/  (X-Emulator-Key in {emu.control_key_file})"
    )
    console.print(
        f"  Event Hubs (AMQP, TLS)    {emu.hubs.endpoint}  hub entra-{t.tenant_id} "
        f"(connection string in {emu.hub_connection_file})"
    )
    console.print(f"  health                    {base}/health")
    console.print(f"  TLS CA                    {emu.server.tls.ca_file}")
    console.print(
        f"  client id                 {emu.client_id}  (secret in {emu.secret_file}, "
        f"certificate {emu.cert_file}, thumbprint {emu.thumbprint})"
    )
    if options.ground_truth is not None:
        console.print(f"  ground truth              {options.ground_truth}")
    config_file = options.state_dir / "pipeline.yml"
    config_file.write_text(sample_config(emu))
    console.print(f"\nSample client configuration (also in {config_file}):\n")
    console.print(sample_config(emu), markup=False, highlight=False)
    console.print("[dim]Serving until Ctrl-C.[/]")
    emu.hubs.start()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            emu.server.serve_forever()
    finally:
        emu.hubs.stop()
