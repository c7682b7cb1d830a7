"""Sign-in records in each shape Microsoft writes them, built from one description.

Tests of access policies say "a sign-in with these properties" once, as a :class:`SignInSpec`,
and get the record each input shape carries for it: ``record(shape, spec)`` returns the JSON
bytes, or ``None`` where that shape has no record of such a sign-in. Records are minimal but
real: field names, casing and value forms are Microsoft's, as the normalizers read them.

=================  ========================================================================
shape              what it is
=================  ========================================================================
graph.signIn       a Microsoft Graph **beta** ``signIn`` resource (``/auditLogs/signIns``;
                   learn.microsoft.com/graph/api/resources/signin?view=graph-rest-beta)
o365.management    a Management Activity API record, RecordType 15
                   (AzureActiveDirectoryStsLogon): ``UserLoggedIn`` / ``UserLoginFailed``
azure.monitor      an Entra diagnostic-setting record (Event Hubs, storage): envelope with
                   ``category`` and ``properties`` = the signIn, spelled as Azure Monitor
                   spells it (``userType`` "Member", 7-digit times, no ``signInEventTypes``:
                   the category says the kind; app sign-ins without ``appDisplayName``)
=================  ========================================================================

Which shapes have a record (:func:`expressible`)
------------------------------------------------

===============================  ============  ===============  =============
sign-in                          graph.signIn  o365.management  azure.monitor
===============================  ============  ===============  =============
interactive user (member/guest)  yes           yes              yes
non-interactive user             yes           no (1)           yes
service principal                yes           no (1)           yes
managed identity                 yes           no (1)           yes
device code grant                yes           no (2)           yes
===============================  ============  ===============  =============

(1) The Activity API's Entra sign-ins are interactive user sign-ins only (the emulator's
``content_type_of`` follows the same rule); the other kinds are in Entra's logs only.
(2) Device-code sign-ins have no record that says so in the Activity API. (A RequestType
``OAuth2:DeviceAuth`` is listed among observed values, but what it records is unconfirmed.)

Which attributes a shape carries, when it has a record (:data:`CARRIES`)
------------------------------------------------------------------------

===============  =============================  ===================================  ==============
attribute        graph.signIn                   o365.management                      azure.monitor
===============  =============================  ===================================  ==============
user             userPrincipalName              UserId, Actor (Type 5)               properties.*
user_id          userId                         UserKey, Actor (Type 0)              properties.*
user_type        userType member/guest,         UserType 0 / 10                      userType
                 crossTenantAccessType                                               Member/Guest
kind             signInEventTypes,              only interactiveUser exists          category,
                 isInteractive                                                       isInteractive
success,         status.errorCode,              Operation, ErrorNumber, LogonError   resultType,
error_code       failureReason                  (ResultStatus says "Success" even    properties.
                                                for failures)                        status
mfa              authenticationRequirement      True only: the MFA step's record     properties.*
                                                (RequestType SAS:ProcessAuth);
                                                False looks like "unknown"
mfa_method       mfaDetail.authMethod,          no                                   mfaDetail,
                 authenticationDetails,                                              authentication
                 authenticationMethodsUsed                                           Details
                 (interactive only: non-inter-
                 active steps say "Previously
                 satisfied")
client_app       clientAppUsed                  lossy: legacy clients all write      properties.*
                                                UserAgent "BAV2ROPC"
protocol         authenticationProtocol         lossy: ropc → RequestType            properties.*
                                                OAuth2:Token; saml20 / wsFederation
                                                → Saml2:processrequest /
                                                WsFederation:wsfederation, but only
                                                on a single-factor record (the MFA
                                                record is SAS:ProcessAuth)
app_id           appId                          ApplicationId                        properties.*
app_name         appDisplayName (servicePrin-   no                                   appDisplayName
                 cipalName for app sign-ins)                                         / servicePrin-
                                                                                     cipalName
resource_id      resourceId                     ObjectId, Target (Type 0)            properties.*
resource_name    resourceDisplayName            no                                   properties.*
ip               ipAddress                      ClientIP, ActorIpAddress             callerIp-
                                                                                     Address, ip-
                                                                                     Address
credential_type  clientCredentialType (+        n/a                                  properties.*
                 servicePrincipalCredential-
                 KeyId / Thumbprint)
sp_id            servicePrincipalId             n/a                                  properties.*
time             createdDateTime                CreationTime (seconds, no zone)      time, created-
                                                                                     DateTime
record_id        id                             Id (= IntraSystemId)                 properties.id
===============  =============================  ===================================  ==============

For app sign-ins (``servicePrincipal``, ``managedIdentity``) ``user``, ``user_id``,
``user_type``, ``mfa``, ``mfa_method`` and ``client_app`` are ignored: Microsoft writes none of
them (no UPN, ``userId`` null, no ``authenticationRequirement``); the app is who signed in and
``app_name`` is its service principal name.

Choices not confirmed against real records (kept deliberately simple; change here if a real
tenant shows otherwise): every ``mfa=True`` Activity API record is the ``SAS:ProcessAuth`` step,
also for passwordless methods (FIDO2, Windows Hello, passkeys, certificates), which may never
reach that service; guests are ``UserType`` 10; ``UserAuthenticationMethod`` is written ("1",
password) on credential-step records only; Azure Monitor app sign-ins carry
``clientCredentialType`` (the Log Analytics tables have the column; 2022 Event Hubs samples
predate it); ``authenticationStepRequirement`` texts.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from tenantwatch.normalize.derive import CLIENT_APP_PROTOCOLS

__all__ = [
    "APP_KINDS",
    "CARRIES",
    "EXCHANGE_ONLINE",
    "KINDS",
    "OFFICE_HOME",
    "SHAPES",
    "TENANT_ID",
    "SignInSpec",
    "expressible",
    "in_every_shape",
    "record",
    "record_id",
    "ual_request_type",
]

SHAPES = ("graph.signIn", "o365.management", "azure.monitor")
GRAPH, UAL, MONITOR = SHAPES
KINDS = ("interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity")
APP_KINDS = ("servicePrincipal", "managedIdentity")

TENANT_ID = "6f1d2c3b-4a59-4e68-8d7c-0b1a2f3e4d5c"
GUEST_HOME_TENANT_ID = "2c7e9a41-58b3-4d06-9f12-a3b4c5d6e7f8"  # the guest's own tenant
ALICE_ID = "8c2f4e1a-7b3d-4f5e-9a6c-1d2e3f4a5b6c"
OFFICE_HOME = "4765445b-32c6-49b0-83e6-1d93765276ca"  # OfficeHome (office.com)
EXCHANGE_ONLINE = "00000002-0000-0ff1-ce00-000000000000"  # Office 365 Exchange Online

_NS = uuid.UUID("0d6b5f0e-3c1a-4b8e-9f27-6a4d2c8e1b35")

# The shapes that carry each attribute without loss (see the module docstring for how).
CARRIES: dict[str, frozenset[str]] = {
    "user": frozenset(SHAPES),
    "user_id": frozenset(SHAPES),
    "user_type": frozenset(SHAPES),
    "kind": frozenset({GRAPH, MONITOR}),
    "success": frozenset(SHAPES),
    "error_code": frozenset(SHAPES),
    "mfa": frozenset({GRAPH, MONITOR}),
    "mfa_method": frozenset({GRAPH, MONITOR}),
    "client_app": frozenset({GRAPH, MONITOR}),
    "protocol": frozenset({GRAPH, MONITOR}),
    "app_id": frozenset(SHAPES),
    "app_name": frozenset({GRAPH, MONITOR}),
    "resource_id": frozenset(SHAPES),
    "resource_name": frozenset({GRAPH, MONITOR}),
    "ip": frozenset(SHAPES),
    "credential_type": frozenset({GRAPH, MONITOR}),
    "sp_id": frozenset({GRAPH, MONITOR}),
    "time": frozenset({GRAPH, MONITOR}),  # the Activity API keeps whole seconds
    "record_id": frozenset(SHAPES),
}

# AADSTS code -> (Entra failureReason, the Activity API's LogonError)
# (learn.microsoft.com/entra/identity-platform/reference-error-codes)
FAILURES = {
    50053: (
        "The account is locked, you've tried to sign in too many times with an incorrect user "
        "ID or password.",
        "IdsLocked",
    ),
    50055: ("The password is expired.", "InvalidPasswordExpiredPassword"),
    50057: ("The user account is disabled.", "UserDisabled"),
    50074: ("Strong Authentication is required.", "UserStrongAuthClientAuthNRequiredInterrupt"),
    50076: (
        "Due to a configuration change made by your administrator, or because you moved to a "
        "new location, you must use multi-factor authentication to access the resource.",
        "UserStrongAuthClientAuthNRequired",
    ),
    50126: (
        "Error validating credentials due to invalid username or password.",
        "InvalidUserNameOrPassword",
    ),
    53003: (
        "Access has been blocked by Conditional Access policies.",
        "BlockedByConditionalAccess",
    ),
    500121: (
        "Authentication failed during strong authentication request.",
        "AuthenticationFailedSasError",
    ),
    7000215: ("Invalid client secret is provided.", "InvalidClientSecretProvided"),
}
PRIMARY_FAILURES = {50053, 50055, 50057, 50126}  # the first factor (password) failed
MFA_STEP_FAILURES = {500121}  # the second factor failed: the record is the MFA step's

# Methods that are the whole (multi-factor) sign-in, not a second factor after a password
PASSWORDLESS = {
    "fido2 security key",
    "windows hello for business",
    "passkey (device-bound)",
    "passkey (microsoft authenticator)",
    "certificate-based authentication",
    "x.509 certificate",
    "passwordless phone sign-in",
}
# Graph's authenticationMethodsUsed vocabulary ("SMS, Authenticator App, App Verification code,
# Password, FIDO, PTA, or PHS")
METHODS_USED = {
    "text message": "SMS",
    "mobile app notification": "Authenticator App",
    "oath verification code": "App Verification code",
    "mobile app verification code": "App Verification code",
    "fido2 security key": "FIDO",
    "passkey (device-bound)": "FIDO",
}
CATEGORIES = {
    "interactiveUser": "SignInLogs",
    "nonInteractiveUser": "NonInteractiveUserSignInLogs",
    "servicePrincipal": "ServicePrincipalSignInLogs",
    "managedIdentity": "ManagedIdentitySignInLogs",
}
BROWSER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
DESKTOP_AGENT = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.18129; Pro)"
LEGACY_AGENT = "BAV2ROPC"  # basic authentication proxied by Exchange as an ROPC grant


@dataclass(frozen=True)
class SignInSpec:
    """One sign-in, in Entra's terms (the values Graph writes)."""

    user: str | None = "alice@contoso.com"  # UPN; ignored (None) for app sign-ins
    user_id: str = ALICE_ID
    user_type: str = "member"  # "member" | "guest"
    kind: str = "interactiveUser"  # signInEventTypes: see KINDS
    success: bool = True
    error_code: int = 0  # AADSTS code; required (non-zero) when not success, e.g. 50126
    # True: MFA satisfied (or, on a failed sign-in, required); False: single factor;
    # None: no authenticationRequirement written
    mfa: bool | None = True
    mfa_method: str | None = "Mobile app notification"
    client_app: str = "Browser"  # clientAppUsed
    protocol: str = "none"  # authenticationProtocol: none, deviceCode, ropc, saml20, wsFederation
    app_id: str = OFFICE_HOME  # the client application
    app_name: str = "OfficeHome"
    resource_id: str = EXCHANGE_ONLINE
    resource_name: str = "Office 365 Exchange Online"
    ip: str = "203.0.113.10"
    credential_type: str = "none"  # clientCredentialType: clientSecret, certificate,
    # federatedIdentityCredential, clientAssertion, managedIdentity (app sign-ins)
    sp_id: str | None = None  # service principal object id; default derived from app_id
    time: datetime = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    record_id: str | None = None  # default derived from the other fields

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {KINDS}")
        if self.user_type not in ("member", "guest"):
            raise ValueError(f"user_type {self.user_type!r} is not 'member' or 'guest'")
        if self.kind not in APP_KINDS and not self.user:
            raise ValueError(f"a {self.kind} sign-in needs a user (UPN)")
        if self.success != (self.error_code == 0):
            raise ValueError(
                f"success={self.success} contradicts error_code={self.error_code}: a failed "
                "sign-in needs its AADSTS code, a successful one 0"
            )
        if self.time.tzinfo is None:
            raise ValueError("time must be timezone-aware")

    @property
    def is_app(self) -> bool:
        return self.kind in APP_KINDS

    @property
    def is_legacy_client(self) -> bool:
        return self.client_app.strip().lower() in CLIENT_APP_PROTOCOLS


