"""Which API streams serve an activity, and under which record id.

Streams are named ``graph/signIns/<eventType>``, ``graph/directoryAudits`` and
``o365/<contentType>``. One activity can be served by several streams under different ids: an
interactive sign-in is a Graph ``signIn`` (its ``id``) and an Activity API ``UserLoggedIn``
record (another ``Id``).
"""

from __future__ import annotations

from tenantwatch.emulator.activities import Activity, DirectoryAudit, SignIn
from tenantwatch.emulator.render.ual import content_type_of

__all__ = ["GRAPH_DIRECTORY_AUDITS", "graph_stream_of", "served_as"]

GRAPH_DIRECTORY_AUDITS = "graph/directoryAudits"


def graph_stream_of(activity: Activity) -> str | None:
    if isinstance(activity, SignIn):
        return f"graph/signIns/{activity.event_type}"
    if isinstance(activity, DirectoryAudit):
        return GRAPH_DIRECTORY_AUDITS
    return None


def served_as(activity: Activity) -> list[tuple[str, str]]:
    """Every (stream, record id) under which ``activity`` is served."""
    out: list[tuple[str, str]] = []
    graph = graph_stream_of(activity)
    if graph is not None:
        graph_id = activity.graph_id if isinstance(activity, DirectoryAudit) else activity.id
        out.append((graph, graph_id))
    content_type = content_type_of(activity)
    if content_type is not None:
        ual_id = activity.ual_id if isinstance(activity, SignIn) else activity.id
        out.append((f"o365/{content_type}", ual_id))
    return out
