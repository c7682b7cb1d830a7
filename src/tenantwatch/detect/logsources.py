"""Which events a rule's ``logsource`` selects, and how its field names resolve.

tenantwatch's own rules are written against the OCSF event model (``product: ocsf``,
``category:`` the class, fields are OCSF paths such as ``src_endpoint.ip``), so one rule covers a
sign-in whether it came from Graph, the Management Activity API or Azure Monitor. Rules written
for Microsoft's field names (SigmaHQ's ``product: azure`` / ``product: m365``) resolve through a
mapping per logsource; a field without a mapping falls back to the raw record.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from tenantwatch.detect.fields import FieldRef, column_field, is_event_path, raw_field
from tenantwatch.errors import RuleError
from tenantwatch.model.schema import EVENT_SCHEMA

__all__ = ["OCSF_CATEGORIES", "LogSource", "resolve_logsource"]

OCSF_CATEGORIES = {
    "account_change": 3001,
    "authentication": 3002,
    "entity_management": 3004,
    "user_access_management": 3005,
    "group_management": 3006,
    "email_activity": 4009,
    "api_activity": 6003,
    "file_hosting": 6006,
}

# SigmaHQ's azure/signinlogs field names -> event attributes with the same meaning and values.
SIGNINLOGS_FIELDS = {
    "ResultType": "status_code",
    "ResultDescription": "status_detail",
    "UserPrincipalName": "user.name",
    "userPrincipalName": "user.name",
    "Username": "user.name",
    "IPAddress": "src_endpoint.ip",
    "ipAddress": "src_endpoint.ip",
    "AppDisplayName": "actor.app_name",
    "AppId": "actor.app_uid",
    "ResourceDisplayName": "service.name",
    "UserAgent": "http_request.user_agent",
    "Location": "src_endpoint.location.country",
    "DeviceDetail.isCompliant": "device.is_compliant",
    "DeviceDetail.deviceId": "device.uid",
}


@dataclass(frozen=True)
class LogSource:
    """A resolved logsource: the event filter and the field resolver."""

    description: str
    class_uids: tuple[int, ...]
    resolve: Callable[[str], FieldRef]

    def filter_expr(self) -> pl.Expr:
        return pl.col("class_uid").is_in(list(self.class_uids))


def _ocsf_resolver(where: str) -> Callable[[str], FieldRef]:
    def resolve(name: str) -> FieldRef:
        if name.startswith("raw."):
            return raw_field(name, name.removeprefix("raw."))
        if name.startswith("unmapped."):
            return FieldRef(name, "unmapped", tuple(name.removeprefix("unmapped.").split(".")))
        if is_event_path(name):
            return column_field(name, name)
        close = difflib.get_close_matches(name, _all_paths(EVENT_SCHEMA), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RuleError(
            f"field {name!r} is not an OCSF event attribute{hint} "
            "(prefix `raw.` to read the original record)",
            path=where,
        )

    return resolve


def _mapped_resolver(mapping: dict[str, str]) -> Callable[[str], FieldRef]:
    def resolve(name: str) -> FieldRef:
        if name in mapping:
            return column_field(name, mapping[name])
        return raw_field(name, name)

    return resolve


def _all_paths(schema: pa.Schema) -> list[str]:
    out: list[str] = []

    def walk(prefix: str, arrow_type: pa.DataType) -> None:
        if isinstance(arrow_type, pa.StructType):
            for f in arrow_type:
                walk(f"{prefix}.{f.name}", f.type)
        else:
            out.append(prefix)

    for f in schema:
        walk(f.name, f.type)
    return out


def resolve_logsource(
    product: str | None, category: str | None, service: str | None, *, where: str = ""
) -> LogSource:
    """The logsource of a rule, or a :class:`RuleError` naming what is supported."""
    p, c, s = (product or "").lower(), (category or "").lower(), (service or "").lower()
    if p == "ocsf":
        name = c or s
        if name not in OCSF_CATEGORIES:
            known = ", ".join(sorted(OCSF_CATEGORIES))
            raise RuleError(f"logsource ocsf category {name!r} is not one of: {known}", path=where)
        return LogSource(f"ocsf/{name}", (OCSF_CATEGORIES[name],), _ocsf_resolver(where))
    if p == "azure" and s == "signinlogs":
        return LogSource("azure/signinlogs", (3002,), _mapped_resolver(SIGNINLOGS_FIELDS))
    raise RuleError(
        f"logsource product={product} category={category} service={service} is not supported "
        "(supported: product ocsf with an OCSF class category; product azure service signinlogs)",
        path=where,
    )