def expressible(shape: str, spec: SignInSpec) -> bool:
    """Whether ``shape`` has a record of this sign-in (the first table of the module doc)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    if shape == UAL:
        return spec.kind == "interactiveUser" and spec.protocol.lower() != "devicecode"
    return True


def record(shape: str, spec: SignInSpec) -> bytes | None:
    """The sign-in as ``shape`` writes it (one JSON object), or ``None`` when that shape cannot
    carry it: the Activity API has no non-interactive, service principal, managed identity or
    device-code sign-ins (see the module docstring for what each shape keeps)."""
    if not expressible(shape, spec):
        return None
    build = {GRAPH: _graph, UAL: _ual, MONITOR: _monitor}[shape]
    return orjson.dumps(build(spec))


def in_every_shape(spec: SignInSpec) -> dict[str, bytes]:
    """``{shape: record}`` for every shape that can carry the sign-in."""
    out = {}
    for shape in SHAPES:
        data = record(shape, spec)
        if data is not None:
            out[shape] = data
    return out


def record_id(spec: SignInSpec) -> str:
    """The sign-in's request id: Graph ``id``, Azure Monitor ``properties.id``, Activity API
    ``Id`` and ``IntraSystemId``. Derived from the other fields unless given."""
    if spec.record_id:
        return spec.record_id
    return str(uuid.uuid5(_NS, repr(replace(spec, record_id=None))))


def ual_request_type(spec: SignInSpec) -> str:
    """The Activity API record's ``RequestType`` for this sign-in.

    Basic authentication of legacy clients and ROPC grants are token-endpoint requests
    (``OAuth2:Token``); an MFA sign-in's record is its strong-authentication step
    (``SAS:ProcessAuth``, also when that step failed: AADSTS500121); SAML and WS-Federation
    requests have their own; anything else is the credential step (``Login:login``).
    """
    grant = spec.protocol.lower()
    if spec.is_legacy_client or grant == "ropc":
        return "OAuth2:Token"
    if spec.mfa and (spec.success or spec.error_code in MFA_STEP_FAILURES):
        return "SAS:ProcessAuth"
    if grant == "saml20":
        return "Saml2:processrequest"
    if grant == "wsfederation":
        return "WsFederation:wsfederation"
    return "Login:login"


# --- pieces shared by the shapes -------------------------------------------------------------


def _derived(spec: SignInSpec, what: str) -> str:
    return str(uuid.uuid5(_NS, f"{what}:{record_id(spec)}"))


def _sp_id(spec: SignInSpec) -> str:
    return spec.sp_id or str(uuid.uuid5(_NS, f"sp:{spec.app_id}"))


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC)


def _graph_time(when: datetime) -> str:
    """Graph's DateTimeOffset: UTC with ``Z``, fractional seconds only when there are any."""
    t = _utc(when)
    fraction = f".{t.microsecond:06d}".rstrip("0") if t.microsecond else ""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _monitor_time(when: datetime, zone: str) -> str:
    """Azure Monitor's form: 7 fractional digits; ``Z`` at the top, ``+00:00`` inside."""
    t = _utc(when)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond:06d}0" + zone


