"""The pipeline file: every mistake reported with its file, line and fix; secrets never inline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantwatch.config import ConfigErrors, load_config
from tenantwatch.config.loader import validate_text
from tenantwatch.config.starter import STARTER

HEAD = """\
data_dir: data
sources:
  - id: exports
    type: file
    path: exports
"""


def errors_of(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ConfigErrors) as caught:
        validate_text(text, "tenantwatch.yml")
    return [(e.line, str(e)) for e in caught.value.errors]


def test_the_starter_file_is_valid() -> None:
    config = validate_text(STARTER, "starter.yml")
    assert config.sources


def test_every_sink_type_validates(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
sinks:
  - {id: file, type: jsonl, path: findings.jsonl}
  - {id: screen, type: terminal}
  - id: hook
    type: webhook
    url: https://siem.example.com/tenantwatch
    secret: {env: TW_HOOK_SECRET}
    max_attempts: 8
  - {id: chat, type: slack, webhook_url: {file: slack.url}}
  - {id: siem, type: syslog, host: siem.example.com, port: 6514, protocol: tls, format: cef}
  - id: mail
    type: email
    host: smtp.example.com
    sender: tenantwatch@example.com
    recipients: [soc@example.com]
    username: tenantwatch
    password: {file: smtp.password}
    ca_file: ca.pem
metrics:
  listen: 127.0.0.1:9464
  token: {file: metrics.token}
"""
    )
    path = tmp_path / "tenantwatch.yml"
    path.write_text(text)
    config = load_config(path)
    by_id = {s.id: s for s in config.sinks}
    assert by_id["file"].path == tmp_path / "data" / "findings.jsonl"  # under data_dir
    assert by_id["chat"].webhook_url is not None
    assert by_id["chat"].webhook_url.file == tmp_path / "slack.url"  # beside the file
    assert by_id["mail"].ca_file == tmp_path / "ca.pem"
    assert by_id["mail"].port is None  # 587 with STARTTLS, chosen when built
    assert config.metrics is not None
    assert config.metrics.token.file == tmp_path / "metrics.token"
    assert (config.metrics.host, config.metrics.port) == ("127.0.0.1", 9464)


@pytest.mark.parametrize(
    ("sink", "line", "says"),
    [
        ("  - {id: hook, type: webhook}\n", 7, "a webhook sink needs url:"),
        ("  - {id: hook, type: webhook, url: ftp://x}\n", 7, "url"),
        (
            "  - {id: hook, type: webhook, url: 'https://x', secret: hunter2}\n",
            7,
            "inline secrets are not allowed",
        ),
        (
            "  - {id: chat, type: slack, webhook_url: 'https://hooks.slack.com/services/T/B/X'}\n",
            7,
            "inline secrets are not allowed",
        ),
        ("  - {id: siem, type: syslog, host: h, port: 514, path: x}\n", 7, "path not used by"),
        ("  - {id: siem, type: syslog, host: h, port: 70000}\n", 7, "port"),
        ("  - {id: siem, type: syslog, host: h, port: 514, protocol: quic}\n", 7, "protocol"),
        (
            "  - {id: m, type: email, host: h, sender: a@b.c, recipients: [x@y.z], "
            "username: u, password: {env: P}, starttls: false}\n",
            7,
            "never sent without STARTTLS",
        ),
        (
            "  - {id: m, type: email, host: h, sender: a@b.c, recipients: [nobody]}\n",
            7,
            "recipients",
        ),
    ],
)
def test_a_wrong_sink_names_its_line_and_the_fix(sink: str, line: int, says: str) -> None:
    found = errors_of(HEAD + "sinks:\n" + sink)
    assert any(at == line and says in text for at, text in found), found
    assert all("tenantwatch.yml" in text for _, text in found)
    assert not any("hunter2" in text or "hooks.slack.com" in text for _, text in found)


def test_metrics_need_a_token_from_the_environment_or_a_file() -> None:
    found = errors_of(HEAD + "metrics:\n  listen: 0.0.0.0:9464\n  token: abc\n")
    assert [line for line, _ in found] == [8]
    assert "inline secrets are not allowed" in found[0][1]
    assert "abc" not in found[0][1].split("token")[0]
    missing = errors_of(HEAD + "metrics:\n  listen: 127.0.0.1:9464\n")
    assert missing[0][0] == 7  # the metrics: mapping
    assert "token" in missing[0][1]


def test_a_negative_freshness_threshold_is_refused() -> None:
    found = errors_of(
        HEAD.replace("path: exports", "path: exports\n    freshness_threshold_secs: -1")
    )
    assert [line for line, _ in found] == [6]
    assert "freshness_threshold_secs" in found[0][1]


EVENT_HUB_HEAD = """\
data_dir: data
tenants:
  - id: contoso
    tenant_id: 11111111-2222-4333-8444-555555555555
    client_id: 0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0
    certificate: {key_file: app.key, thumbprint: 0123456789abcdef0123456789abcdef01234567}
sources:
"""


def test_an_event_hub_source_resolves_its_files_beside_the_pipeline_file(tmp_path: Path) -> None:
    path = tmp_path / "tenantwatch.yml"
    path.write_text(
        EVENT_HUB_HEAD
        + "  - {id: entra, type: event_hub, tenant: contoso, event_hub: insights-logs-signinlogs,\n"
        "     connection_string: {file: hub.connection}, ca_file: hub-ca.pem}\n"
    )
    (source,) = load_config(path).sources
    assert source.connection_string is not None
    assert source.connection_string.file == tmp_path / "hub.connection"
    assert source.ca_file == tmp_path / "hub-ca.pem"
    assert source.consumer_group == "$Default"


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("  - {id: entra, type: event_hub, tenant: contoso}\n", "needs connection_string"),
        (
            "  - {id: entra, type: event_hub, tenant: contoso, connection_string: "
            "'Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=l;SharedAccessKey=hunter2'}\n",
            "inline secrets are not allowed",
        ),
        (
            "  - {id: entra, type: graph_signins, tenant: contoso, "
            "connection_string: {env: HUB}}\n",
            "only used by event_hub sources",
        ),
    ],
)
def test_a_wrong_event_hub_source_names_its_line(source: str, says: str) -> None:
    found = errors_of(EVENT_HUB_HEAD + source)
    assert any(at == 8 and says in text for at, text in found), found
    assert not any("hunter2" in text for _, text in found)
