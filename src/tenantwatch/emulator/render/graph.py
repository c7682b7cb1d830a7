"""Microsoft Graph shapes: ``signIn`` (v1.0 and beta) and ``directoryAudit``.

References: learn.microsoft.com/graph/api/resources/signin,
learn.microsoft.com/graph/api/resources/directoryaudit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from tenantwatch.emulator.activities import DirectoryAudit, SignIn

__all__ = ["graph_directory_audit", "graph_signin", "graph_time"]


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


def graph_directory_audit(a: DirectoryAudit) -> dict[str, Any]:
    """A Graph ``directoryAudit`` resource (``/auditLogs/directoryAudits``).

    Modified property values are JSON-encoded strings (``"\\"True\\""``), as Graph writes them.
    """
    user = a.actor_user
    app = a.actor_app
    initiated: dict[str, Any] = {"app": None, "user": None}
    if user is not None:
        initiated["user"] = {
            "id": user.object_id,
            "displayName": None,
            "userPrincipalName": user.upn,
            "ipAddress": a.ip,
            "userType": "Guest" if user.kind == "guest" else "Member",
            "roles": [],
        }
    elif app is not None:
        initiated["app"] = {
            "appId": app.app_id,
            "displayName": app.display_name,
            "servicePrincipalId": app.sp_object_id,
            "servicePrincipalName": None,
        }
    additional = [{"key": "User-Agent", "value": a.user_agent}] if a.user_agent else []
    additional += [{"key": k, "value": v} for k, v in a.additional.items()]
    return {
        "id": a.graph_id,
        "category": a.category,
        "correlationId": a.correlation_id,
        "result": a.result,
        "resultReason": a.result_reason,
        "activityDisplayName": a.operation,
        "activityDateTime": graph_time(a.time),
        "loggedByService": a.logged_by,
        "operationType": a.operation_type,
        "userAgent": None,
        "initiatedBy": initiated,
        "targetResources": [
            {
                "id": t.id,
                "displayName": t.display_name,
                "type": t.type,
                "userPrincipalName": t.upn,
                "groupType": None,
                "modifiedProperties": [
                    {
                        "displayName": m.name,
                        "oldValue": orjson.dumps(m.old_value).decode() if m.old_value else None,
                        "newValue": orjson.dumps(m.new_value).decode(),
                    }
                    for m in t.modified
                ],
            }
            for t in a.targets
        ],
        "additionalDetails": additional,
    }