def _display_name(upn: str) -> str:
    return upn.split("@", maxsplit=1)[0].replace(".", " ").title()


def _user_agent(spec: SignInSpec) -> str:
    if spec.is_app:
        return ""
    if spec.is_legacy_client:
        return LEGACY_AGENT
    return BROWSER_AGENT if spec.client_app.lower() == "browser" else DESKTOP_AGENT


def _failure_reason(spec: SignInSpec) -> str:
    return FAILURES.get(spec.error_code, ("Other.", ""))[0] if not spec.success else "Other."


def _mfa_method(spec: SignInSpec) -> str | None:
    return spec.mfa_method if spec.mfa and not spec.is_app else None


def _auth_steps(spec: SignInSpec, when: str) -> list[dict[str, Any]]:
    """``authenticationDetails``: one entry per authentication step."""

    def step(method: str, succeeded: bool, detail: str | None, requirement: str) -> dict[str, Any]:
        return {
            "authenticationStepDateTime": when,
            "authenticationMethod": method,
            "authenticationMethodDetail": "Password in the cloud" if method == "Password" else None,
            "succeeded": succeeded,
            "authenticationStepResultDetail": detail,
            "authenticationStepRequirement": requirement,
        }

    if spec.is_app:
        return []
    primary = "Primary authentication"
    if spec.kind == "nonInteractiveUser":  # a refresh token: the factors were satisfied before
        steps = [
            step(
                "Previously satisfied",
                True,
                "First factor requirement satisfied by claim in the token",
                primary,
            )
        ]
        if spec.mfa:
            steps.append(
                step(
                    "Previously satisfied",
                    True,
                    "MFA requirement satisfied by claim in the token",
                    "Multifactor authentication",
                )
            )
        return steps
    method = _mfa_method(spec)
    first_ok = spec.error_code not in PRIMARY_FAILURES
    if method and method.lower() in PASSWORDLESS:
        return [step(method, first_ok, None, primary)]
    steps = [
        step(
            "Password",
            first_ok,
            "Correct password"
            if first_ok
            else "Invalid username or password or Invalid on-premise username or password.",
            primary,
        )
    ]
    if method and first_ok and (spec.success or spec.error_code in MFA_STEP_FAILURES):
        second_ok = spec.error_code not in MFA_STEP_FAILURES
        steps.append(
            step(
                method,
                second_ok,
                "MFA successfully completed" if second_ok else "Authentication failed",
                "Multifactor authentication",
            )
        )
    return steps


