"""Derived fields every input shape shares: authentication protocol, outcome, actor kind.

Labels are tenantwatch's (stable strings rules and policies can name); ids are OCSF 1.3's
``auth_protocol_id`` enum (4 OpenID, 5 SAML, 6 OAuth 2.0, 99 Other).
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "LEGACY_PROTOCOLS",
    "PROTOCOL_IDS",
    "auth_protocol_id",
    "auth_protocol_label",
    "blank_to_null",
    "logon_type",
    "name_value",
    "parse_ip",
    "ual_user_type",
]

# Entra's clientAppUsed values (Graph, Azure Monitor, Log Analytics) -> protocol label.
CLIENT_APP_PROTOCOLS = {
    "imap4": "IMAP",
    "imap": "IMAP",
    "pop3": "POP",
    "pop": "POP",
    "authenticated smtp": "SMTP",
    "smtp": "SMTP",
    "exchange activesync": "Exchange ActiveSync",
    "exchange web services": "EWS Basic",
    "mapi over http": "MAPI",
    "mapi": "MAPI",
    "outlook anywhere (rpc over http)": "MAPI",
    "offline address book": "Other legacy",
    "autodiscover": "Other legacy",
    "exchange online powershell": "Other legacy",
    "reporting web services": "Other legacy",
    "universal outlook": "Other legacy",
    "other clients": "Other legacy",
}
# Entra's authenticationProtocol values -> protocol label.
GRANT_PROTOCOLS = {
    "ropc": "ROPC",
    "devicecode": "Device Code",
    "saml20": "SAML",
    "wsfederation": "WS-Federation",
    "oauth2": "OAuth 2.0",
}
LEGACY_PROTOCOLS = (
    "IMAP",
    "POP",
    "SMTP",
    "Exchange ActiveSync",
    "EWS Basic",
    "MAPI",
    "Other legacy",
)
PROTOCOL_IDS = {
    "OAuth 2.0": 6,
    "OpenID": 4,
    "SAML": 5,
    "WS-Federation": 99,
    "ROPC": 99,
    "Device Code": 99,
    **dict.fromkeys(LEGACY_PROTOCOLS, 99),
}


def auth_protocol_label(client_app_used: pl.Expr, authentication_protocol: pl.Expr) -> pl.Expr:
    """Protocol label from Entra's ``clientAppUsed`` and ``authenticationProtocol``.

    A legacy client (IMAP, POP, ...) decides first: those are basic-auth protocols whatever the
    grant says. Then the grant (ROPC, device code, SAML, WS-Fed). Browser and modern clients with
    grant ``none`` are OAuth 2.0 / OpenID Connect.
    """
    client = client_app_used.str.to_lowercase().str.strip_chars()
    grant = authentication_protocol.str.to_lowercase().str.strip_chars()
    legacy = client.replace_strict(CLIENT_APP_PROTOCOLS, default=None, return_dtype=pl.String)
    by_grant = grant.replace_strict(GRANT_PROTOCOLS, default=None, return_dtype=pl.String)
    modern = (
        pl.when(client.is_in(["browser", "mobile apps and desktop clients"]) | grant.eq("none"))
        .then(pl.lit("OAuth 2.0"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return pl.coalesce(legacy, by_grant, modern, pl.lit("Unknown"))


def auth_protocol_id(label: pl.Expr) -> pl.Expr:
    return label.replace_strict(PROTOCOL_IDS, default=0, return_dtype=pl.Int32)


# signInEventTypes -> (OCSF logon_type_id, label)
LOGON_TYPES = {
    "interactiveUser": (2, "Interactive"),
    "nonInteractiveUser": (3, "Non-interactive"),
    "servicePrincipal": (99, "Service Principal"),
    "managedIdentity": (99, "Managed Identity"),
}


def logon_type(event_type: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """OCSF ``logon_type_id`` and ``logon_type`` from Entra's sign-in event type."""
    ids = {k: v[0] for k, v in LOGON_TYPES.items()}
    names = {k: v[1] for k, v in LOGON_TYPES.items()}
    return (
        event_type.replace_strict(ids, default=0, return_dtype=pl.Int32),
        event_type.replace_strict(names, default="Unknown", return_dtype=pl.String),
    )


