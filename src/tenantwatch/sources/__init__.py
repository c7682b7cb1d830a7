"""Stage 1: collectors of Microsoft's audit APIs (one module per upstream API)."""

from tenantwatch.sources.base import Source as Source
from tenantwatch.sources.base import SourceMetrics as SourceMetrics
from tenantwatch.sources.graph import GraphSignInSource as GraphSignInSource

SOURCES: dict[str, type] = {GraphSignInSource.kind: GraphSignInSource}

__all__ = ["SOURCES", "GraphSignInSource", "Source", "SourceMetrics"]
