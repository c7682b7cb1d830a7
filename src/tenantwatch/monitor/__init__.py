"""Watching the pipeline and the feed: latency accounting, Prometheus metrics, freshness."""

from tenantwatch.monitor.freshness import FreshnessMonitor as FreshnessMonitor
from tenantwatch.monitor.metrics import PipelineMetrics as PipelineMetrics
from tenantwatch.monitor.server import MetricsServer as MetricsServer

__all__ = ["FreshnessMonitor", "MetricsServer", "PipelineMetrics"]