_V4 = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"


def parse_ip(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """An IP address and port from the forms real records use.

    ``1.2.3.4``, ``1.2.3.4:443``, ``[2001:db8::1]:443``, ``2001:db8::1``, ``::ffff:1.2.3.4``
    (an IPv4 address in IPv6 form, given as IPv4), ``HOSTNAME (10.0.0.1)``. Anything else,
    including empty strings and out-of-range octets, is null.
    """
    s = text.str.strip_chars()
    v4 = s.str.extract(rf"^({_V4})(?::\d{{1,5}})?$", 1)
    bracketed = s.str.extract(r"^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$", 1)
    named = s.str.extract(rf"\(\s*({_V4}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)\s*\)\s*$", 1)
    v6 = pl.when(s.str.contains(r"^[0-9A-Fa-f]*:[0-9A-Fa-f:]*(?:" + _V4 + r")?$")).then(s)
    ip = pl.coalesce(v4, bracketed, named, v6)
    mapped = ip.str.extract(rf"^::[fF]{{4}}:({_V4})$", 1)
    ip = pl.coalesce(mapped, ip)
    port = pl.coalesce(
        s.str.extract(rf"^{_V4}:(\d{{1,5}})$", 1), s.str.extract(r"^\[[^\]]+\]:(\d{1,5})$", 1)
    ).cast(pl.Int32, strict=False)
    return ip, port


# The Activity API's UserType (learn.microsoft.com/office/office-365-management-api/
# office-365-management-activity-api-schema#user-type) -> (OCSF user.type_id, label)
UAL_USER_TYPES = {
    0: (1, "User"),
    1: (99, "Reserved"),
    2: (2, "Admin"),
    3: (2, "Admin"),  # DcAdmin: a Microsoft datacenter operator
    4: (3, "System"),
    5: (99, "Service Principal"),  # Application
    6: (99, "Service Principal"),
    7: (3, "System"),  # CustomPolicy
    8: (3, "System"),  # SystemPolicy
    9: (99, "Partner"),
    10: (99, "Guest"),
}


def ual_user_type(user_type: pl.Expr, user_id: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """OCSF ``user.type_id`` and label for an Activity API record's actor.

    ``UserType`` decides, except where the actor's id gives it away: ``ServicePrincipal_<id>``
    is a service principal, ``NT AUTHORITY\\SYSTEM ...`` and ``app@sharepoint`` are the system.
    """
    uid = user_id.str.to_lowercase()
    is_sp = uid.str.starts_with("serviceprincipal_")
    is_system = uid.str.starts_with("nt authority\\") | (uid == "app@sharepoint")
    ids = {k: v[0] for k, v in UAL_USER_TYPES.items()}
    labels = {k: v[1] for k, v in UAL_USER_TYPES.items()}
    base_id = user_type.cast(pl.Int32, strict=False).replace_strict(
        ids, default=0, return_dtype=pl.Int32
    )
    base_label = user_type.cast(pl.Int32, strict=False).replace_strict(
        labels, default="Unknown", return_dtype=pl.String
    )
    type_id = pl.when(is_sp).then(pl.lit(99)).when(is_system).then(pl.lit(3)).otherwise(base_id)
    label = (
        pl.when(is_sp)
        .then(pl.lit("Service Principal"))
        .when(is_system)
        .then(pl.lit("System"))
        .otherwise(base_label)
    )
    return type_id.cast(pl.Int32), label


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Empty or whitespace strings as null (Microsoft writes ``""`` for "none")."""
    return pl.when(expr.str.strip_chars() == "").then(None).otherwise(expr)


def name_value(
    list_column: pl.Expr, name: str, *, key: str = "Name", value: str = "Value"
) -> pl.Expr:
    """The value for ``name`` in a ``[{Name, Value}]`` list (first match, case-sensitive)."""
    return list_column.list.eval(
        pl.element().filter(pl.element().struct.field(key) == name).struct.field(value)
    ).list.first()
