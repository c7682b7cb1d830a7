"""Stage 5: alert outputs."""

from tenantwatch.sinks.base import Sink as Sink
from tenantwatch.sinks.jsonl import JsonlSink as JsonlSink
from tenantwatch.sinks.terminal import TerminalSink as TerminalSink

__all__ = ["JsonlSink", "Sink", "TerminalSink"]
