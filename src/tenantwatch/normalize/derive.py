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
    "logon_type",
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
