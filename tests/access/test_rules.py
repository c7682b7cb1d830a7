"""Every access rule on compliant and violating sign-ins, in each input shape that can carry
them; where a shape cannot, the test shows that it cannot (and what the verdict then is)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from tenantwatch.access.policy import AccessPolicy
from tenantwatch.access.verdicts import AccessState, Grant, evaluate
from tests.access.records import SHAPES, SignInSpec, record
from tests.normalize.helpers import run

UAL = "o365.management"
TEAMS = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"
PORTAL = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
SP = {"kind": "servicePrincipal", "user": None, "app_name": "Contoso Mail Sync",
      "app_id": "6a1f3b2c-0d4e-4f5a-8b6c-7d8e9f0a1b2c", "credential_type": "certificate"}  # fmt: skip


@dataclass(frozen=True)
class Case:
    rule: str
    compliant: SignInSpec
    violating: SignInSpec
    policy: dict[str, Any] = field(default_factory=dict)
    grants: tuple[str, ...] = ()  # apps holding a high-privilege permission
    # shapes whose record cannot show the violation (with why), instead of having no record
    blind: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("mfa_required", SignInSpec(), SignInSpec(mfa=False, mfa_method=None)),
    Case(
        "admin_phishing_resistant_mfa",
        SignInSpec(mfa_method="FIDO2 security key"),
        SignInSpec(mfa=False, mfa_method=None),
        policy={"admins": ["alice@contoso.com"]},
    ),
    Case(
        "admin_phishing_resistant_mfa",  # MFA by phone is not phishing-resistant
        SignInSpec(mfa_method="Windows Hello for Business"),
        SignInSpec(mfa_method="Mobile app notification"),
        policy={"admins": ["alice@contoso.com"]},
        blind={UAL: "the Activity API does not record the MFA method"},
    ),
    Case(
        "no_legacy_auth", SignInSpec(), SignInSpec(client_app="IMAP4", mfa=False, mfa_method=None)
    ),
    Case(
        "no_legacy_auth",
        SignInSpec(client_app="Mobile Apps and Desktop clients"),
        SignInSpec(client_app="Authenticated SMTP", mfa=False, mfa_method=None),
    ),
    Case("no_device_code", SignInSpec(), SignInSpec(protocol="deviceCode")),
    Case(
        "no_ropc",
        SignInSpec(),
        SignInSpec(protocol="ropc", mfa=False, mfa_method=None),
        blind={UAL: "the Activity API writes a direct ROPC grant as OAuth2:Token"},
    ),
    Case(
        "service_principal_networks",
        SignInSpec(**SP, ip="10.20.30.40"),
        SignInSpec(**SP, ip="203.0.113.66"),
        policy={"rules": {"service_principal_networks": {"allowed_networks": ["10.0.0.0/8"]}}},
    ),
    Case(
        "service_principal_credentials",
        SignInSpec(**SP),
        SignInSpec(**{**SP, "credential_type": "clientSecret"}),
    ),
    Case(
        "high_privilege_apps",
        SignInSpec(),
        SignInSpec(app_id="0b969c29-bb35-42fc-9bba-a696b776a766", app_name="MailSync Connector"),
        grants=("0b969c29-bb35-42fc-9bba-a696b776a766", "mailsync connector"),
    ),
    Case(
        "high_privilege_apps",  # an app-only identity holding full_access_as_app
        SignInSpec(**SP),
        SignInSpec(**{**SP, "app_name": "MailSync Connector"}),
        grants=("mailsync connector",),
    ),
    Case(
        "guest_allowed_apps",
        SignInSpec(
            user="ben_partner.example#EXT#@contoso.com",
            user_type="guest",
            app_id=TEAMS,
            app_name="Microsoft Teams",
        ),
        SignInSpec(
            user="ben_partner.example#EXT#@contoso.com",
            user_type="guest",
            app_id=PORTAL,
            app_name="Azure Portal",
            resource_id="797f4846-ba00-4fd7-ba43-dac1f8f63013",
            resource_name="Windows Azure Service Management API",
        ),
    ),
]


def _verdict(shape: str, spec: SignInSpec, case: Case) -> list[str] | None:
    raw = record(shape, spec)
    if raw is None:
        return None
    batch = run(shape, raw)
    assert not batch.quarantined, [q.reason for q in batch.quarantined]
    policy = AccessPolicy.model_validate(case.policy)
    state = AccessState()
    when = datetime(2026, 1, 12, 8, tzinfo=UTC)
    for app in case.grants:
        state.grants[("tenant-1", app)] = [
            Grant(app, "full_access_as_app", when, "grant-event", "tenant-1")
        ]
    verdicts = evaluate(batch.events, policy, state)
    assert verdicts.height == 1
    row = verdicts.row(0, named=True)
    assert row["compliant"] == (not row["violations"])
    return list(row["violations"])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_a_rule_tells_compliant_from_violating(case: Case, shape: str) -> None:
    good = _verdict(shape, case.compliant, case)
    bad = _verdict(shape, case.violating, case)
    if bad is None:  # the shape has no record of such a sign-in at all
        assert record(shape, case.violating) is None
        return
    assert good is not None
    assert case.rule not in good, good
    if shape in case.blind:
        assert case.rule not in bad, f"{shape} was thought blind here: {case.blind[shape]}"
        return
    assert case.rule in bad, bad


def test_which_shapes_carry_which_sign_ins() -> None:
    """The Activity API holds interactive user sign-ins only, without the device code flow."""
    for kind in ("nonInteractiveUser", "servicePrincipal", "managedIdentity"):
        spec = SignInSpec(**SP) if kind != "nonInteractiveUser" else SignInSpec(kind=kind)
        spec = replace(spec, kind=kind)
        assert record(UAL, spec) is None
        assert record("graph.signIn", spec) is not None
        assert record("azure.monitor", spec) is not None
    assert record(UAL, SignInSpec(protocol="deviceCode")) is None


def test_a_failed_sign_in_is_not_an_access() -> None:
    for shape in SHAPES:
        failed = SignInSpec(success=False, error_code=50126, mfa=False, mfa_method=None)
        batch = run(shape, record(shape, failed))
        assert evaluate(batch.events, AccessPolicy(), AccessState()).is_empty()


def test_break_glass_and_exceptions_are_honoured() -> None:
    spec = SignInSpec(client_app="IMAP4", mfa=False, mfa_method=None)
    batch = run("graph.signIn", record("graph.signIn", spec))
    default = evaluate(batch.events, AccessPolicy(), AccessState())
    assert set(default["violations"][0]) == {"mfa_required", "no_legacy_auth"}
    excepted = AccessPolicy.model_validate(
        {"rules": {"no_legacy_auth": {"except_users": ["Alice@Contoso.com"]}}}
    )
    assert list(evaluate(batch.events, excepted, AccessState())["violations"][0]) == [
        "mfa_required"
    ]
    glass = AccessPolicy.model_validate({"break_glass": ["alice@contoso.com"]})
    assert evaluate(batch.events, glass, AccessState())["compliant"][0]
    off = AccessPolicy.model_validate(
        {"rules": {"mfa_required": {"enabled": False}, "no_legacy_auth": {"enabled": False}}}
    )
    assert evaluate(batch.events, off, AccessState())["compliant"][0]


def test_an_activity_api_sign_in_shows_mfa_through_its_strong_authentication_record() -> None:
    """The MFA step is its own record with the sign-in's correlation id: the password step of
    the same sign-in, in the same batch, is then an MFA access."""
    mfa = record(UAL, SignInSpec())
    password = record(UAL, SignInSpec(mfa=False, mfa_method=None))
    assert mfa is not None
    assert password is not None
    batch = run(UAL, password, mfa.replace(b'"Id":', b'"Id": "second", "_":', 1))
    events = batch.events.with_columns(
        pl.col("metadata").struct.with_fields(pl.lit("corr-1").alias("correlation_uid"))
    )
    verdicts = evaluate(events, AccessPolicy(), AccessState())
    assert verdicts["compliant"].all()