def _methods_used(spec: SignInSpec) -> list[str]:
    if spec.is_app or spec.kind == "nonInteractiveUser":
        return []
    method = _mfa_method(spec)
    used = [] if method and method.lower() in PASSWORDLESS else ["Password"]
    if method and method.lower() in METHODS_USED:
        used.append(METHODS_USED[method.lower()])
    return used


def _device(spec: SignInSpec) -> dict[str, Any]:
    if spec.is_app or spec.is_legacy_client:
        system, browser = "", ""
    elif spec.client_app.lower() == "browser":
        system, browser = "Windows 10", "Edge 131.0.0"
    else:
        system, browser = "Windows 10", "Rich Client 4.66.0.0"
    return {
        "deviceId": "",
        "displayName": "",
        "operatingSystem": system,
        "browser": browser,
        "isCompliant": False,
        "isManaged": False,
        "trustType": "",
    }


# --- Graph -------------------------------------------------------------------------------------


def _graph(spec: SignInSpec) -> dict[str, Any]:
    rid = record_id(spec)
    created = _graph_time(spec.time)
    app = spec.is_app
    guest = not app and spec.user_type == "guest"
    method = _mfa_method(spec)
    interactive_mfa = method if spec.kind == "interactiveUser" else None
    ca_status = (
        "failure"
        if spec.error_code == 53003
        else "success"
        if spec.mfa and spec.success and not app
        else "notApplied"
    )
    additional = None
    if spec.success and spec.mfa and not app:
        additional = (
            "MFA requirement satisfied by claim in the token"
            if spec.kind == "nonInteractiveUser"
            else "MFA requirement satisfied by strong authentication"
        )
    record: dict[str, Any] = {
        "id": rid,
        "createdDateTime": created,
        "userDisplayName": None if app else _display_name(spec.user or ""),
        "userPrincipalName": None if app else spec.user,
        "userId": "" if app else spec.user_id,
        "userType": None if app else spec.user_type,
        "appId": spec.app_id,
        "appDisplayName": spec.app_name,
        "ipAddress": spec.ip,
        "clientAppUsed": None if app else spec.client_app,
        "userAgent": _user_agent(spec),
        "correlationId": _derived(spec, "correlation"),
        "conditionalAccessStatus": ca_status,
        "originalRequestId": rid,
        "isInteractive": spec.kind == "interactiveUser",
        "tokenIssuerName": "",
        "tokenIssuerType": "AzureAD",
        "processingTimeInMilliseconds": 112,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": spec.resource_name,
        "resourceId": spec.resource_id,
        "resourceTenantId": TENANT_ID,
        "homeTenantId": GUEST_HOME_TENANT_ID if guest else TENANT_ID,
        "authenticationMethodsUsed": _methods_used(spec),
        "authenticationRequirement": (
            None
            if app or spec.mfa is None
            else "multiFactorAuthentication"
            if spec.mfa
            else "singleFactorAuthentication"
        ),
        "authenticationProtocol": spec.protocol,
        "signInIdentifier": None if app else spec.user,
        "signInEventTypes": [spec.kind],
        "servicePrincipalId": _sp_id(spec) if app else "",
        "servicePrincipalName": spec.app_name if app else None,
        "clientCredentialType": spec.credential_type,
        "servicePrincipalCredentialKeyId": (
            str(uuid.uuid5(_NS, f"key:{spec.app_id}:{spec.credential_type}"))
            if spec.credential_type in ("clientSecret", "certificate")
            else ""
        ),
        "servicePrincipalCredentialThumbprint": (
            hashlib.sha1(f"thumbprint:{spec.app_id}".encode()).hexdigest().upper()
            if spec.credential_type == "certificate"
            else ""
        ),
        "uniqueTokenIdentifier": base64.b64encode(rid.encode()).decode(),
        "incomingTokenType": "refreshToken" if spec.kind == "nonInteractiveUser" else "none",
        "crossTenantAccessType": "b2bCollaboration" if guest else "none",
        "flaggedForReview": False,
        "isTenantRestricted": False,
        "autonomousSystemNumber": 64496,
        "status": {
            "errorCode": spec.error_code,
            "failureReason": _failure_reason(spec),
            "additionalDetails": additional,
        },
        "mfaDetail": None if app else {"authMethod": interactive_mfa, "authDetail": None},
        "authenticationDetails": _auth_steps(spec, created),
        "deviceDetail": _device(spec),
        "location": {
            "city": "Redmond",
            "state": "Washington",
            "countryOrRegion": "US",
            "geoCoordinates": {"altitude": None, "latitude": 47.674, "longitude": -122.1215},
        },
        "appliedConditionalAccessPolicies": [],
        "networkLocationDetails": [],
    }
    if spec.kind == "managedIdentity":
        record["managedServiceIdentity"] = {
            "msiType": "systemAssigned",
            "associatedResourceId": (
                "/subscriptions/0b3f6c2e-1a4d-4e8f-9b7c-5d6e7f8a9b0c/resourceGroups/ops/"
                f"providers/Microsoft.Compute/virtualMachines/{spec.app_name}"
            ),
            "federatedTokenId": None,
            "federatedTokenIssuer": None,
        }
    return record


