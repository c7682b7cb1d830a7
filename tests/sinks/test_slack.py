"""SlackSink: the Block Kit message, escaping of attacker-chosen values, splitting, errors."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from tenantwatch.errors import SinkError
from tenantwatch.sinks import SlackSink
from tenantwatch.sinks.slack import FINDINGS_PER_MESSAGE, MAX_BLOCKS, slack_message
from tests.sinks.helpers import Answer, HttpReceiver, closed_port, make_finding

HOOK_PATH = "/services/T0TEST/B0TEST/hook-token-s3cret"


def _sections(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def test_each_finding_gets_a_header_a_section_and_a_context() -> None:
    finding = make_finding(
        severity="critical",
        techniques=("T1110.003", "T1078"),
        observables={"src_endpoint.ip": [f"203.0.113.{i}" for i in range(8)]},
    )
    message = slack_message([finding])
    header, section, context = message["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "CRITICAL · Password spray against many accounts"},
    }
    text = section["text"]["text"]
    assert "*user.name:* `user0@contoso.com`" in text
    assert "2026-01-12 09:00:00 → 2026-01-12 09:05:00 UTC" in text
    assert "*Events:* 12" in text
    assert "*ATT&amp;CK:* T1110.003, T1078" in text
    assert "`203.0.113.4` (+3 more)" in text
    assert "`203.0.113.5`" not in text
    assert section["text"]["verbatim"] is True
    assert "`f0000`" in context["elements"][0]["text"]
    assert message["unfurl_links"] is False
    assert message["text"] == (
        "tenantwatch: CRITICAL Password spray against many accounts (user.name=user0@contoso.com)"
    )


def test_summary_names_the_count_and_the_worst_finding() -> None:
    findings = [make_finding(0, severity="low"), make_finding(1, severity="high")]
    assert slack_message(findings)["text"].startswith(
        "tenantwatch: 2 findings, highest HIGH Password spray against many accounts (user.name=user1"
    )


@pytest.mark.parametrize(
    "value",
    [
        "<!here> reset your password at <https://evil.example|sso.contoso.com>",
        "<@U024BE7LH> & <!channel>",
        "a@b.com\n*Events:* 0",
    ],
)
def test_attacker_chosen_values_cannot_mention_link_or_add_lines(value: str) -> None:
    message = slack_message([make_finding(entity={"user.name": value})])
    payload = orjson.dumps(message).decode()
    for raw in ("<!here>", "<!channel>", "<@U024BE7LH>", "<https://"):
        assert raw not in payload
    (text,) = _sections(message)
    entity_line = text.splitlines()[0]
    assert entity_line.startswith("*user.name:* `")
    assert sum(line.startswith("*Events:*") for line in text.splitlines()) == 1
    if "here" in value:
        assert "&lt;!here&gt;" in entity_line
        assert "&lt;https://evil.example|sso.contoso.com&gt;" in entity_line
    if "&" in value:
        assert "&amp; &lt;!channel&gt;" in entity_line


def test_long_lists_are_shortened() -> None:
    many = {f"field{i}.ip": [f"198.51.100.{j}" for j in range(50)] for i in range(20)}
    (text,) = _sections(slack_message([make_finding(observables=many)]))
    assert "`198.51.100.4` (+45 more)" in text
    assert "(+14 more observables in the store)" in text


def test_huge_values_stay_within_slack_limits() -> None:
    huge = {f"field{i}": ["<" * 500 + str(j) for j in range(50)] for i in range(20)}
    finding = make_finding(
        rule_title="R&D " * 100, entity={"app.name": "&" * 5000}, observables=huge
    )
    message = slack_message([finding])
    (text,) = _sections(message)
    assert len(text) <= 3000
    assert "\n*Events:* 12\n" in text
    assert text.endswith("(cut short: the full finding is in the store)")
    assert len(message["blocks"][0]["text"]["text"]) <= 150


def test_many_findings_are_split_into_messages_of_at_most_50_blocks(http: HttpReceiver) -> None:
    findings = [make_finding(n) for n in range(40)]
    sink = SlackSink(http.url(HOOK_PATH))
    sink.deliver(findings)
    sink.close()
    messages = [orjson.loads(r.body) for r in http.requests]
    assert len(messages) == 3  # 16 + 16 + 8 findings
    assert all(len(m["blocks"]) <= MAX_BLOCKS for m in messages)
    headers = [b for m in messages for b in m["blocks"] if b["type"] == "header"]
    assert len(headers) == len(findings)
    contexts = [
        b["elements"][0]["text"] for m in messages for b in m["blocks"] if b["type"] == "context"
    ]
    assert [c.rsplit("`", 2)[-2] for c in contexts] == [f.uid for f in findings]
    assert FINDINGS_PER_MESSAGE == 16
    assert all(r.path == HOOK_PATH for r in http.requests)


def test_a_revoked_webhook_is_not_retryable_and_hides_the_path(http: HttpReceiver) -> None:
    http.answers.append(Answer(404, body=b"no_service"))
    sink = SlackSink(http.url(HOOK_PATH))
    with pytest.raises(SinkError) as caught:
        sink.deliver([make_finding()])
    sink.close()
    error = caught.value
    assert not error.retryable
    assert "HTTP 404 (no_service)" in str(error)
    assert "webhook_url" in str(error)
    assert "hook-token-s3cret" not in str(error)
    assert "T0TEST" not in str(error)


def test_rate_limit_is_retryable_with_retry_after(http: HttpReceiver) -> None:
    http.answers.append(Answer(429, {"Retry-After": "30"}, b"rate_limited"))
    sink = SlackSink(http.url(HOOK_PATH))
    with pytest.raises(SinkError) as caught:
        sink.deliver([make_finding()])
    sink.close()
    assert caught.value.retryable
    assert caught.value.retry_after == 30.0


def test_closed_port_error_names_host_and_port_not_the_path() -> None:
    holder, port = closed_port()
    try:
        sink = SlackSink(f"http://127.0.0.1:{port}{HOOK_PATH}")
        with pytest.raises(SinkError) as caught:
            sink.deliver([make_finding()])
        sink.close()
    finally:
        holder.close()
    assert caught.value.retryable
    assert f"127.0.0.1:{port}" in str(caught.value)
    for part in ("hook-token-s3cret", "/services", "T0TEST"):
        assert part not in str(caught.value)
        assert part not in repr(sink)


def test_httpx_log_lines_do_not_show_the_webhook_path(
    http: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    sink = SlackSink(http.url(HOOK_PATH))
    with caplog.at_level(logging.DEBUG):
        sink.deliver([make_finding()])
    sink.close()
    assert f"127.0.0.1:{http.port}" in caplog.text
    assert "hook-token-s3cret" not in caplog.text
