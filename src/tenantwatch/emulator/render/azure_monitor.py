"""Azure Monitor diagnostic records (Entra ID diagnostic settings → Event Hubs / storage / Log
Analytics): ``category``, ``operationName``, ``properties``.

The ``properties`` of a sign-in are Graph's ``signIn`` resource; of an audit record, Graph's
``directoryAudit`` (learn.microsoft.com/entra/identity/monitoring-health/
howto-stream-logs-to-event-hub).
"""

from __future__ import annotations

from typing import Any

from tenantwatch.emulator.activities import DirectoryAudit, SignIn
from tenantwatch.emulator.render.graph import graph_directory_audit, graph_signin

__all__ = ["SIGNIN_CATEGORIES", "azure_monitor_record"]

SIGNIN_CATEGORIES = {
    "interactiveUser": "SignInLogs",
    "nonInteractiveUser": "NonInteractiveUserSignInLogs",
    "servicePrincipal": "ServicePrincipalSignInLogs",
    "managedIdentity": "ManagedIdentitySignInLogs",
}


def _azure_time(text: str) -> str:
    """Graph's ``...123Z`` as Azure Monitor writes it at the top level (7 digits, ``Z``)."""
    return text.replace("Z", "0000Z") if len(text) == 24 else text


def azure_monitor_record(activity: SignIn | DirectoryAudit, tenant_id: str) -> dict[str, Any]:
    """The diagnostic record of a sign-in or directory audit."""
    resource_id = f"/tenants/{tenant_id}/providers/Microsoft.aadiam"
    if isinstance(activity, SignIn):
        props = graph_signin(activity, beta=True)
        props["createdDateTime"] = props["createdDateTime"].replace("Z", "+00:00")
        props["userType"] = "Guest" if props.get("userType") == "guest" else "Member"
        props["tenantId"] = tenant_id
        return {
            "time": _azure_time(graph_signin(activity)["createdDateTime"]),
            "resourceId": resource_id,
            "operationName": "Sign-in activity",
            "operationVersion": "1.0",
            "category": SIGNIN_CATEGORIES[activity.event_type],
            "tenantId": tenant_id,
            "resultType": str(activity.error_code),
            "resultSignature": "None",
            "resultDescription": activity.failure_reason if activity.error_code else None,
            "durationMs": 0,
            "callerIpAddress": activity.ip,
            "correlationId": activity.correlation_id,
            "identity": activity.user.display_name if activity.user else activity.app.display_name,
            "Level": 4,
            "location": activity.network.country,
            "properties": props,
        }
    props = graph_directory_audit(activity)
    props["activityDateTime"] = props["activityDateTime"].replace("Z", "+00:00")
    return {
        "time": _azure_time(graph_directory_audit(activity)["activityDateTime"]),
        "resourceId": resource_id,
        "operationName": activity.operation,
        "operationVersion": "1.0",
        "category": "AuditLogs",
        "tenantId": tenant_id,
        "resultSignature": "None",
        "resultDescription": activity.result_reason or None,
        "durationMs": 0,
        "callerIpAddress": activity.ip or None,
        "correlationId": activity.correlation_id,
        "Level": 4,
        "properties": props,
    }
