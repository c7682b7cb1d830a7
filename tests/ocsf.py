"""An OCSF 1.3.0 validator for the test suite, built on the schema shipped by pydantic-ocsf.

It checks what the OCSF specification says an event of a class may contain: every attribute
is defined for the class (or the object), values have the attribute's type (IP addresses,
e-mail addresses, timestamps, enums...), arrays are arrays, required attributes are present.
"""

from __future__ import annotations

import importlib.resources
import ipaddress
import json
from functools import cache
from typing import Any

# Attributes that reach classes through includes and profiles the schema file names but does
# not inline (includes/classification.json, includes/occurrence.json; the cloud and host
# profiles).
INCLUDES = {
    "activity_id": "integer_t",
    "activity_name": "string_t",
    "category_name": "string_t",
    "category_uid": "integer_t",
    "class_name": "string_t",
    "class_uid": "integer_t",
    "type_name": "string_t",
    "type_uid": "long_t",
    "time": "timestamp_t",
    "count": "integer_t",
    "duration": "long_t",
    "end_time": "timestamp_t",
    "start_time": "timestamp_t",
    "timezone_offset": "integer_t",
    "api": "api",
    "cloud": "cloud",
}
HOST_PROFILE = {"device": "device", "actor": "actor"}
CLASSES = {
    3001: "account_change",
    3002: "authentication",
    3004: "entity_management",
    3005: "user_access",
    3006: "group_management",
    4009: "email_activity",
    6003: "api_activity",
    6006: "file_hosting",
    2004: "detection_finding",
}


@cache
def schema() -> dict[str, Any]:
    text = (importlib.resources.files("ocsf") / "schemas" / "v1_3_0.json").read_text()
    return json.loads(text)


def _dictionary() -> dict[str, Any]:
    return schema()["dictionary"]["attributes"]


@cache
def class_attributes(name: str) -> dict[str, dict[str, Any]]:
    events = schema()["events"]
    event = events[name]
    attrs: dict[str, dict[str, Any]] = {}
    if event.get("extends") in events:
        attrs.update(class_attributes(event["extends"]))
    for key, spec in event.get("attributes", {}).items():
        if key == "$include":
            for include in spec:
                if "host" in include:
                    attrs.update({k: {"type": v} for k, v in HOST_PROFILE.items()})
            continue
        attrs[key] = {**attrs.get(key, {}), **(spec or {})}
    if name == "base_event":
        attrs.update({k: {"type": v} for k, v in INCLUDES.items()})
    return attrs


@cache
def object_attributes(name: str) -> dict[str, dict[str, Any]]:
    objects = schema()["objects"]
    obj = objects[name]
    attrs: dict[str, dict[str, Any]] = {}
    if obj.get("extends") in objects:
        attrs.update(object_attributes(obj["extends"]))
    for key, spec in obj.get("attributes", {}).items():
        if key != "$include":
            attrs[key] = {**attrs.get(key, {}), **(spec or {})}
    return attrs


def _spec(attr: str, local: dict[str, Any]) -> dict[str, Any]:
    return {**_dictionary().get(attr, {}), **local}


def _check_scalar(path: str, value: Any, kind: str) -> list[str]:
    ok = True
    if (
        kind
        in (
            "string_t",
            "username_t",
            "hostname_t",
            "file_name_t",
            "resource_uid_t",
            "url_t",
            "process_name_t",
        )
        or kind == "uuid_t"
    ):
        ok = isinstance(value, str)
    elif kind == "email_t":
        ok = isinstance(value, str) and "@" in value
    elif kind in ("integer_t", "long_t", "timestamp_t"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "port_t":
        ok = isinstance(value, int) and 0 <= value <= 65535
    elif kind == "float_t":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "boolean_t":
        ok = isinstance(value, bool)
    elif kind == "ip_t":
        try:
            ipaddress.ip_address(value)
        except (ValueError, TypeError):
            ok = False
    elif kind == "datetime_t":
        ok = isinstance(value, str)
    return [] if ok else [f"{path}: {value!r} is not {kind}"]


def _check(path: str, value: Any, attrs: dict[str, dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {type(value).__name__}"]
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in attrs:
            problems.append(f"{where}: not an attribute here")
            continue
        spec = _spec(key, attrs[key])
        kind = spec.get("type", "")
        items = item if spec.get("is_array") else [item]
        if spec.get("is_array") and not isinstance(item, list):
            problems.append(f"{where}: expected an array")
            continue
        for element in items:
            if kind == "object" or kind == "json_t":
                continue
            if kind in schema()["objects"]:
                problems += _check(where, element, object_attributes(kind))
            else:
                problems += _check_scalar(where, element, kind)
                enum = spec.get("enum")
                # every OCSF *_id enum also has 0 (Unknown) and 99 (Other)
                if enum and key.endswith("_id") and str(element) not in {*enum, "0", "99"}:
                    problems.append(f"{where}: {element} is not one of {sorted(enum)}")
    for key, spec in attrs.items():
        if (spec or {}).get("requirement") == "required" and key not in value and path == "":
            problems.append(f"{key}: required")
    return problems


def validate(event: dict[str, Any]) -> list[str]:
    """Problems of an OCSF document against its class (empty if it validates)."""
    name = CLASSES.get(event.get("class_uid", 0))
    if name is None:
        return [f"class_uid {event.get('class_uid')} is not a class tenantwatch emits"]
    return _check("", event, class_attributes(name))
