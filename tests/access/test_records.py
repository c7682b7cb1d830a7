"""The sign-in builders against the real normalizers.

Each case is one :class:`SignInSpec` and what the normalized event must say about it: the
protocol label Graph / Azure Monitor give it (``clientAppUsed`` + ``authenticationProtocol``,
see :mod:`tenantwatch.normalize.derive`), and the Activity API record's ``RequestType`` and
label (``None`` where the Activity API has no record of such a sign-in). Everything else is
expected straight from the spec.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from tests.access.records import (
    APP_KINDS,
    CARRIES,
    SHAPES,
    SignInSpec,
    expressible,
    in_every_shape,
    record,
    record_id,
    ual_request_type,
)
from tests.normalize.helpers import run

GRAPH, UAL, MONITOR = SHAPES
DESKTOP = "Mobile Apps and Desktop clients"
SINGLE = {"mfa": False, "mfa_method": None}
MS_GRAPH = {
    "resource_id": "00000003-0000-0000-c000-000000000000",
    "resource_name": "Microsoft Graph",
}
MAIL_SYNC = {
    "user": None,
    "kind": "servicePrincipal",
    "app_id": "5b8e2f61-0c3d-4a7e-9f14-2d6c8b0a7e93",
    "app_name": "Contoso Mail Sync",
    "sp_id": "b4e0c2d8-6f1a-4b3c-8d5e-7a9f0c1b2d3e",
    "ip": "198.51.100.7",
    **MS_GRAPH,
}


@dataclass(frozen=True)
class Case:
    id: str
    spec: SignInSpec
    protocol: str  # auth_protocol from Graph and Azure Monitor
    ual_request: str | None  # the Activity API record's RequestType; None: no record
    ual_protocol: str | None = None  # auth_protocol from the Activity API


def case(id: str, label: str, ual_request: str | None, ual_label: str | None, **spec: Any) -> Case:
    """A case: Graph / Azure Monitor's protocol label, the Activity API's RequestType and label,
    and the spec's attributes."""
    return Case(id, SignInSpec(**spec), label, ual_request, ual_label)


LEGACY = [
    ("IMAP4", "IMAP"),
    ("POP3", "POP"),
    ("Authenticated SMTP", "SMTP"),
    ("Exchange ActiveSync", "Exchange ActiveSync"),
    ("Exchange Web Services", "EWS Basic"),
    ("MAPI Over HTTP", "MAPI"),
    ("Other clients", "Other legacy"),
]
CASES = [
    case("default", "OAuth 2.0", "SAS:ProcessAuth", "OAuth 2.0"),
    case("single-factor", "OAuth 2.0", "Login:login", "OAuth 2.0", **SINGLE),
    case(
        "guest",
        "OAuth 2.0",
        "SAS:ProcessAuth",
        "OAuth 2.0",
        user="bob@fabrikam.com",
        user_id="3e5a7c9b-1d2f-4a6b-8c0d-9e8f7a6b5c4d",
        user_type="guest",
    ),
    *[
        # basic authentication, proxied by Exchange as an ROPC grant (user agent BAV2ROPC)
        case(
            f"legacy-{app}",
            label,
            "OAuth2:Token",
            "ROPC",
            client_app=app,
            protocol="ropc",
            **SINGLE,
        )
        for app, label in LEGACY
    ],
    case("device-code", "Device Code", None, None, client_app=DESKTOP, protocol="deviceCode"),
    # a direct ROPC grant is a token request like any other in the Activity API
    case(
        "ropc", "ROPC", "OAuth2:Token", "OAuth 2.0", client_app=DESKTOP, protocol="ropc", **SINGLE
    ),
    case("saml", "SAML", "Saml2:processrequest", "SAML", protocol="saml20", **SINGLE),
    case(
        "ws-federation",
        "WS-Federation",
        "WsFederation:wsfederation",
        "WS-Federation",
        protocol="wsFederation",
        **SINGLE,
    ),
    # with MFA the Activity API's record is the MFA step, which does not say SAML
    case("saml-mfa", "SAML", "SAS:ProcessAuth", "OAuth 2.0", protocol="saml20"),
    case(
        "failure-50126",
        "OAuth 2.0",
        "Login:login",
        "OAuth 2.0",
        success=False,
        error_code=50126,
        **SINGLE,
    ),
    case(
        "mfa-denied-500121",
        "OAuth 2.0",
        "SAS:ProcessAuth",
        "OAuth 2.0",
        success=False,
        error_code=500121,
    ),
    case(
        "non-interactive",
        "OAuth 2.0",
        None,
        None,
        kind="nonInteractiveUser",
        client_app=DESKTOP,
        app_id="1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        app_name="Microsoft Teams",
    ),
    case("sp-client-secret", "OAuth 2.0", None, None, credential_type="clientSecret", **MAIL_SYNC),
    case("sp-certificate", "OAuth 2.0", None, None, credential_type="certificate", **MAIL_SYNC),
    case(
        "sp-failure-7000215",
        "OAuth 2.0",
        None,
        None,
        credential_type="clientSecret",
        success=False,
        error_code=7000215,
        **MAIL_SYNC,
    ),
    case(
        "managed-identity",
        "OAuth 2.0",
        None,
        None,
        user=None,
        kind="managedIdentity",
        credential_type="managedIdentity",
        app_id="e2b4c6d8-0a1b-4c3d-9e5f-6a7b8c9d0e1f",
        app_name="vm-backup-01",
        sp_id="f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b",
        resource_id="cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
        resource_name="Azure Key Vault",
        ip="",  # managed identity sign-ins come from inside Azure: no address
    ),
    case(
        "admin-fido2",
        "OAuth 2.0",
        "SAS:ProcessAuth",
        "OAuth 2.0",
        user="Adele.Admin@contoso.com",
        user_id="7d9f1b3a-5c7e-4092-a4b6-c8d0e2f4a6b8",
        mfa_method="FIDO2 security key",
        app_id="c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        app_name="Azure Portal",
        resource_id="797f4846-ba00-4fd7-ba43-dac1f8f63013",
        resource_name="Windows Azure Service Management API",
    ),
    case(
        "windows-hello",
        "OAuth 2.0",
        "SAS:ProcessAuth",
        "OAuth 2.0",
        client_app=DESKTOP,
        mfa_method="Windows Hello for Business",
    ),
]
LOGON_TYPES = {
    "interactiveUser": "Interactive",
    "nonInteractiveUser": "Non-interactive",
    "servicePrincipal": "Service Principal",
    "managedIdentity": "Managed Identity",
}


