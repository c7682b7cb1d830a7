"""From a pipeline file to a running :class:`~tenantwatch.pipeline.Pipeline`: credentials, HTTP
clients and budgets per tenant, sources, rules, sinks, the store, the clock.

Registries map each ``type:`` of the file to what builds it (STYLE: explicit registry dicts).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tenantwatch.access.policy import load_policy
from tenantwatch.config.model import (
    PipelineConfig,
    SecretConfig,
    SinkConfig,
    SourceConfig,
    TenantConfig,
)
from tenantwatch.detect import DetectionEngine, RuleSet
from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.errors import ConfigError, RuleError
from tenantwatch.model.clock import Clock, ScaledClock, SystemClock
from tenantwatch.monitor.server import MetricsServer
from tenantwatch.pipeline import Pipeline
from tenantwatch.sinks import (
    EmailSink,
    JsonlSink,
    Sink,
    SlackSink,
    SyslogSink,
    TerminalSink,
    WebhookSink,
)
from tenantwatch.sinks.dispatch import RetrySchedule
from tenantwatch.sources.base import Source, SourceMetrics
from tenantwatch.sources.cloud import CLOUDS, CloudEndpoints
from tenantwatch.sources.credential import CertificateCredential, MsalCredential, SecretRef
from tenantwatch.sources.event_hub import EventHubSource
from tenantwatch.sources.file import FileSource
from tenantwatch.sources.graph import GraphDirectoryAuditSource, GraphSignInSource
from tenantwatch.sources.http import ApiClient, RequestBudget, RetryPolicy
from tenantwatch.sources.o365_management import O365ManagementSource
from tenantwatch.store import DuckDBStore

__all__ = ["SINKS", "SOURCES", "Assembly", "assemble", "build_clock", "load_rules"]

log = logging.getLogger("tenantwatch.assemble")


@dataclass
class TenantContext:
    """What every source of one tenant shares: credentials, connections, the Graph budget."""

    config: TenantConfig
    cloud: CloudEndpoints
    credential: MsalCredential
    http: httpx.Client
    graph_budget: RequestBudget

    def close(self) -> None:
        self.http.close()
        self.credential.close()


@dataclass
class Assembly:
    """A pipeline and the resources to release after it stopped."""

    pipeline: Pipeline
    store: DuckDBStore
    tenants: list[TenantContext] = field(default_factory=list)
    metrics: MetricsServer | None = None

    def close(self) -> None:
        for source in self.pipeline.sources:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        if self.metrics is not None:
            self.metrics.close()
        self.store.close()
        for tenant in self.tenants:
            tenant.close()


def build_clock(config: PipelineConfig) -> Clock:
    if config.clock is None:
        return SystemClock()
    c = config.clock
    return ScaledClock(c.sim_start, speed=c.speed, real_start=c.real_start)


def _tenant(config: TenantConfig) -> TenantContext:
    if config.cloud == "emulator":
        assert config.endpoint is not None
        cloud = CLOUDS["commercial"].with_base(config.endpoint)
    else:
        cloud = CLOUDS[config.cloud]
    secret = certificate = None
    if config.client_secret is not None:
        secret = SecretRef(env=config.client_secret.env, file=config.client_secret.file)
    if config.certificate is not None:
        certificate = CertificateCredential(
            SecretRef(file=config.certificate.key_file), config.certificate.thumbprint
        )
    credential = MsalCredential(
        tenant_id=config.tenant_id,
        client_id=config.client_id,
        cloud=cloud,
        secret=secret,
        certificate=certificate,
        ca_file=config.ca_file,
    )
    verify: ssl.SSLContext | bool = True
    if config.ca_file is not None:
        verify = ssl.create_default_context(cafile=str(config.ca_file))
    http = httpx.Client(verify=verify, trust_env=config.ca_file is None, timeout=60.0)
    return TenantContext(config, cloud, credential, http, RequestBudget(5, 10.0))


SourceBuilder = Callable[[SourceConfig, TenantContext | None, Clock, threading.Event], Source]


def _api(
    ctx: TenantContext,
    resource: str,
    stop: threading.Event,
    c: SourceConfig,
    budget: RequestBudget | None,
) -> ApiClient:
    return ApiClient(
        credential=ctx.credential,
        resource=resource,
        http=ctx.http,
        metrics=SourceMetrics(),
        retry=RetryPolicy(max_attempts=c.max_attempts, initial_backoff_secs=c.retry_backoff_secs),
        budget=budget,
        stop=stop,
        stream=c.id,
    )


def _graph_options(
    c: SourceConfig, ctx: TenantContext, clock: Clock, stop: threading.Event
) -> dict[str, Any]:
    """What every Graph audit-log source takes from its config and tenant."""
    return {
        "source_id": c.id,
        "tenant": ctx.config.tenant_id,
        "api": _api(ctx, ctx.cloud.graph_resource, stop, c, ctx.graph_budget),
        "graph_url": ctx.cloud.graph,
        "clock": clock,
        "version": c.version,
        "delay": timedelta(seconds=c.delay_secs),
        "read_to_now": c.read_to_now,
        "lateness": timedelta(seconds=c.lateness_secs),
        "sweep_interval": timedelta(seconds=c.sweep_interval_secs),
        "initial_lookback": timedelta(seconds=c.initial_lookback_secs),
        "poll_interval_secs": c.poll_interval_secs,
    }


def _graph_signins(
    c: SourceConfig, ctx: TenantContext | None, clock: Clock, stop: threading.Event
) -> Source:
    assert ctx is not None
    return GraphSignInSource(
        event_types=tuple(c.event_types or ("interactiveUser",)),
        **_graph_options(c, ctx, clock, stop),
    )


def _graph_directory_audits(
    c: SourceConfig, ctx: TenantContext | None, clock: Clock, stop: threading.Event
) -> Source:
    assert ctx is not None
    return GraphDirectoryAuditSource(**_graph_options(c, ctx, clock, stop))


def _o365_management(
    c: SourceConfig, ctx: TenantContext | None, clock: Clock, stop: threading.Event
) -> Source:
    assert ctx is not None
    return O365ManagementSource(
        source_id=c.id,
        tenant=ctx.config.tenant_id,
        api=_api(ctx, ctx.cloud.manage_resource, stop, c, None),
        manage_url=ctx.cloud.manage,
        clock=clock,
        publisher_id=ctx.config.publisher_id or ctx.config.tenant_id,
        content_types=tuple(c.content_types),
        overlap=timedelta(seconds=c.overlap_secs),
        initial_lookback=timedelta(seconds=c.initial_lookback_secs),
        max_concurrent_blobs=c.max_concurrent_blobs,
        poll_interval_secs=c.poll_interval_secs,
    )


def _event_hub(
    c: SourceConfig, ctx: TenantContext | None, clock: Clock, stop: threading.Event
) -> Source:
    assert ctx is not None
    assert c.connection_string is not None
    return EventHubSource(
        source_id=c.id,
        tenant=ctx.config.tenant_id,
        connection_string=SecretRef(
            env=c.connection_string.env, file=c.connection_string.file
        ).read(),
        clock=clock,
        event_hub=c.event_hub,
        consumer_group=c.consumer_group,
        endpoint=c.endpoint,
        ca_file=c.ca_file or (ctx.config.ca_file if ctx.config.cloud == "emulator" else None),
        initial_lookback=timedelta(seconds=c.initial_lookback_secs),
        max_attempts=c.max_attempts,
        retry_backoff_secs=c.retry_backoff_secs,
    )


def _file(
    c: SourceConfig, ctx: TenantContext | None, clock: Clock, stop: threading.Event
) -> Source:
    assert c.path is not None
    return FileSource(
        source_id=c.id,
        path=c.path,
        clock=clock,
        tenant=ctx.config.tenant_id if ctx else "files",
        fmt=c.format,
        poll_interval_secs=c.poll_interval_secs,
    )


SOURCES: dict[str, SourceBuilder] = {
    "graph_signins": _graph_signins,
    "graph_directory_audits": _graph_directory_audits,
    "o365_management": _o365_management,
    "event_hub": _event_hub,
    "file": _file,
}


def _secret(ref: SecretConfig | None) -> str | None:
    return None if ref is None else SecretRef(env=ref.env, file=ref.file).read()


def _jsonl(c: SinkConfig) -> Sink:
    assert c.path is not None
    return JsonlSink(c.path, sink_id=c.id)


def _terminal(c: SinkConfig) -> Sink:
    return TerminalSink(sink_id=c.id)


def _webhook(c: SinkConfig) -> Sink:
    assert c.url is not None
    return WebhookSink(
        c.url,
        secret=_secret(c.secret),
        sink_id=c.id,
        timeout_secs=c.timeout_secs,
        ca_file=c.ca_file,
        headers=c.headers,
    )


def _slack(c: SinkConfig) -> Sink:
    url = _secret(c.webhook_url)
    assert url is not None
    return SlackSink(url, sink_id=c.id, timeout_secs=c.timeout_secs, ca_file=c.ca_file)


def _syslog(c: SinkConfig) -> Sink:
    assert c.host is not None
    assert c.port is not None
    return SyslogSink(
        c.host,
        c.port,
        protocol=c.protocol,
        format=c.format,
        sink_id=c.id,
        app_name=c.app_name,
        facility=c.facility,
        timeout_secs=c.timeout_secs,
        ca_file=c.ca_file,
        server_name=c.server_name,
    )


def _email(c: SinkConfig) -> Sink:
    assert c.host is not None
    assert c.sender is not None
    return EmailSink(
        c.host,
        c.port or (587 if c.starttls else 25),
        sender=c.sender,
        recipients=list(c.recipients),
        username=c.username,
        password=_secret(c.password),
        starttls=c.starttls,
        sink_id=c.id,
        timeout_secs=c.timeout_secs,
        ca_file=c.ca_file,
    )


SINKS: dict[str, Callable[[SinkConfig], Sink]] = {
    "jsonl": _jsonl,
    "terminal": _terminal,
    "webhook": _webhook,
    "slack": _slack,
    "syslog": _syslog,
    "email": _email,
}


def _schedule(c: SinkConfig) -> RetrySchedule:
    return RetrySchedule(
        max_attempts=c.max_attempts,
        initial_backoff_secs=c.retry_backoff_secs,
        max_backoff_secs=c.max_backoff_secs,
    )


def rule_paths(config: PipelineConfig) -> list[Path]:
    paths: list[Path] = []
    for detection in config.detections:
        for p in detection.paths:
            paths.append(builtin_rules_path() if p == "builtin" else Path(p))
    return paths


def load_rules(config: PipelineConfig) -> RuleSet:
    """The rules of every detection, with their placeholders' values."""
    placeholders: dict[str, tuple[str, ...]] = {}
    for detection in config.detections:
        for name, values in detection.placeholders.items():
            if name in placeholders and placeholders[name] != values:
                raise ConfigError(
                    f"placeholder %{name}% has different values in two detections; "
                    "give it one set of values"
                )
            placeholders[name] = values
    ruleset = RuleSet.from_paths(rule_paths(config), placeholders=placeholders)
    for error in ruleset.errors:
        log.warning("rule not loaded: %s", error)
    return ruleset