# --- Azure Monitor -----------------------------------------------------------------------------


def _monitor(spec: SignInSpec) -> dict[str, Any]:
    props = _graph(spec)
    created = _monitor_time(spec.time, "+00:00")
    props["createdDateTime"] = created
    # Azure Monitor's category says the kind; beta-only collections are not written
    for key in (
        "signInEventTypes",
        "authenticationMethodsUsed",
        "servicePrincipalCredentialThumbprint",
    ):
        props.pop(key)
    props["authenticationDetails"] = [
        {**s, "authenticationStepDateTime": created, "StatusSequence": 0, "RequestSequence": 0}
        for s in props["authenticationDetails"]
    ]
    if spec.is_app:  # as ServicePrincipalSignInLogs / ManagedIdentitySignInLogs write them
        for key in ("userDisplayName", "userPrincipalName", "userType", "appDisplayName"):
            props.pop(key)
        for key in ("clientAppUsed", "mfaDetail", "authenticationRequirement", "signInIdentifier"):
            props.pop(key)
        props["userId"] = None
        props.pop("authenticationDetails")
    else:
        props["userType"] = spec.user_type.title()
        if not props["mfaDetail"]["authMethod"]:
            props["mfaDetail"] = {}
    failed = not spec.success
    return {
        "time": _monitor_time(spec.time, "Z"),
        "resourceId": f"/tenants/{TENANT_ID}/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "operationVersion": "1.0",
        "category": CATEGORIES[spec.kind],
        "tenantId": TENANT_ID,
        "resultType": str(spec.error_code),
        "resultSignature": "None",
        "resultDescription": _failure_reason(spec) if failed else None,
        "durationMs": 0,
        "callerIpAddress": spec.ip,
        "correlationId": props["correlationId"],
        "identity": spec.app_name if spec.is_app else _display_name(spec.user or ""),
        "Level": 4,
        "location": "US",
        "properties": props,
    }