def _user_type(shape: str, spec: SignInSpec) -> str:
    if shape != UAL and spec.kind in APP_KINDS:
        return LOGON_TYPES[spec.kind]
    return "Guest" if spec.user_type == "guest" else "User"


def _normalize(shape: str, data: bytes) -> dict[str, Any]:
    batch = run(shape, data)
    assert not batch.quarantined, [q.reason for q in batch.quarantined]
    (event,) = batch.events.to_dicts()
    return event


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_a_sign_in_normalizes_as_specified(c: Case, shape: str) -> None:
    spec = c.spec
    data = record(shape, spec)
    assert (data is None) is (not expressible(shape, spec))
    assert (data is None) is (shape == UAL and c.ual_request is None)
    if data is None:
        return
    e = _normalize(shape, data)
    app = spec.kind in APP_KINDS
    unmapped = orjson.loads(e["unmapped"])

    assert (e["class_uid"], e["activity_id"]) == (3002, 1)
    assert e["metadata"]["uid"] == record_id(spec)
    assert e["time"] == spec.time
    assert e["user"]["name"] == (spec.app_name if app else (spec.user or "").lower())
    assert e["user"]["uid"] == (spec.sp_id if app else spec.user_id)
    assert e["user"]["type"] == _user_type(shape, spec)
    assert e["status"] == ("Success" if spec.success else "Failure")
    assert e["status_code"] == str(spec.error_code)
    assert e["src_endpoint"]["ip"] == (spec.ip or None)
    assert e["actor"]["app_uid"] == spec.app_id

    if shape == UAL:
        # the MFA step's record says MFA; no record says "single factor" (signins.py is_mfa)
        assert unmapped["RequestType"] == c.ual_request == ual_request_type(spec)
        assert e["is_mfa"] is (True if c.ual_request == "SAS:ProcessAuth" else None)
        assert e["auth_protocol"] == c.ual_protocol
        assert e["logon_type"] == "Interactive"
        assert e["service"]["uid"] == spec.resource_id
        return
    assert e["is_mfa"] is (None if app else spec.mfa)
    assert e["auth_protocol"] == c.protocol
    assert e["logon_type"] == LOGON_TYPES[spec.kind]
    assert e["service"] == {"name": spec.resource_name, "uid": spec.resource_id}
    assert e["actor"]["app_name"] == spec.app_name  # Azure Monitor: the SP name stands in
    assert unmapped["clientCredentialType"] == spec.credential_type
    assert unmapped["clientAppUsed"] == (None if app else spec.client_app)
    assert (unmapped["userType"] or "").lower() == ("" if app else spec.user_type)
    if "mfaMethod" in unmapped and spec.kind != "nonInteractiveUser":
        # non-interactive records' steps say "Previously satisfied" (reported, not asserted)
        expected = spec.mfa_method if spec.mfa and not app else None
        assert unmapped["mfaMethod"] == expected


