"""Shared types: the event schema, batches, checkpoints, findings, clocks."""

from tenantwatch.model.batch import Checkpoint as Checkpoint
from tenantwatch.model.batch import EventBatch as EventBatch
from tenantwatch.model.batch import QuarantinedRecord as QuarantinedRecord
from tenantwatch.model.batch import RawBatch as RawBatch
from tenantwatch.model.batch import RecordShape as RecordShape
from tenantwatch.model.clock import Clock as Clock
from tenantwatch.model.clock import ScaledClock as ScaledClock
from tenantwatch.model.clock import SystemClock as SystemClock
from tenantwatch.model.finding import Finding as Finding
from tenantwatch.model.schema import EVENT_SCHEMA as EVENT_SCHEMA
from tenantwatch.model.schema import OCSF_VERSION as OCSF_VERSION

__all__ = [
    "EVENT_SCHEMA",
    "OCSF_VERSION",
    "Checkpoint",
    "Clock",
    "EventBatch",
    "Finding",
    "QuarantinedRecord",
    "RawBatch",
    "RecordShape",
    "ScaledClock",
    "SystemClock",
]
