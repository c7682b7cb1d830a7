"""A verdict for every sign-in: compliant, or the policy rules it violates, evaluated column-wise
on the batch (one Polars expression per rule, no Python per row).

What the rules read, the same in all three input shapes after normalization:

==============================  ===========================================================
user, app                       ``user.name``; ``actor.app_uid`` / ``actor.app_name``
interactive / workload          ``logon_type`` (Interactive, Non-interactive, Service
                                Principal, Managed Identity)
MFA                             ``is_mfa``; in the Activity API, the sign-in's
                                ``SAS:`` strong-authentication record (same correlation id)
MFA method                      ``unmapped.mfaMethod`` (Graph, Azure Monitor)
protocol                        ``auth_protocol``; the Activity API's ``BAV2ROPC`` user agent
                                is legacy basic authentication proxied through ROPC
credential type, user type      ``unmapped.clientCredentialType``, ``unmapped.userType`` /
                                ``user.type``
==============================  ===========================================================

Only successful sign-ins are accesses; failed ones get no verdict (they show in the inventory).
Where a shape cannot show MFA (an Activity API sign-in without its strong-authentication
record), MFA counts as not shown: the policy asks for evidence of MFA.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import polars as pl

from tenantwatch.access.policy import AccessPolicy
from tenantwatch.normalize.derive import LEGACY_PROTOCOLS

__all__ = ["VERDICT_SCHEMA", "AccessState", "evaluate"]

VERDICT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "tenant": pl.String,
    "event_uid": pl.String,
    "record_uid": pl.String,
    "time": pl.Datetime("ms", "UTC"),
    "source": pl.String,
    "user_name": pl.String,
    "app_uid": pl.String,
    "app_name": pl.String,
    "logon_type": pl.String,
    "protocol": pl.String,
    "ip": pl.String,
    "is_mfa": pl.Boolean,
    "compliant": pl.Boolean,
    "violations": pl.List(pl.String),
}


@dataclass
class Grant:
    """A high-privilege permission an app holds, as the directory audit showed it."""

    app: str  # display name or id, lower case
    permission: str
    first_seen: datetime
    event_uid: str
    tenant: str = ""


@dataclass
class AccessState:
    """What the verdicts need beyond one sign-in: who is privileged, which apps hold
    high-privilege permissions. Built from directory audit events as they arrive (and from the
    store on start). Both are per tenant: an app or a role member of one tenant says nothing
    about another."""

    admins: set[tuple[str, str]] = field(default_factory=set)  # (tenant, upn lower)
    # (tenant, app name or id lower) -> its high-privilege grants
    grants: dict[tuple[str, str], list[Grant]] = field(default_factory=dict)

    def learn(self, events: pl.DataFrame, policy: AccessPolicy) -> list[Grant]:
        """Role assignments and app permission grants in ``events``; returns the new grants of
        high-privilege permissions."""
        if events.is_empty():
            return []
        access = events.filter(pl.col("class_uid") == 3005)
        if access.is_empty():
            return []
        roles = {r.lower() for r in policy.privileged_roles}
        wanted = set(policy.rules.high_privilege_apps.permissions)
        new: list[Grant] = []
        rows = access.select(
            pl.col("metadata").struct.field("event_code").fill_null("").alias("op"),
            pl.col("user").struct.field("name").alias("target"),
            pl.col("user").struct.field("uid").alias("target_uid"),
            "privileges",
            "time",
            "tw_uid",
            "status",
            "tw_tenant",
        ).sort("time")
        for op, target, target_uid, privileges, when, uid, status, tenant in rows.iter_rows():
            if status == "Failure" or not target:
                continue
            verb = op.lower()
            held = [p for p in privileges or [] if p]
            if "member" in verb and "role" in verb:
                if any(p.lower() in roles for p in held):
                    if verb.startswith("remove"):
                        self.admins.discard((tenant, target.lower()))
                    else:
                        self.admins.add((tenant, target.lower()))
                continue
            if verb.startswith("remove"):
                continue
            for permission in held:
                if permission.lower() not in wanted:
                    continue
                for app in {target.lower(), (target_uid or "").lower()} - {""}:
                    known = self.grants.setdefault((tenant, app), [])
                    if any(g.permission.lower() == permission.lower() for g in known):
                        continue
                    grant = Grant(target.lower(), permission, when, uid, tenant)
                    known.append(grant)
                    if app == target.lower():
                        new.append(grant)
        return new


SEP = "\x1f"


def _keyed(column: str) -> pl.Expr:
    """``column`` qualified by the event's tenant (state is per tenant)."""
    return pl.col("tw_tenant") + SEP + pl.col(column)


def _in(expr: pl.Expr, values: tuple[str, ...] | set[str]) -> pl.Expr:
    """Membership, a missing value being no member (never null: ``~`` of it must be true)."""
    return expr.is_in(sorted(values)).fill_null(False) if values else pl.lit(False)


def _field(name: str) -> pl.Expr:
    return pl.col("unmapped").str.json_path_match(f"$.{name}")


@lru_cache(maxsize=64)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _outside(ips: pl.Series, cidrs: tuple[str, ...]) -> dict[str, bool]:
    """Each distinct address: outside every allowed network (an unreadable one counts too)."""
    nets = _networks(cidrs)
    out = {}
    for ip in ips.drop_nulls().unique().to_list():
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            out[ip] = True
            continue
        out[ip] = not any(address.version == n.version and address in n for n in nets)
    return out