def assemble(config: PipelineConfig, *, stop: threading.Event | None = None) -> Assembly:
    """Build the pipeline a configuration describes (nothing runs yet)."""
    stop = stop or threading.Event()
    clock = build_clock(config)
    tenants = {t.id: _tenant(t) for t in config.tenants}
    sources = []
    for c in config.sources:
        ctx = tenants.get(c.tenant) if c.tenant else None
        if c.tenant and ctx is None:
            raise ConfigError(f"source {c.id!r} names tenant {c.tenant!r}, which is not defined")
        sources.append(SOURCES[c.type](c, ctx, clock, stop))
    ruleset = load_rules(config)
    if ruleset.errors and not all(d.skip_unsupported for d in config.detections):
        raise RuleError(
            "; ".join(str(e) for e in ruleset.errors[:5])
            + (f" (and {len(ruleset.errors) - 5} more)" if len(ruleset.errors) > 5 else "")
        )
    store = DuckDBStore(config.data_dir / "tenantwatch.duckdb")
    sinks = [SINKS[s.type](s) for s in config.sinks]
    pipeline = Pipeline(
        sources=sources,
        store=store,
        engine=DetectionEngine(ruleset),
        sinks=sinks,
        clock=clock,
        stop=stop,
        status_path=config.data_dir / "status.json",
        freshness={c.id: timedelta(seconds=c.freshness_threshold_secs) for c in config.sources},
        dead_letter_dir=config.data_dir / "dead-letter",
        retry={c.id: _schedule(c) for c in config.sinks},
        access=load_policy(config.access.policy),
    )
    metrics = None
    if config.metrics is not None:
        token = _secret(config.metrics.token)
        assert token is not None
        try:
            metrics = MetricsServer(
                pipeline.metrics.registry,
                token=token,
                host=config.metrics.host,
                port=config.metrics.port,
            ).start()
        except OSError as exc:
            pipeline.shutdown(0)
            store.close()
            raise ConfigError(
                f"metrics: cannot listen on {config.metrics.listen}: {exc.strerror}",
                fix="choose a free port (metrics: listen: 127.0.0.1:PORT)",
            ) from None
    return Assembly(pipeline, store, list(tenants.values()), metrics)
