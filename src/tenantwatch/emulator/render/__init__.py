"""Simulated activity written in Microsoft's record shapes, from Microsoft's documentation.

This package knows nothing of tenantwatch's normalizers: it writes what Microsoft writes, quirks
included, so collector and normalizer tests prove the contract rather than agreement with
ourselves.
"""

from tenantwatch.emulator.render.azure_monitor import azure_monitor_record as azure_monitor_record
from tenantwatch.emulator.render.graph import graph_directory_audit as graph_directory_audit
from tenantwatch.emulator.render.graph import graph_signin as graph_signin
from tenantwatch.emulator.render.graph import graph_time as graph_time
from tenantwatch.emulator.render.ual import content_type_of as content_type_of
from tenantwatch.emulator.render.ual import ual_record as ual_record

__all__ = [
    "azure_monitor_record",
    "content_type_of",
    "graph_directory_audit",
    "graph_signin",
    "graph_time",
    "ual_record",
]
