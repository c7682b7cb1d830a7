"""Endpoints of Microsoft's clouds, in one table.

A tenant lives in one cloud; its collectors must use that cloud's login, Graph and Management
Activity API hosts (learn.microsoft.com/office/office-365-management-api, section "Activity API
operations"; learn.microsoft.com/graph/deployments). ``emulator`` is tenantwatch's own, with
URLs taken from the running emulator.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLOUDS", "CloudEndpoints"]


@dataclass(frozen=True)
class CloudEndpoints:
    """Base URLs of one cloud. ``*_resource`` are the token audiences, which stay the
    public identifiers even when the host differs (as for the emulator)."""

    name: str
    login: str
    graph: str
    manage: str
    graph_resource: str
    manage_resource: str
    is_microsoft: bool = True

    def with_base(self, base_url: str) -> CloudEndpoints:
        """These resources served from ``base_url`` (the emulator's layout)."""
        base = base_url.rstrip("/")
        return CloudEndpoints(
            name=self.name,
            login=base,
            graph=f"{base}/graph",
            manage=f"{base}/manage",
            graph_resource=self.graph_resource,
            manage_resource=self.manage_resource,
            is_microsoft=False,
        )


CLOUDS: dict[str, CloudEndpoints] = {
    "commercial": CloudEndpoints(
        "commercial",
        "https://login.microsoftonline.com",
        "https://graph.microsoft.com",
        "https://manage.office.com",
        "https://graph.microsoft.com",
        "https://manage.office.com",
    ),
    "gcc": CloudEndpoints(
        "gcc",
        "https://login.microsoftonline.com",
        "https://graph.microsoft.com",
        "https://manage-gcc.office.com",
        "https://graph.microsoft.com",
        "https://manage-gcc.office.com",
    ),
    "gcc_high": CloudEndpoints(
        "gcc_high",
        "https://login.microsoftonline.us",
        "https://graph.microsoft.us",
        "https://manage.office365.us",
        "https://graph.microsoft.us",
        "https://manage.office365.us",
    ),
    "dod": CloudEndpoints(
        "dod",
        "https://login.microsoftonline.us",
        "https://dod-graph.microsoft.us",
        "https://manage.protection.apps.mil",
        "https://dod-graph.microsoft.us",
        "https://manage.protection.apps.mil",
    ),
}
