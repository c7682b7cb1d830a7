"""Renders simulated activity in Microsoft's record shapes, from Microsoft's documentation.

This module knows nothing of tenantwatch's normalizers: it writes what Microsoft writes, quirks
included, so collector and normalizer tests prove the contract rather than agreement with
ourselves. Shapes: Graph ``signIn`` (v1.0 and beta).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenantwatch.emulator.activity import SignIn

__all__ = ["graph_signin", "graph_time"]


def graph_time(value: datetime) -> str:
    """Graph's DateTimeOffset form: UTC, ``Z`` suffix, no more than 7 fractional digits."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def graph_signin(s: SignIn, *, beta: bool = False) -> dict[str, Any]:
    """A Graph ``signIn`` resource (``/auditLogs/signIns``).

    Property set of the v1.0 resource; ``beta`` adds the beta-only properties.
    """
    user = s.user
    device = s.device
    net = s.network
    record: dict[str, Any] = {
        "id": s.id,
        "createdDateTime": graph_time(s.time),
        "userDisplayName": user.display_name if user else None,
        "userPrincipalName": user.upn if user else None,
        "userId": user.object_id if user else "",
        "userType": ("guest" if user and user.kind == "guest" else "member"),
        "appId": s.app.app_id,
        "appDisplayName": s.app.display_name,
        "ipAddress": s.ip,
        "clientAppUsed": s.client_app,
        "userAgent": s.user_agent,
        "correlationId": s.correlation_id,
        "conditionalAccessStatus": s.ca_status,
        "originalRequestId": s.id,
        "isInteractive": s.event_type == "interactiveUser",
        "tokenIssuerName": "",
        "tokenIssuerType": "AzureAD",
        "processingTimeInMilliseconds": 142,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": s.resource.display_name,
        "resourceId": s.resource.app_id,
        "resourceTenantId": "",
        "homeTenantId": "",
        "authenticationRequirement": (
            "multiFactorAuthentication" if s.mfa_required else "singleFactorAuthentication"
        ),
        "authenticationProtocol": s.protocol,
        "signInEventTypes": [s.event_type],
        "servicePrincipalId": "",
        "servicePrincipalName": None,
        "clientCredentialType": s.credential_type,
        "servicePrincipalCredentialKeyId": s.sp_credential_key_id,
        "uniqueTokenIdentifier": s.unique_token_id,
        "incomingTokenType": "none",
        "crossTenantAccessType": "none",
        "autonomousSystemNumber": net.asn,
        "status": {
            "errorCode": s.error_code,
            "failureReason": "Other." if s.error_code == 0 else s.failure_reason,
            "additionalDetails": (
                "MFA requirement satisfied by strong authentication"
                if s.error_code == 0 and s.mfa_required
                else None
            ),
        },
        "deviceDetail": {
            "deviceId": device.device_id if device and device.is_managed else "",
            "displayName": device.display_name if device and device.is_managed else "",
            "operatingSystem": device.operating_system if device else "",
            "browser": device.browser if device else "",
            "isCompliant": bool(device and device.is_compliant),
            "isManaged": bool(device and device.is_managed),
            "trustType": device.trust_type if device else "",
        },
        "location": {
            "city": net.city,
            "state": net.state,
            "countryOrRegion": net.country,
            "geoCoordinates": {"altitude": None, "latitude": net.lat, "longitude": net.lon},
        },
        "appliedConditionalAccessPolicies": [
            {
                "id": "5d2b3f04-5f3a-4b7c-9a5e-2b9c0f4d8e11",
                "displayName": "Require MFA for all users",
                "enforcedGrantControls": ["Mfa"],
                "enforcedSessionControls": [],
                "result": "success" if s.mfa_required and s.error_code == 0 else "notApplied",
            }
        ],
    }
    if s.user and s.user.kind == "test":
        record["appliedConditionalAccessPolicies"] = []
    if s.event_type in ("servicePrincipal", "managedIdentity"):
        record["servicePrincipalId"] = s.app.sp_object_id
        record["servicePrincipalName"] = s.app.display_name
        record["userDisplayName"] = None
        record["userPrincipalName"] = None
    if beta:
        record["authenticationMethodsUsed"] = [s.mfa_method] if s.mfa_required else ["Password"]
        record["mfaDetail"] = (
            {"authMethod": s.mfa_method, "authDetail": None} if s.mfa_required else None
        )
        record["networkLocationDetails"] = []
        record["flaggedForReview"] = False
    return record