# --- Activity API ------------------------------------------------------------------------------


def _ual(spec: SignInSpec) -> dict[str, Any]:
    assert spec.user is not None  # expressible(): interactive user sign-ins only
    rid = record_id(spec)
    failed = not spec.success
    request = ual_request_type(spec)
    extended = [
        {"Name": "ResultStatusDetail", "Value": "UserError" if failed else "Success"},
        {"Name": "UserAgent", "Value": _user_agent(spec)},
    ]
    if request != "SAS:ProcessAuth":  # the credential step: a password (bit 1)
        extended.append({"Name": "UserAuthenticationMethod", "Value": "1"})
    extended.append({"Name": "RequestType", "Value": request})
    browser = spec.client_app.lower() == "browser"
    device = [
        {"Name": "OS", "Value": "Windows10"},
        {"Name": "BrowserType", "Value": "Edge" if browser else "Other"},
    ]
    if not failed:
        device.append({"Name": "SessionId", "Value": _derived(spec, "session")})
    record: dict[str, Any] = {
        "CreationTime": _utc(spec.time).strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": rid,
        "Operation": "UserLoginFailed" if failed else "UserLoggedIn",
        "OrganizationId": TENANT_ID,
        "RecordType": 15,
        # "Success" for failed sign-ins too: only the HTTP call succeeded (research notes B.1)
        "ResultStatus": "Success",
        "UserKey": spec.user_id,
        "UserType": 10 if spec.user_type == "guest" else 0,
        "Version": 1,
        "Workload": "AzureActiveDirectory",
        "ClientIP": spec.ip,
        "ObjectId": spec.resource_id,
        "UserId": spec.user,
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": extended,
        "ModifiedProperties": [],
        "Actor": [{"ID": spec.user_id, "Type": 0}, {"ID": spec.user, "Type": 5}],
        "ActorContextId": TENANT_ID,
        "ActorIpAddress": spec.ip,
        "InterSystemsId": _derived(spec, "correlation"),
        "IntraSystemId": rid,
        "SupportTicketId": "",
        "Target": [{"ID": spec.resource_id, "Type": 0}],
        "TargetContextId": TENANT_ID,
        "ApplicationId": spec.app_id,
        "DeviceProperties": device,
        "ErrorNumber": str(spec.error_code),
    }
    if failed and spec.error_code in FAILURES:
        record["LogonError"] = FAILURES[spec.error_code][1]
    return record
