"""Exported audit files: NDJSON, JSON, Event Hub / storage ``{"records": [...]}``, and CSV
exports (Purview audit search with its ``AuditData`` column; Log Analytics ``SigninLogs`` /
``AuditLogs``), each record recognised as one of Microsoft's shapes.

Everything here is offline and per record: a line that is not JSON, a record of no known shape,
becomes a :class:`FileRecord` with a ``problem`` so it can be quarantined with its reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tenantwatch.errors import ConfigError
from tenantwatch.model.batch import RecordShape

__all__ = ["FORMATS", "FileRecord", "detect_shape", "read_records_from"]

FORMATS = ("auto", "ndjson", "json", "csv")


@dataclass(frozen=True)
class FileRecord:
    """One record from a file: its shape, its JSON bytes, where it was, or what is wrong."""

    shape: str
    raw: bytes
    where: str
    problem: str = ""


def detect_shape(record: Any) -> str | None:
    """Which of Microsoft's shapes a parsed record has, or None."""
    if not isinstance(record, dict):
        return None
    if "RecordType" in record and "CreationTime" in record:
        return RecordShape.O365_MANAGEMENT
    if "category" in record and isinstance(record.get("properties"), dict):
        return RecordShape.AZURE_MONITOR
    if "activityDateTime" in record and "activityDisplayName" in record:
        return RecordShape.GRAPH_DIRECTORY_AUDIT
    if "createdDateTime" in record and ("userPrincipalName" in record or "appId" in record):
        return RecordShape.GRAPH_SIGNIN
    return None


def _record(value: Any, where: str) -> FileRecord:
    raw = orjson.dumps(value)
    shape = detect_shape(value)
    if shape is None:
        return FileRecord("unknown", raw, where, "not a record of a known Microsoft 365 shape")
    return FileRecord(shape, raw, where)


def _from_json(value: Any, where: str) -> Iterator[FileRecord]:
    if isinstance(value, dict) and isinstance(value.get("records"), list):
        items: list[Any] = value["records"]  # Event Hub / storage export of diagnostic logs
    elif isinstance(value, dict) and isinstance(value.get("value"), list):
        items = value["value"]  # a saved Graph response page
    elif isinstance(value, list):
        items = value
    else:
        items = [value]
    for i, item in enumerate(items):
        yield _record(item, f"{where}[{i}]")


# Log Analytics SigninLogs / AuditLogs columns that differ from Graph's property names
_LA_SIGNIN = {
    "IPAddress": "ipAddress",
    "LocationDetails": "location",
    "Id": "id",
    "ResourceIdentity": "resourceId",
}
_LA_DYNAMIC = {
    "DeviceDetail",
    "LocationDetails",
    "Status",
    "AuthenticationDetails",
    "ConditionalAccessPolicies",
    "InitiatedBy",
    "TargetResources",
    "AdditionalDetails",
}


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def log_analytics_row(row: dict[str, str]) -> dict[str, Any] | None:
    """A Log Analytics export row of ``SigninLogs`` (and the other sign-in tables) or
    ``AuditLogs`` as an Azure Monitor diagnostic record, or None if it is neither."""
    clean = {k.split(" [")[0]: v for k, v in row.items() if k}  # "TimeGenerated [UTC]"
    category = clean.get("Category") or clean.get("Type")
    if not category:
        return None
    properties: dict[str, Any] = {}
    for key, value in clean.items():
        if value in ("", None):
            continue
        parsed: Any = value
        if key in _LA_DYNAMIC or (value[:1] in "[{" and value[-1:] in "]}"):
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError:
                parsed = value
        properties[_LA_SIGNIN.get(key, _camel(key))] = parsed
    if "resultType" in properties and "status" not in properties:
        properties["status"] = {
            "errorCode": int(properties["resultType"])
            if str(properties["resultType"]).isdigit()
            else None,
            "failureReason": properties.get("resultDescription"),
        }
    if "isInteractive" in properties:
        properties["isInteractive"] = str(properties["isInteractive"]).lower() == "true"
    if (
        "autonomousSystemNumber" in properties
        and str(properties["autonomousSystemNumber"]).isdigit()
    ):
        properties["autonomousSystemNumber"] = int(properties["autonomousSystemNumber"])
    properties.setdefault("createdDateTime", clean.get("TimeGenerated"))
    if category == "AuditLogs":
        properties.setdefault(
            "activityDateTime", clean.get("ActivityDateTime") or clean.get("TimeGenerated")
        )
    return {"time": clean.get("TimeGenerated"), "category": category, "properties": properties}


def _from_csv(text: str, where: str) -> Iterator[FileRecord]:
    reader = csv.DictReader(io.StringIO(text))
    for line, row in enumerate(reader, start=2):
        here = f"{where}:{line}"
        if "AuditData" in row:  # Purview audit search export
            try:
                yield _record(orjson.loads(row["AuditData"]), here)
            except orjson.JSONDecodeError:
                yield FileRecord(
                    "unknown", row["AuditData"].encode(), here, "AuditData is not JSON"
                )
            continue
        record = log_analytics_row(row)
        if record is None:
            yield FileRecord(
                "unknown",
                orjson.dumps(row),
                here,
                "CSV row is neither a Purview audit export nor a Log Analytics export",
            )
        else:
            yield _record(record, here)


def read_records_from(path: Path, fmt: str = "auto") -> Iterator[FileRecord]:
    """Every record of an exported file."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", path=str(path)) from None
    where = str(path)
    if fmt == "auto":
        suffix = path.suffix.lower()
        stripped = data.lstrip()
        if suffix == ".csv":
            fmt = "csv"
        elif stripped[:1] == b"[" or (suffix == ".json" and stripped[:1] == b"{"):
            fmt = "json"
        else:
            fmt = "ndjson"
    if fmt == "csv":
        yield from _from_csv(data.decode("utf-8-sig", "replace"), where)
        return
    if fmt == "json":
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            yield FileRecord("unknown", data[:100_000], where, f"not valid JSON: {exc}")
            return
        yield from _from_json(value, where)
        return
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield FileRecord("unknown", line, f"{where}:{number}", "line is not valid JSON")
            continue
        if isinstance(value, dict) and isinstance(value.get("records"), list):
            yield from _from_json(value, f"{where}:{number}")
        else:
            yield _record(value, f"{where}:{number}")
