"""Findings posted to a Slack incoming webhook (or a Mattermost / Teams-workflow one).

Each message is ``{"text": <one-line summary>, "blocks": [...]}``: per finding a header
(severity and rule title), a section (entity, when, how many events, ATT&CK, observables) and a
context line (tenant, rule id, finding id). Receivers that ignore blocks show ``text``.

Entity and observable values come from the audited tenant, so an attacker chooses them (UPNs,
app names, user agents): ``&``, ``<`` and ``>`` are escaped as Slack requires, so ``<!here>`` or
``<https://evil|Reset password>`` arrive as text; values are shown as inline code, on one line;
link unfurling is off. The webhook URL is a secret: errors and log lines name only its host.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from tenantwatch.model.finding import SEVERITY_IDS, Finding
from tenantwatch.sinks.webhook import JsonPoster

__all__ = ["SlackSink", "slack_message"]

MAX_BLOCKS = 50  # per message, Slack's limit
BLOCKS_PER_FINDING = 3
FINDINGS_PER_MESSAGE = MAX_BLOCKS // BLOCKS_PER_FINDING
MAX_SECTION_CHARS = 3000  # Slack's limit for a section's text
MAX_HEADER_CHARS = 150  # Slack's limit for a header's text
MAX_LINE_CHARS = 600  # one line of a section
MAX_VALUE_CHARS = 200  # one entity or observable value
MAX_VALUES = 5  # observable values shown per observable
MAX_OBSERVABLES = 6  # observables shown per finding
STATUS_HINTS = {
    400: "Slack rejected the message (invalid_payload); report it as a tenantwatch bug",
    403: "the webhook is revoked or not allowed; create a new incoming webhook and update "
    "the webhook_url secret",
    404: "no such webhook; check the webhook_url secret (the app or workspace may be gone)",
    410: "the channel is archived; unarchive it or create a webhook for another channel",
}

# Control and bidirectional-override characters would let a value fake lines or reverse text.
_INVISIBLE = (
    {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]}
    | {c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}
    | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
)
_TRUNCATED = "(cut short: the full finding is in the store)"


def slack_message(findings: list[Finding]) -> dict[str, Any]:
    """The Slack payload for up to :data:`FINDINGS_PER_MESSAGE` findings."""
    blocks: list[dict[str, Any]] = []
    for finding in findings:
        blocks.extend(_finding_blocks(finding))
    return {
        "text": _summary(findings),
        "blocks": blocks[:MAX_BLOCKS],
        "unfurl_links": False,
        "unfurl_media": False,
    }


class SlackSink:
    """Posts findings to a Slack-compatible incoming webhook, 16 findings per message."""

    def __init__(
        self,
        webhook_url: str,
        *,
        sink_id: str = "slack",
        timeout_secs: float = 10,
        ca_file: Path | str | None = None,
    ) -> None:
        self.id = sink_id
        self._poster = JsonPoster(
            webhook_url,
            sink_id=sink_id,
            timeout_secs=timeout_secs,
            ca_file=ca_file,
            hints=STATUS_HINTS,
        )

    @property
    def endpoint(self) -> str:
        """``host:port`` of the webhook; its path is the secret and is never shown."""
        return self._poster.endpoint

    def deliver(self, findings: list[Finding]) -> None:
        # Several messages when there are many findings; a failure part-way makes the
        # dispatcher send them all again (at least once: earlier messages may repeat).
        headers = {"Content-Type": "application/json"}
        for start in range(0, len(findings), FINDINGS_PER_MESSAGE):
            chunk = findings[start : start + FINDINGS_PER_MESSAGE]
            self._poster.post(orjson.dumps(slack_message(chunk)), headers)

    def close(self) -> None:
        self._poster.close()

    def __repr__(self) -> str:
        return f"SlackSink(id={self.id!r}, endpoint={self.endpoint!r})"


def escape(text: str) -> str:
    """``text`` safe inside Slack mrkdwn: ``&``, ``<``, ``>`` as entities, on one line."""
    text = text.translate(_INVISIBLE)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _finding_blocks(finding: Finding) -> list[dict[str, Any]]:
    title = escape(f"{finding.severity.upper()} · {finding.rule_title}")
    context = (
        f"tenant {_code(finding.tenant)} · rule {_code(finding.rule_id)} · "
        f"finding {_code(finding.uid)}"
    )
    return [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut_escaped(title, MAX_HEADER_CHARS)},
        },
        {"type": "section", "text": _mrkdwn(_cut_escaped(_facts(finding), MAX_SECTION_CHARS))},
        {"type": "context", "elements": [_mrkdwn(_cut_escaped(context, MAX_SECTION_CHARS))]},
    ]


def _facts(finding: Finding) -> str:
    """The section text, already escaped."""
    lines = [f"*{escape(key)}:* {_code(value)}" for key, value in finding.entity.items()]
    first, last = _utc(finding.first_seen), _utc(finding.last_seen)
    lines.append(f"*Seen:* {first:%Y-%m-%d %H:%M:%S} → {last:%Y-%m-%d %H:%M:%S} UTC")
    lines.append(f"*Events:* {finding.count}")
    if finding.techniques:
        lines.append(f"*ATT&amp;CK:* {escape(', '.join(finding.techniques))}")
    for key, values in list(finding.observables.items())[:MAX_OBSERVABLES]:
        shown = ", ".join(_code(v) for v in values[:MAX_VALUES])
        more = f" (+{len(values) - MAX_VALUES} more)" if len(values) > MAX_VALUES else ""
        lines.append(f"*{escape(key)}:* {shown}{more}")
    hidden = len(finding.observables) - MAX_OBSERVABLES
    if hidden > 0:
        lines.append(f"(+{hidden} more observables in the store)")
    # Whole lines within Slack's limit, each cut short, so a huge value drops what follows it
    # rather than breaking the message.
    kept: list[str] = []
    size = 0
    for line in (_cut_escaped(line, MAX_LINE_CHARS) for line in lines):
        if size + len(line) + 1 > MAX_SECTION_CHARS - len(_TRUNCATED):
            kept.append(_TRUNCATED)
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def _summary(findings: list[Finding]) -> str:
    """One line for notifications and for receivers that ignore blocks."""
    if not findings:
        return "tenantwatch: no findings"
    top = max(findings, key=lambda f: SEVERITY_IDS.get(f.severity, 0))
    about = f" ({top.entity_key})" if top.entity else ""
    line = f"{top.severity.upper()} {top.rule_title}{about}"
    if len(findings) > 1:
        line = f"{len(findings)} findings, highest {line}"
    return _cut_escaped(escape(f"tenantwatch: {line}"), MAX_SECTION_CHARS)


def _code(value: str) -> str:
    """An attacker-chosen value as inline code: no bold/italic from ``*`` or ``_`` in a UPN."""
    # A backtick would end the code span; U+02CB looks the same and cannot.
    return f"`{escape(_cut(value, MAX_VALUE_CHARS).replace('`', 'ˋ'))}`"


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: no automatic links for URLs, channel names or mentions in the text.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut_escaped(text: str, limit: int) -> str:
    """Cut already-escaped text without leaving half an ``&amp;`` at the end."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    amp = head.rfind("&")
    if amp >= 0 and ";" not in head[amp:]:
        head = head[:amp]
    return head + "…"
