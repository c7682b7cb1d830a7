"""Findings printed to a terminal with rich."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from tenantwatch.model.finding import Finding

__all__ = ["TerminalSink", "render_finding"]

SEVERITY_STYLES = {
    "informational": "dim",
    "low": "cyan",
    "medium": "yellow",
    "high": "bold red",
    "critical": "bold white on red",
}


def render_finding(finding: Finding) -> Panel:
    """A panel naming the rule, the entity, when, and what was observed."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in finding.entity.items():
        grid.add_row(key, value)
    grid.add_row(
        "seen", f"{finding.first_seen:%Y-%m-%d %H:%M:%S} → {finding.last_seen:%H:%M:%S} UTC"
    )
    grid.add_row("events", str(finding.count))
    if finding.techniques:
        grid.add_row("ATT&CK", ", ".join(finding.techniques))
    for key, values in finding.observables.items():
        shown = ", ".join(values[:8]) + (f" (+{len(values) - 8})" if len(values) > 8 else "")
        grid.add_row(key, shown)
    style = SEVERITY_STYLES.get(finding.severity, "")
    return Panel(
        grid,
        title=f"[{style}]{finding.severity.upper()}[/] {finding.rule_title}",
        title_align="left",
        border_style=style or "white",
    )


class TerminalSink:
    """Prints each new finding as a panel on ``console``."""

    def __init__(self, console: Console | None = None, *, sink_id: str = "terminal") -> None:
        self.id = sink_id
        self.console = console or Console(stderr=True)

    def deliver(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.console.print(render_finding(finding))

    def close(self) -> None:
        return None