def evaluate(events: pl.DataFrame, policy: AccessPolicy, state: AccessState) -> pl.DataFrame:
    """Verdicts (rows of :data:`VERDICT_SCHEMA`) for the successful sign-ins in ``events``."""
    if events.is_empty():
        return pl.DataFrame(schema=VERDICT_SCHEMA)
    auth = events.filter((pl.col("class_uid") == 3002) & (pl.col("status") == "Success"))
    if auth.is_empty():
        return pl.DataFrame(schema=VERDICT_SCHEMA)
    # an Activity API sign-in shows MFA in a sibling record (SAS:...) with the same correlation
    # id; look for it in the whole batch, failures included
    strong = (
        events.filter((pl.col("class_uid") == 3002) & pl.col("is_mfa").fill_null(False))
        .select(pl.col("metadata").struct.field("correlation_uid").alias("_corr"))
        .drop_nulls()
        .unique()
    )
    r = policy.rules
    frame = auth.with_columns(
        _user=pl.col("user").struct.field("name").str.to_lowercase(),
        _app=pl.col("actor").struct.field("app_uid").str.to_lowercase(),
        _app_name=pl.col("actor").struct.field("app_name").str.to_lowercase(),
        _resource=pl.col("service").struct.field("name").str.to_lowercase(),
        _resource_uid=pl.col("service").struct.field("uid").str.to_lowercase(),
        _ip=pl.col("src_endpoint").struct.field("ip"),
        _agent=pl.col("http_request").struct.field("user_agent").fill_null(""),
        _method=_field("mfaMethod"),
        _credential=_field("clientCredentialType"),
        _user_type=pl.coalesce(_field("userType"), pl.col("user").struct.field("type")),
        _corr=pl.col("metadata").struct.field("correlation_uid"),
    ).with_columns(
        _mfa=pl.coalesce(
            pl.col("is_mfa"), pl.col("_corr").is_in(strong["_corr"].to_list()).fill_null(False)
        ),
        _workload=pl.col("logon_type").is_in(["Service Principal", "Managed Identity"]),
        _guest=pl.col("_user_type").str.to_lowercase() == "guest",
    )

    def excepted(rule_users: tuple[str, ...], rule_apps: tuple[str, ...]) -> pl.Expr:
        return (
            _in(pl.col("_user"), set(rule_users) | set(policy.break_glass))
            | _in(pl.col("_app"), rule_apps)
            | _in(pl.col("_app_name"), rule_apps)
        )

    legacy = pl.col("auth_protocol").is_in(list(LEGACY_PROTOCOLS)) | (
        pl.col("_agent") == "BAV2ROPC"
    )
    admins = {f"{t}{SEP}{u}" for t, u in state.admins}
    methods = [m.lower() for m in r.admin_phishing_resistant_mfa.methods]
    high_apps = {f"{t}{SEP}{a}" for t, a in state.grants}
    outside: dict[str, bool] = {}
    if r.service_principal_networks.enabled and r.service_principal_networks.allowed_networks:
        workload_ips = frame.filter(pl.col("_workload"))["_ip"]
        outside = _outside(workload_ips, r.service_principal_networks.allowed_networks)
    checks: dict[str, pl.Expr] = {
        "mfa_required": (pl.col("logon_type") == "Interactive")
        & ~pl.col("_workload")
        & ~pl.col("_mfa"),
        # no MFA shown, or a method that is not phishing-resistant; MFA shown without its method
        # (the Activity API does not record it) cannot be judged and is not a violation
        "admin_phishing_resistant_mfa": (pl.col("logon_type") == "Interactive")
        & (_in(_keyed("_user"), admins) | _in(pl.col("_user"), policy.admins))
        & (~pl.col("_mfa") | ~pl.col("_method").str.to_lowercase().is_in(methods).fill_null(True)),
        "no_legacy_auth": legacy,
        "no_device_code": pl.col("auth_protocol") == "Device Code",
        "no_ropc": (pl.col("auth_protocol") == "ROPC") & ~legacy,
        "service_principal_networks": pl.col("_workload")
        & pl.col("_ip").replace_strict(outside, default=False, return_dtype=pl.Boolean),
        "service_principal_credentials": (pl.col("logon_type") == "Service Principal")
        & pl.col("_credential").is_not_null()
        & ~pl.col("_credential").is_in(["none", ""])
        & ~pl.col("_credential").is_in(list(r.service_principal_credentials.allowed_types)),
        "high_privilege_apps": _in(_keyed("_app"), high_apps) | _in(_keyed("_app_name"), high_apps),
        "guest_allowed_apps": pl.col("_guest")
        & ~pl.any_horizontal(
            _in(pl.col(c), r.guest_allowed_apps.allowed_apps)
            for c in ("_app", "_app_name", "_resource", "_resource_uid")
        ),
    }
    flags = []
    for rule_id, violated in checks.items():
        rule = getattr(r, rule_id)
        if not rule.enabled:
            continue
        applies = violated.fill_null(False) & ~excepted(rule.except_users, rule.except_apps)
        flags.append(pl.when(applies).then(pl.lit(rule_id)))
    violations = (
        pl.concat_list(flags).list.drop_nulls() if flags else pl.lit([], dtype=pl.List(pl.String))
    )
    return (
        frame.select(
            pl.col("tw_tenant").alias("tenant"),
            pl.col("tw_uid").alias("event_uid"),
            pl.col("metadata").struct.field("uid").alias("record_uid"),
            pl.col("time").dt.cast_time_unit("ms"),
            pl.col("tw_source").alias("source"),
            pl.col("_user").alias("user_name"),
            pl.col("_app").alias("app_uid"),
            pl.coalesce("_app_name", "_app").alias("app_name"),
            "logon_type",
            pl.col("auth_protocol").alias("protocol"),
            pl.col("_ip").alias("ip"),
            pl.col("_mfa").alias("is_mfa"),
            violations.alias("violations"),
        )
        .with_columns(compliant=pl.col("violations").list.len() == 0)
        .select(list(VERDICT_SCHEMA))
    )
