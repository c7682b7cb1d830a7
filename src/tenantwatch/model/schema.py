"""The event model: OCSF 1.3 attributes as one Arrow schema, plus tenantwatch bookkeeping.

Every normalized record, whatever its class, is one row of :data:`EVENT_SCHEMA`. Attributes a
class does not use stay null; the Parquet lake writes one class per file and drops them. Object
attributes are Arrow structs named and nested exactly as in OCSF, so ``row["src_endpoint"]["ip"]``
is the OCSF path ``src_endpoint.ip``.

Columns prefixed ``tw_`` are tenantwatch's own (tenant, source, stream, delivery times) and are
not exported as OCSF. ``time`` is a UTC timestamp here; OCSF's JSON form is epoch milliseconds,
which :func:`tenantwatch.model.events.to_ocsf_dicts` produces.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "CLASS_NAMES",
    "EVENT_SCHEMA",
    "OCSF_COLUMNS",
    "OCSF_VERSION",
    "TW_COLUMNS",
    "ClassUid",
]

OCSF_VERSION = "1.3.0"

TS = pa.timestamp("ms", tz="UTC")
STR = pa.string()
I32 = pa.int32()
I64 = pa.int64()

_location = pa.struct(
    [
        ("city", STR),
        ("region", STR),
        ("country", STR),
        ("lat", pa.float64()),
        ("long", pa.float64()),
    ]
)
_autonomous_system = pa.struct([("number", I64), ("name", STR)])
_org = pa.struct([("uid", STR), ("name", STR)])
_user = pa.struct(
    [
        ("uid", STR),
        ("uid_alt", STR),
        ("name", STR),
        ("email_addr", STR),
        ("full_name", STR),
        ("type_id", I32),
        ("type", STR),
        ("domain", STR),
        ("org", _org),
    ]
)
_session = pa.struct([("uid", STR), ("uid_alt", STR), ("issuer", STR), ("is_mfa", pa.bool_())])
_endpoint = pa.struct(
    [
        ("ip", STR),
        ("port", I32),
        ("hostname", STR),
        ("name", STR),
        ("uid", STR),
        ("location", _location),
        ("autonomous_system", _autonomous_system),
    ]
)
_product = pa.struct([("name", STR), ("vendor_name", STR), ("feature", pa.struct([("name", STR)]))])
_metadata = pa.struct(
    [
        ("version", STR),
        ("uid", STR),
        ("product", _product),
        ("original_time", STR),
        ("logged_time", TS),
        ("processed_time", TS),
        ("correlation_uid", STR),
        ("event_code", STR),
        ("log_name", STR),
        ("tenant_uid", STR),
        ("labels", pa.list_(STR)),
    ]
)
_actor = pa.struct(
    [
        ("user", _user),
        ("app_name", STR),
        ("app_uid", STR),
        ("invoked_by", STR),
        ("session", _session),
    ]
)
_os = pa.struct([("name", STR), ("type_id", I32)])
_device = pa.struct(
    [
        ("uid", STR),
        ("name", STR),
        ("type_id", I32),
        ("os", _os),
        ("is_compliant", pa.bool_()),
        ("is_managed", pa.bool_()),
        ("is_trusted", pa.bool_()),
    ]
)
_service = pa.struct([("name", STR), ("uid", STR)])
_api = pa.struct(
    [
        ("operation", STR),
        ("service", _service),
        ("request", pa.struct([("uid", STR), ("data", STR)])),
        ("response", pa.struct([("code", I32), ("error", STR), ("message", STR)])),
    ]
)
_resource = pa.struct([("uid", STR), ("name", STR), ("type", STR), ("data", STR)])
_entity = pa.struct([("uid", STR), ("name", STR), ("type", STR), ("data", STR)])
_file = pa.struct(
    [
        ("name", STR),
        ("path", STR),
        ("uid", STR),
        ("type_id", I32),
        ("ext", STR),
        ("size", I64),
    ]
)
_email = pa.struct(
    [
        ("uid", STR),
        ("message_uid", STR),
        ("subject", STR),
        ("from", STR),
        ("to", pa.list_(STR)),
        ("size", I64),
    ]
)
_cloud = pa.struct(
    [("provider", STR), ("region", STR), ("account", pa.struct([("uid", STR), ("name", STR)]))]
)
_http_request = pa.struct([("user_agent", STR), ("http_method", STR)])
_observable = pa.struct([("name", STR), ("type_id", I32), ("value", STR)])

OCSF_FIELDS: list[pa.Field] = [
    pa.field("time", TS),
    pa.field("class_uid", I32),
    pa.field("class_name", STR),
    pa.field("category_uid", I32),
    pa.field("category_name", STR),
    pa.field("activity_id", I32),
    pa.field("activity_name", STR),
    pa.field("type_uid", I64),
    pa.field("severity_id", I32),
    pa.field("status_id", I32),
    pa.field("status", STR),
    pa.field("status_code", STR),
    pa.field("status_detail", STR),
    pa.field("message", STR),
    pa.field("metadata", _metadata),
    pa.field("actor", _actor),
    pa.field("user", _user),
    pa.field("src_endpoint", _endpoint),
    pa.field("dst_endpoint", _endpoint),
    pa.field("device", _device),
    pa.field("http_request", _http_request),
    pa.field("service", _service),
    pa.field("session", _session),
    pa.field("api", _api),
    pa.field("cloud", _cloud),
    # Authentication (3002)
    pa.field("is_mfa", pa.bool_()),
    pa.field("auth_protocol_id", I32),
    pa.field("auth_protocol", STR),
    pa.field("logon_type_id", I32),
    pa.field("logon_type", STR),
    # Entity Management (3004), Account Change (3001), User Access / Group Management
    pa.field("entity", _entity),
    pa.field("entity_result", _entity),
    pa.field("privileges", pa.list_(STR)),
    pa.field("resource", _resource),
    pa.field("group", pa.struct([("uid", STR), ("name", STR)])),
    # API Activity (6003), File Hosting (6006), Email Activity (4009)
    pa.field("resources", pa.list_(_resource)),
    pa.field("file", _file),
    pa.field("email", _email),
    pa.field("direction_id", I32),
    pa.field("observables", pa.list_(_observable)),
    pa.field("unmapped", STR),
    pa.field("raw_data", STR),
]

TW_FIELDS: list[pa.Field] = [
    pa.field("tw_tenant", STR, nullable=False),
    pa.field("tw_uid", STR, nullable=False),
    pa.field("tw_source", STR),
    pa.field("tw_stream", STR),
    pa.field("tw_available_time", TS),
    pa.field("tw_fetched_time", TS),
]

EVENT_SCHEMA = pa.schema(TW_FIELDS + OCSF_FIELDS)
OCSF_COLUMNS = [f.name for f in OCSF_FIELDS]
TW_COLUMNS = [f.name for f in TW_FIELDS]


class ClassUid:
    """OCSF 1.3 class ids used by tenantwatch (DESIGN decision 2)."""

    ACCOUNT_CHANGE = 3001
    AUTHENTICATION = 3002
    ENTITY_MANAGEMENT = 3004
    USER_ACCESS = 3005
    GROUP_MANAGEMENT = 3006
    EMAIL_ACTIVITY = 4009
    API_ACTIVITY = 6003
    FILE_HOSTING = 6006
    COMPLIANCE_FINDING = 2003
    DETECTION_FINDING = 2004


CLASS_NAMES: dict[int, tuple[str, int, str]] = {
    # class_uid: (class_name, category_uid, category_name)
    3001: ("Account Change", 3, "Identity & Access Management"),
    3002: ("Authentication", 3, "Identity & Access Management"),
    3004: ("Entity Management", 3, "Identity & Access Management"),
    3005: ("User Access Management", 3, "Identity & Access Management"),
    3006: ("Group Management", 3, "Identity & Access Management"),
    4009: ("Email Activity", 4, "Network Activity"),
    6003: ("API Activity", 6, "Application Activity"),
    6006: ("File Hosting Activity", 6, "Application Activity"),
    2003: ("Compliance Finding", 2, "Findings"),
    2004: ("Detection Finding", 2, "Findings"),
}

ACTIVITY_NAMES: dict[tuple[int, int], str] = {
    # (class_uid, activity_id): activity_name, from the OCSF 1.3 class definitions
    (3001, 1): "Create",
    (3001, 2): "Enable",
    (3001, 3): "Password Change",
    (3001, 4): "Password Reset",
    (3001, 5): "Disable",
    (3001, 6): "Delete",
    (3001, 7): "Attach Policy",
    (3001, 8): "Detach Policy",
    (3001, 9): "Lock",
    (3001, 10): "MFA Factor Enable",
    (3001, 11): "MFA Factor Disable",
    (3001, 99): "Other",
    (3002, 1): "Logon",
    (3002, 2): "Logoff",
    (3002, 3): "Authentication Ticket",
    (3002, 4): "Service Ticket Request",
    (3002, 5): "Service Ticket Renew",
    (3002, 6): "Preauth",
    (3002, 99): "Other",
    (3004, 1): "Create",
    (3004, 2): "Read",
    (3004, 3): "Update",
    (3004, 4): "Delete",
    (3004, 99): "Other",
    (3005, 1): "Assign Privileges",
    (3005, 2): "Revoke Privileges",
    (3005, 99): "Other",
    (3006, 1): "Assign Privileges",
    (3006, 2): "Revoke Privileges",
    (3006, 3): "Add User",
    (3006, 4): "Remove User",
    (3006, 5): "Delete",
    (3006, 6): "Create",
    (3006, 99): "Other",
    (4009, 1): "Send",
    (4009, 2): "Receive",
    (4009, 3): "Scan",
    (4009, 99): "Other",
    (6003, 1): "Create",
    (6003, 2): "Read",
    (6003, 3): "Update",
    (6003, 4): "Delete",
    (6003, 99): "Other",
    (6006, 1): "Upload",
    (6006, 2): "Download",
    (6006, 3): "Update",
    (6006, 4): "Delete",
    (6006, 5): "Rename",
    (6006, 6): "Copy",
    (6006, 7): "Move",
    (6006, 8): "Restore",
    (6006, 9): "Preview",
    (6006, 10): "Lock",
    (6006, 11): "Unlock",
    (6006, 12): "Share",
    (6006, 13): "Unshare",
    (6006, 14): "Open",
    (6006, 15): "Sync",
    (6006, 16): "Unsync",
    (6006, 99): "Other",
}