def test_the_shapes_that_cannot_carry_a_sign_in_are_the_documented_ones() -> None:
    kinds = {c.spec.kind for c in CASES} | {"interactiveUser"}
    for c in CASES:
        assert set(in_every_shape(c.spec)) == {s for s in SHAPES if expressible(s, c.spec)}
        assert expressible(GRAPH, c.spec)
        assert expressible(MONITOR, c.spec)
    assert kinds == set(LOGON_TYPES)  # the grid covers every kind
    assert not expressible(UAL, SignInSpec(protocol="deviceCode"))
    assert not expressible(UAL, SignInSpec(kind="nonInteractiveUser"))


def test_records_are_deterministic_and_distinct() -> None:
    specs = [c.spec for c in CASES]
    assert [record(GRAPH, s) for s in specs] == [record(GRAPH, s) for s in specs]
    assert len({record_id(s) for s in specs}) == len(specs)
    fixed = SignInSpec(record_id="a1b2c3d4-0000-4000-8000-000000000001")
    for shape, data in in_every_shape(fixed).items():
        assert _normalize(shape, data)["metadata"]["uid"] == fixed.record_id


def test_sub_second_times_survive_where_the_shape_keeps_them() -> None:
    spec = SignInSpec(time=datetime(2026, 1, 12, 10, 30, 5, 250000, tzinfo=UTC))
    for shape, data in in_every_shape(spec).items():
        event_time = _normalize(shape, data)["time"]
        kept = shape in CARRIES["time"]
        assert event_time == (spec.time if kept else spec.time.replace(microsecond=0))


def test_the_mfa_method_is_in_the_records_of_the_shapes_that_carry_it() -> None:
    spec = SignInSpec(mfa_method="Text message")
    graph = orjson.loads(record(GRAPH, spec) or b"")
    assert graph["mfaDetail"]["authMethod"] == "Text message"
    assert [s["authenticationMethod"] for s in graph["authenticationDetails"]] == [
        "Password",
        "Text message",
    ]
    assert graph["authenticationMethodsUsed"] == ["Password", "SMS"]
    monitor = orjson.loads(record(MONITOR, spec) or b"")["properties"]
    assert monitor["mfaDetail"]["authMethod"] == "Text message"
    assert monitor["authenticationDetails"][-1]["authenticationMethod"] == "Text message"
    assert b"Text message" not in (record(UAL, spec) or b"")
    assert CARRIES["mfa_method"] == {GRAPH, MONITOR}


def test_app_sign_ins_are_written_without_user_fields() -> None:
    spec = SignInSpec(**{**MAIL_SYNC, "credential_type": "certificate"})
    graph = orjson.loads(record(GRAPH, spec) or b"")
    assert graph["userPrincipalName"] is None
    assert graph["authenticationRequirement"] is None
    assert graph["servicePrincipalName"] == "Contoso Mail Sync"
    assert len(graph["servicePrincipalCredentialThumbprint"]) == 40
    monitor = orjson.loads(record(MONITOR, spec) or b"")
    assert monitor["category"] == "ServicePrincipalSignInLogs"
    assert monitor["properties"]["userId"] is None
    assert "userPrincipalName" not in monitor["properties"]
    assert "signInEventTypes" not in monitor["properties"]


def test_carries_names_every_attribute() -> None:
    assert set(CARRIES) == {f.name for f in dataclasses.fields(SignInSpec)}
    assert all(shapes <= set(SHAPES) for shapes in CARRIES.values())


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"kind": "workloadIdentity"}, "kind"),
        ({"user_type": "partner"}, "user_type"),
        ({"user": None}, "needs a user"),
        ({"success": False}, "AADSTS code"),
        ({"error_code": 50126}, "AADSTS code"),
        ({"time": datetime(2026, 1, 12, 9, 0)}, "timezone"),
    ],
)
def test_contradictory_specs_are_refused(bad: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        SignInSpec(**bad)


def test_an_unknown_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown shape"):
        record("graph.directoryAudit", SignInSpec())
