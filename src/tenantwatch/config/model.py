"""The pipeline file: tenants, sources, detections and sinks by id, each with a ``type:``.

Validated with pydantic; :mod:`tenantwatch.config.loader` turns every validation error into a
:class:`~tenantwatch.errors.ConfigError` naming the file, the line and what to change.
Secrets are never written inline: ``{env: NAME}`` or ``{file: PATH}``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AccessConfig",
    "CertificateConfig",
    "ClockConfig",
    "DetectionConfig",
    "MetricsConfig",
    "PipelineConfig",
    "SecretConfig",
    "SinkConfig",
    "SourceConfig",
    "TenantConfig",
]

CONTENT_TYPES = (
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
    "DLP.All",
)
EVENT_TYPES = ("interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretConfig(Strict):
    """A secret's location: an environment variable or a file (mode 0600 recommended). The
    secret itself written in its place is refused, wherever a secret is expected."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_inline(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(
                "inline secrets are not allowed; use {env: VARIABLE} or {file: /path/to/secret}"
            )
        return value

    @model_validator(mode="after")
    def _one(self) -> SecretConfig:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env: or file:")
        return self


class CertificateConfig(Strict):
    """A certificate registered on the app: its private key (PEM) and SHA-1 thumbprint."""

    key_file: Path
    thumbprint: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{40}$")]


class TenantConfig(Strict):
    """One Microsoft 365 tenant and the app registration that reads it."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    tenant_id: Annotated[str, Field(min_length=1)]
    client_id: Annotated[str, Field(min_length=1)]
    cloud: Literal["commercial", "gcc", "gcc_high", "dod", "emulator"] = "commercial"
    endpoint: str | None = None  # emulator only: its base URL
    ca_file: Path | None = None  # emulator only: its TLS CA
    client_secret: SecretConfig | None = None
    certificate: CertificateConfig | None = None
    publisher_id: str | None = None

    @model_validator(mode="after")
    def _credentials(self) -> TenantConfig:
        if (self.client_secret is None) == (self.certificate is None):
            raise ValueError("give exactly one of client_secret: or certificate:")
        if self.cloud == "emulator" and not self.endpoint:
            raise ValueError("cloud: emulator needs endpoint: (the emulator's base URL)")
        return self


class SourceConfig(Strict):
    """A collector. ``type`` picks it; options not used by that type are refused."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    type: Literal["graph_signins", "graph_directory_audits", "o365_management", "event_hub", "file"]
    tenant: str | None = None
    # seconds between polls: what tenantwatch adds to Microsoft's delay at most. Activity API
    # calls are plentiful (2,000 a minute); Graph's 5 per 10 s per tenant pace polls anyway
    poll_interval_secs: Annotated[float, Field(gt=0)] = 10.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 8
    retry_backoff_secs: Annotated[float, Field(gt=0)] = 0.5
    # Graph
    version: Literal["v1.0", "beta"] = "v1.0"
    event_types: tuple[Literal[EVENT_TYPES], ...] | None = None  # type: ignore[valid-type]
    delay_secs: Annotated[float, Field(ge=0)] = 120.0
    # read up to now each poll (the last delay_secs again next time): records as soon as Graph
    # has them, at the cost of re-reading; false: read only up to now - delay_secs
    read_to_now: bool = True
    lateness_secs: Annotated[float, Field(ge=0)] = 1800.0
    sweep_interval_secs: Annotated[float, Field(ge=0)] = 600.0
    # Management Activity API
    content_types: tuple[Literal[CONTENT_TYPES], ...] = CONTENT_TYPES  # type: ignore[valid-type]
    overlap_secs: Annotated[float, Field(ge=0)] = 3600.0
    max_concurrent_blobs: Annotated[int, Field(ge=1, le=32)] = 4
    # both APIs
    initial_lookback_secs: Annotated[float, Field(gt=0, le=7 * 86400)] = 86400.0
    # a finding when no record became available on a stream for this long (0: not watched)
    freshness_threshold_secs: Annotated[float, Field(ge=0)] = 14400.0
    # Event Hub (Entra diagnostic setting): a Listen policy's connection string, never inline
    connection_string: SecretConfig | None = None
    event_hub: str | None = None  # the hub's name, when the connection string has no EntityPath
    consumer_group: str = "$Default"
    endpoint: str | None = None  # a custom endpoint (private endpoint, gateway, the emulator)
    ca_file: Path | None = None  # CA bundle for that endpoint's TLS certificate
    # files
    path: Path | None = None
    format: Literal["auto", "ndjson", "json", "csv"] = "auto"

    @model_validator(mode="after")
    def _fits_type(self) -> SourceConfig:
        if self.type == "event_hub" and self.connection_string is None:
            raise ValueError(
                "an event_hub source needs connection_string: {env: NAME} or {file: PATH} "
                "(a shared access policy with the Listen right)"
            )
        if self.type != "event_hub" and self.connection_string is not None:
            raise ValueError("connection_string: is only used by event_hub sources")
        if self.type == "file":
            if self.path is None:
                raise ValueError("a file source needs path: (a file or a directory to watch)")
        elif self.tenant is None:
            raise ValueError(f"a {self.type} source needs tenant: (the id of a tenant above)")
        if self.type == "graph_signins" and self.version == "v1.0":
            types = self.event_types or ("interactiveUser",)
            if set(types) != {"interactiveUser"}:
                raise ValueError(
                    "only interactiveUser sign-ins are listed by v1.0; set version: beta"
                )
        return self


