"""The access stage of the pipeline: verdicts for a batch, and findings for violations, one per
(tenant, rule, user or app) — later violations extend it (count, last seen, evidence)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from tenantwatch.access.policy import AccessPolicy
from tenantwatch.access.verdicts import AccessState, Grant, evaluate
from tenantwatch.model.finding import Finding, finding_uid

__all__ = ["RULE_TEXT", "AccessEngine", "AccessResult"]

MAX_EVIDENCE = 20
WORKLOAD_RULES = {
    "service_principal_networks",
    "service_principal_credentials",
    "high_privilege_apps",
}
RULE_TEXT = {
    "mfa_required": (
        "Sign-in without MFA",
        "An interactive sign-in succeeded without multi-factor authentication (SCuBA MS.AAD.3.2).",
    ),
    "admin_phishing_resistant_mfa": (
        "Privileged user without phishing-resistant MFA",
        "A privileged user signed in without FIDO2, Windows Hello or certificate-based "
        "authentication (SCuBA MS.AAD.3.6).",
    ),
    "no_legacy_auth": (
        "Legacy authentication used",
        "A sign-in used a legacy protocol (IMAP, POP, SMTP AUTH, ActiveSync, EWS/MAPI basic "
        "auth) that cannot do MFA (SCuBA MS.AAD.1.1).",
    ),
    "no_device_code": (
        "Device code flow used",
        "A sign-in used the device code flow, which phishing campaigns abuse, outside the "
        "allowed users and apps.",
    ),
    "no_ropc": (
        "Password grant (ROPC) used",
        "A sign-in used the resource owner password credentials grant, which bypasses MFA.",
    ),
    "service_principal_networks": (
        "Workload identity signed in from outside allowed networks",
        "A service principal or managed identity signed in from an address outside the "
        "policy's allowed networks.",
    ),
    "service_principal_credentials": (
        "Workload identity using a client secret",
        "A service principal authenticated with a credential type the policy does not allow "
        "(client secrets are copied and stolen; use certificates or federated credentials).",
    ),
    "high_privilege_apps": (
        "App holding high-privilege permissions not allowlisted",
        "An application holds a high-privilege permission (full_access_as_app, Mail.Read, "
        "Directory.ReadWrite.All, ...) and is not on the policy's allowlist.",
    ),
    "guest_allowed_apps": (
        "Guest signed in to an app not allowed for guests",
        "A guest account signed in to an application outside the policy's guest allowlist.",
    ),
}


@dataclass
class AccessResult:
    verdicts: pl.DataFrame
    new: list[Finding]
    updated: list[Finding]


class AccessEngine:
    """Holds the policy, the state it needs, and the findings raised so far."""

    def __init__(self, policy: AccessPolicy) -> None:
        self.policy = policy
        self.state = AccessState()
        self._findings: dict[str, Finding] = {}

    def seed(self, directory_events: pl.DataFrame, findings: list[Finding]) -> None:
        """On start: role assignments and grants from the store, and the open findings."""
        self.state.learn(directory_events, self.policy)
        for f in findings:
            if f.rule_id.startswith("tw_access_"):
                self._findings[f.uid] = f

    def evaluate(self, events: pl.DataFrame, now: datetime) -> AccessResult:
        grants = self.state.learn(events, self.policy)
        verdicts = evaluate(events, self.policy, self.state)
        new: dict[str, Finding] = {}
        updated: dict[str, Finding] = {}
        for grant in grants:
            if not self.policy.rules.high_privilege_apps.enabled or self._allowed(grant.app):
                continue
            self._raise(self._grant_finding(grant, now), new, updated)
        violating = verdicts.filter(~pl.col("compliant")).explode("violations")
        if violating.height:
            groups = self._groups(violating)
            for row in groups.iter_rows(named=True):
                self._raise(self._violation_finding(row, now), new, updated)
        return AccessResult(verdicts, list(new.values()), list(updated.values()))

    def _groups(self, violating: pl.DataFrame) -> pl.DataFrame:
        workload = pl.col("violations").is_in(list(WORKLOAD_RULES))
        return (
            violating.with_columns(
                entity_kind=pl.when(workload).then(pl.lit("app")).otherwise(pl.lit("user")),
                entity=pl.when(workload)
                .then(pl.coalesce("app_name", "app_uid", "user_name"))
                .otherwise(pl.coalesce("user_name", "app_name")),
            )
            .group_by("tenant", "violations", "entity_kind", "entity")
            .agg(
                pl.col("time").min().alias("first"),
                pl.col("time").max().alias("last"),
                pl.len().alias("count"),
                pl.col("event_uid").head(MAX_EVIDENCE).alias("evidence"),
                pl.col("ip").drop_nulls().unique().sort().head(10).alias("ips"),
                pl.col("protocol").drop_nulls().unique().sort().alias("protocols"),
            )
            .sort("first")
        )

    def _allowed(self, app: str) -> bool:
        return app.lower() in self.policy.rules.high_privilege_apps.except_apps

    def _raise(
        self, finding: Finding, new: dict[str, Finding], updated: dict[str, Finding]
    ) -> None:
        known = self._findings.get(finding.uid)
        if known is None:
            self._findings[finding.uid] = finding
            new[finding.uid] = finding
            return
        merged = replace(
            known,
            first_seen=min(known.first_seen, finding.first_seen),
            last_seen=max(known.last_seen, finding.last_seen),
            count=known.count + finding.count,
            evidence_uids=(known.evidence_uids + finding.evidence_uids)[:MAX_EVIDENCE],
            observables={
                k: sorted(set(known.observables.get(k, [])) | set(v))[:20]
                for k, v in finding.observables.items()
            }
            | {k: v for k, v in known.observables.items() if k not in finding.observables},
        )
        self._findings[finding.uid] = merged
        if finding.uid not in new:
            updated[finding.uid] = merged
        else:
            new[finding.uid] = merged

    def _violation_finding(self, row: dict[str, object], now: datetime) -> Finding:
        rule = str(row["violations"])
        title, text = RULE_TEXT[rule]
        tenant, kind, entity = str(row["tenant"]), str(row["entity_kind"]), str(row["entity"])
        observables: dict[str, list[str]] = {}
        if row["ips"]:
            observables["src_endpoint.ip"] = [str(i) for i in row["ips"]]  # type: ignore[attr-defined]
        if row["protocols"]:
            observables["auth_protocol"] = [str(p) for p in row["protocols"]]  # type: ignore[attr-defined]
        first, last = row["first"], row["last"]
        assert isinstance(first, datetime)
        assert isinstance(last, datetime)
        return Finding(
            uid=finding_uid("tw_access", tenant, rule, f"{kind}={entity}"),
            tenant=tenant,
            rule_id=f"tw_access_{rule}",
            rule_title=title,
            severity=getattr(self.policy.rules, rule).severity,
            first_seen=first,
            last_seen=last,
            created_time=now,
            entity={kind: entity},
            description=text,
            techniques=_techniques(rule),
            evidence_uids=[str(u) for u in row["evidence"]],  # type: ignore[attr-defined]
            observables=observables,
            count=int(row["count"]),  # type: ignore[call-overload]
        )

    def _grant_finding(self, grant: Grant, now: datetime) -> Finding:
        tenant = grant.tenant
        title, text = RULE_TEXT["high_privilege_apps"]
        return Finding(
            uid=finding_uid(
                "tw_access",
                tenant,
                "high_privilege_apps",
                f"app={grant.app};permission={grant.permission.lower()}",
            ),
            tenant=tenant,
            rule_id="tw_access_high_privilege_apps",
            rule_title=title,
            severity=self.policy.rules.high_privilege_apps.severity,
            first_seen=grant.first_seen,
            last_seen=grant.first_seen,
            created_time=now,
            entity={"app": grant.app, "permission": grant.permission},
            description=f"{text} Granted: {grant.permission}.",
            techniques=("T1098.003",),
            evidence_uids=[grant.event_uid],
            observables={"permission": [grant.permission]},
            count=1,
        )


def _techniques(rule: str) -> tuple[str, ...]:
    return {
        "mfa_required": ("T1078.004",),
        "admin_phishing_resistant_mfa": ("T1078.004",),
        "no_legacy_auth": ("T1078.004", "T1110.003"),
        "no_device_code": ("T1528",),
        "no_ropc": ("T1078.004",),
        "service_principal_networks": ("T1078.004",),
        "service_principal_credentials": ("T1098.001",),
        "high_privilege_apps": ("T1098.003",),
        "guest_allowed_apps": ("T1078.004",),
    }.get(rule, ())
