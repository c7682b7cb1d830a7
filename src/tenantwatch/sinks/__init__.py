"""Stage 5: alert outputs."""

from tenantwatch.sinks.base import Sink as Sink
from tenantwatch.sinks.email import EmailSink as EmailSink
from tenantwatch.sinks.jsonl import JsonlSink as JsonlSink
from tenantwatch.sinks.slack import SlackSink as SlackSink
from tenantwatch.sinks.syslog import SyslogSink as SyslogSink
from tenantwatch.sinks.terminal import TerminalSink as TerminalSink
from tenantwatch.sinks.webhook import WebhookSink as WebhookSink
from tenantwatch.sinks.webhook import verify_signature as verify_signature

__all__ = [
    "EmailSink",
    "JsonlSink",
    "Sink",
    "SlackSink",
    "SyslogSink",
    "TerminalSink",
    "WebhookSink",
    "verify_signature",
]