class DetectionConfig(Strict):
    """Rules to run: ``paths`` are files or directories; ``builtin`` is the shipped pack."""

    id: str
    type: Literal["sigma"] = "sigma"
    paths: tuple[str, ...] = ("builtin",)
    # values of %name% placeholders in the rules (SigmaHQ's rules-placeholder)
    placeholders: dict[str, tuple[str, ...]] = {}
    # load what can be loaded and log the rest (off: any unusable rule stops the start)
    skip_unsupported: bool = False


SYSLOG_FACILITY = Literal[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7",
]  # fmt: skip
SINK_OPTIONS: dict[str, tuple[set[str], set[str]]] = {
    # type: (required options, allowed options) besides id, type and the common ones
    "jsonl": ({"path"}, {"path"}),
    "terminal": (set(), set()),
    "webhook": ({"url"}, {"url", "secret", "headers", "ca_file"}),
    "slack": ({"webhook_url"}, {"webhook_url", "ca_file"}),
    "syslog": (
        {"host", "port"},
        {"host", "port", "protocol", "format", "facility", "app_name", "server_name", "ca_file"},
    ),
    "email": (
        {"host", "sender", "recipients"},
        {"host", "port", "sender", "recipients", "username", "password", "starttls", "ca_file"},
    ),
}
COMMON_SINK_OPTIONS = {
    "id", "type", "timeout_secs", "max_attempts", "retry_backoff_secs", "max_backoff_secs",
}  # fmt: skip


class SinkConfig(Strict):
    """An alert output. ``type`` picks it; options not used by that type are refused.

    Delivery runs in the sink's own thread: up to ``max_attempts`` tries, backing off from
    ``retry_backoff_secs`` to ``max_backoff_secs``, then the findings go to the sink's
    dead-letter file."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    type: Literal["jsonl", "terminal", "webhook", "slack", "syslog", "email"]
    timeout_secs: Annotated[float, Field(gt=0, le=300)] = 10.0
    max_attempts: Annotated[int, Field(ge=1, le=50)] = 6
    retry_backoff_secs: Annotated[float, Field(gt=0)] = 1.0
    max_backoff_secs: Annotated[float, Field(gt=0)] = 60.0
    # jsonl
    path: Path | None = None
    # webhook (url), slack (webhook_url: it holds Slack's token, so it is a secret)
    url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    secret: SecretConfig | None = None  # HMAC-SHA256 signing key
    headers: dict[str, str] = {}
    webhook_url: SecretConfig | None = None
    # syslog, email
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    protocol: Literal["udp", "tcp", "tls"] = "tls"
    format: Literal["json", "cef"] = "json"
    facility: Annotated[int, Field(ge=0, le=23)] | SYSLOG_FACILITY = "local0"
    app_name: str = "tenantwatch"
    server_name: str | None = None  # TLS: the name on the receiver's certificate
    sender: str | None = None
    recipients: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")], ...] = ()
    username: str | None = None
    password: SecretConfig | None = None
    starttls: bool = True
    ca_file: Path | None = None  # a private CA for the receiver's certificate

    @model_validator(mode="after")
    def _fits_type(self) -> SinkConfig:
        required, allowed = SINK_OPTIONS[self.type]
        given = {name for name in self.model_fields_set if name not in COMMON_SINK_OPTIONS}
        missing = sorted(name for name in required if getattr(self, name) in (None, ()))
        if missing:
            raise ValueError(f"a {self.type} sink needs {', '.join(m + ':' for m in missing)}")
        extra = sorted(given - allowed)
        if extra:
            raise ValueError(
                f"{', '.join(extra)} not used by a {self.type} sink; allowed: "
                + (", ".join(sorted(allowed)) or "(no options)")
            )
        if self.url is not None and self.url.startswith("http://"):
            host = urlsplit(self.url).hostname or ""
            if host not in ("localhost", "127.0.0.1", "::1"):
                raise ValueError(
                    "findings are not sent in clear text: use https:// (http:// only to a "
                    "relay on 127.0.0.1)"
                )
        if self.type == "email" and self.username and not self.starttls:
            raise ValueError("a password is never sent without STARTTLS; set starttls: true")
        if self.type == "email" and (self.username is None) != (self.password is None):
            raise ValueError("give both username: and password: (or neither)")
        return self


class AccessConfig(Strict):
    """The access policy every sign-in is judged against (default: the SCuBA-based one)."""

    policy: Path | None = None


class MetricsConfig(Strict):
    """The Prometheus endpoint (``/metrics`` with a bearer token; ``/healthz`` open)."""

    listen: Annotated[str, Field(pattern=r"^[^:\s]+:\d{1,5}$")] = "127.0.0.1:9464"
    token: SecretConfig

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


class ClockConfig(Strict):
    """A simulated clock, to follow an emulator that runs faster than real time."""

    sim_start: datetime
    real_start: float
    speed: Annotated[float, Field(gt=0)] = 1.0


class PipelineConfig(Strict):
    """A whole pipeline file."""

    data_dir: Path = Path("tenantwatch-data")
    tenants: tuple[TenantConfig, ...] = ()
    sources: Annotated[tuple[SourceConfig, ...], Field(min_length=1)]
    detections: tuple[DetectionConfig, ...] = (DetectionConfig(id="builtin"),)
    sinks: tuple[SinkConfig, ...] = (
        SinkConfig(id="findings", type="jsonl", path=Path("findings.jsonl")),
    )
    clock: ClockConfig | None = None
    metrics: MetricsConfig | None = None
    access: AccessConfig = AccessConfig()

    @model_validator(mode="after")
    def _references(self) -> PipelineConfig:
        for kind, items in (
            ("tenant", self.tenants),
            ("source", self.sources),
            ("sink", self.sinks),
        ):
            ids = [i.id for i in items]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{kind} ids must be unique; repeated: {', '.join(dupes)}")
        # sources naming undefined tenants are reported by the loader, with their line
        return self
