"""Which events a rule's ``logsource`` selects, and how its field names resolve.

tenantwatch's own rules are written against the OCSF event model (``product: ocsf``,
``category:`` the class, fields are OCSF paths such as ``src_endpoint.ip``), so one rule covers a
sign-in whether it came from Graph, the Management Activity API or Azure Monitor.

Rules written for Microsoft's field names (SigmaHQ's ``product: azure`` and ``product: m365``)
select the events of their log and resolve each field name, in this order:

1. a mapping of this logsource (names Microsoft spells differently per export — Log Analytics'
   ``ResultType`` is Graph's ``status.errorCode`` — resolve to the OCSF attribute that holds the
   value for every shape, or to every raw key that may hold it);
2. otherwise the raw record: the name is looked up case-insensitively among the documented keys
   of the log (``DeviceDetail.trusttype`` is ``deviceDetail.trustType``), both at the top level
   (Graph) and under ``properties`` (Azure Monitor), so one rule reads either shape; keys that
   cross a list (``targetResources.type``) read every element.

A field found in several places has every value found (a match on any one matches). Field
names are matched case-insensitively, as SigmaHQ's rules spell them both ways.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from tenantwatch.detect.fields import (
    FieldRef,
    any_field,
    column_field,
    is_event_path,
    raw_field,
)
from tenantwatch.errors import RuleError
from tenantwatch.model.schema import EVENT_SCHEMA

__all__ = ["LOGSOURCES", "OCSF_CATEGORIES", "LogSource", "LogSourceSpec", "resolve_logsource"]

OCSF_CATEGORIES = {
    "account_change": 3001,
    "authentication": 3002,
    "entity_management": 3004,
    "user_access_management": 3005,
    "group_management": 3006,
    "email_activity": 4009,
    "api_activity": 6003,
    "file_hosting": 6006,
}


@dataclass(frozen=True)
class LogSource:
    """A resolved logsource: which events it selects, and the field resolver."""

    description: str
    class_uids: tuple[int, ...] | None
    resolve: Callable[[str], FieldRef]
    log_names: tuple[str, ...] | None = None  # metadata.log_name equal to one of these
    log_prefix: str | None = None  # ... or starting with this

    def filter_expr(self) -> pl.Expr:
        condition = pl.lit(True)
        if self.class_uids is not None:
            condition = condition & pl.col("class_uid").is_in(list(self.class_uids))
        log_name = pl.col("metadata").struct.field("log_name")
        if self.log_names is not None:
            condition = condition & log_name.is_in(list(self.log_names)).fill_null(False)
        if self.log_prefix is not None:
            condition = condition & log_name.str.starts_with(self.log_prefix).fill_null(False)
        return condition

    def accepts(self, row: dict[str, Any]) -> bool:
        """The same selection for one event (the oracle's side)."""
        if self.class_uids is not None and row.get("class_uid") not in self.class_uids:
            return False
        log_name = (row.get("metadata") or {}).get("log_name")
        if self.log_names is not None and log_name not in self.log_names:
            return False
        return not (
            self.log_prefix is not None
            and not (isinstance(log_name, str) and log_name.startswith(self.log_prefix))
        )


# -- documented keys of Microsoft's records (case-correct; ``[]`` marks a list) ----------------

_GRAPH_SIGNIN_KEYS = """
id createdDateTime userDisplayName userPrincipalName userId userType appId appDisplayName
ipAddress ipAddressFromResourceProvider clientAppUsed correlationId conditionalAccessStatus
isInteractive riskDetail riskLevelAggregated riskLevelDuringSignIn riskState riskEventTypes
riskEventTypes_v2 resourceDisplayName resourceId resourceTenantId homeTenantId homeTenantName
status.errorCode status.failureReason status.additionalDetails
deviceDetail.deviceId deviceDetail.displayName deviceDetail.operatingSystem deviceDetail.browser
deviceDetail.isCompliant deviceDetail.isManaged deviceDetail.trustType
location.city location.state location.countryOrRegion location.geoCoordinates.latitude
location.geoCoordinates.longitude location.geoCoordinates.altitude
appliedConditionalAccessPolicies[].id appliedConditionalAccessPolicies[].displayName
appliedConditionalAccessPolicies[].result appliedConditionalAccessPolicies[].enforcedGrantControls
appliedConditionalAccessPolicies[].enforcedSessionControls
authenticationDetails[].authenticationMethod authenticationDetails[].authenticationMethodDetail
authenticationDetails[].authenticationStepDateTime
authenticationDetails[].authenticationStepRequirement
authenticationDetails[].authenticationStepResultDetail authenticationDetails[].succeeded
authenticationMethodsUsed authenticationProtocol authenticationRequirement
authenticationRequirementPolicies[].requirementProvider authenticationRequirementPolicies[].detail
autonomousSystemNumber clientCredentialType crossTenantAccessType flaggedForReview
incomingTokenType isTenantRestricted managedServiceIdentity.msiType
managedServiceIdentity.associatedResourceId mfaDetail.authMethod mfaDetail.authDetail
networkLocationDetails[].networkType networkLocationDetails[].networkNames originalRequestId
originalTransferMethod processingTimeInMilliseconds servicePrincipalCredentialKeyId
servicePrincipalCredentialThumbprint servicePrincipalId servicePrincipalName signInEventTypes
signInIdentifier signInIdentifierType tokenIssuerName tokenIssuerType uniqueTokenIdentifier
userAgent federatedCredentialId conditionalAccessAudiences appOwnerTenantId
resourceOwnerTenantId
"""
_GRAPH_AUDIT_KEYS = """
id category correlationId result resultReason activityDisplayName activityDateTime
loggedByService operationType initiatedBy.user.id initiatedBy.user.displayName
initiatedBy.user.userPrincipalName initiatedBy.user.ipAddress initiatedBy.user.userType
initiatedBy.user.homeTenantId initiatedBy.user.homeTenantName initiatedBy.app.appId
initiatedBy.app.displayName initiatedBy.app.servicePrincipalId initiatedBy.app.servicePrincipalName
targetResources[].id targetResources[].displayName targetResources[].type
targetResources[].userPrincipalName targetResources[].groupType
targetResources[].modifiedProperties[].displayName targetResources[].modifiedProperties[].oldValue
targetResources[].modifiedProperties[].newValue additionalDetails[].key additionalDetails[].value
"""
_GRAPH_RISK_KEYS = """
id requestId correlationId riskEventType riskType riskState riskLevel riskDetail source
detectionTimingType activity ipAddress location.city location.countryOrRegion activityDateTime
detectedDateTime lastUpdatedDateTime userId userDisplayName userPrincipalName additionalInfo
tokenIssuerType servicePrincipalId servicePrincipalDisplayName appId
"""
# the Azure Monitor diagnostic envelope around a Graph resource (``properties``)
_AZURE_MONITOR_KEYS = """
time resourceId operationName operationVersion category tenantId resultType resultSignature
resultDescription durationMs callerIpAddress correlationId identity Level level location
properties
"""
# Azure Activity log: the diagnostic shape, the REST shape and Log Analytics' AzureActivity
_AZURE_ACTIVITY_KEYS = """
time resourceId operationName operationName.value category category.value resultType
resultSignature durationMs callerIpAddress correlationId identity level location
properties.message properties.statusCode properties.entity properties.eventCategory
resourceProviderName.value caller eventDataId status.value subStatus.value
OperationNameValue CategoryValue ResourceProviderValue ResourceId ActivityStatusValue Caller
CallerIpAddress
"""
# Management Activity API: the common schema and the fields of the workloads rules use
_UAL_KEYS = """
Id RecordType CreationTime Operation OrganizationId UserType UserKey Workload ResultStatus
ObjectId UserId ClientIP Scope AppId ClientAppId ApplicationId ActorContextId ActorIpAddress
InterSystemsId IntraSystemId SupportTicketId TargetContextId Actor[].ID Actor[].Type
Target[].ID Target[].Type ModifiedProperties[].Name ModifiedProperties[].NewValue
ModifiedProperties[].OldValue ExtendedProperties[].Name ExtendedProperties[].Value
Parameters[].Name Parameters[].Value OperationProperties[].Name OperationProperties[].Value
MailboxOwnerUPN MailboxGuid MailboxOwnerSid LogonType LogonUserSid ClientInfoString
ClientIPAddress ClientProcessName ClientVersion ExternalAccess InternalLogonType
OriginatingServer SessionId Item.Id Item.Subject Item.ParentFolder.Path Folders[].Path
Folders[].FolderItems[].InternetMessageId AffectedItems[].Subject Site SiteUrl SourceFileName
SourceFileExtension SourceRelativeUrl ItemType ListId ListItemUniqueId WebId UserAgent
EventSource DeviceDisplayName Platform Directionality DeliveryAction NetworkMessageId
P1Sender P2Sender Recipients Subject ThreatsAndDetectionTech Name Status Severity Category
Source AlertId AlertType Comments Data Policy AlertEntityId EntityType TeamName TeamGuid
ChannelName CommunicationType Members[].UPN Members[].Role
"""


def _key_table(*blocks: str, prefixes: tuple[str, ...] = ("",)) -> dict[str, str]:
    """Lower-cased dotted path (no list markers) → documented path, for every prefix."""
    table: dict[str, str] = {}
    for block in blocks:
        for path in block.split():
            segments = path.split(".")
            for end in range(1, len(segments) + 1):  # every ancestor is a key too
                partial = ".".join(segments[:end])
                if end == len(segments) or partial.endswith("[]"):
                    partial = partial if end < len(segments) else path
                for prefix in prefixes:
                    full = prefix + partial
                    table.setdefault(full.replace("[]", "").lower(), full)
    return table


# -- the logsources ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogSourceSpec:
    """One ``product``/``service`` of SigmaHQ's Microsoft rules."""

    product: str
    service: str
    description: str
    produced_by: str  # which tenantwatch feeds produce its events
    class_uids: tuple[int, ...] | None = None
    log_names: tuple[str, ...] | None = None
    log_prefix: str | None = None
    # lower-cased Sigma field name → where its values are ("col:", "raw:", "unmapped:")
    mapping: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    shapes: tuple[str, ...] = ("",)  # where the record's own fields sit: top level, properties.


_SIGNIN_SHAPES = ("", "properties.")
_SIGNINLOGS = LogSourceSpec(
    "azure",
    "signinlogs",
    "Entra ID sign-in logs",
    "graph_signins; Azure Monitor SignInLogs, NonInteractiveUserSignInLogs, "
    "ServicePrincipalSignInLogs, ManagedIdentitySignInLogs (file, Event Hub capture)",
    class_uids=(3002,),
    log_names=("signIns",),
    mapping={
        "resulttype": ("col:status_code",),
        "resultdescription": ("col:status_detail", "raw:resultDescription"),
        "status": ("col:status", "raw:status", "raw:properties.status"),
        "userprincipalname": ("col:user.name",),
        "username": ("col:user.name",),
        "ipaddress": ("col:src_endpoint.ip",),
        "calleripaddress": ("col:src_endpoint.ip",),
        "location": ("col:src_endpoint.location.country",),
        "useragent": ("col:http_request.user_agent",),
        "appdisplayname": ("col:actor.app_name",),
        "appid": ("col:actor.app_uid",),
        "properties.appid": ("col:actor.app_uid",),
        "resourcedisplayname": ("col:service.name",),
        "clientapp": ("raw:clientAppUsed", "raw:properties.clientAppUsed"),
        # older SigmaHQ rules name the sign-in protocol (ROPC, Device Code) ``properties.message``
        "properties.message": ("col:auth_protocol",),
    },
    keys=_key_table(_GRAPH_SIGNIN_KEYS, prefixes=_SIGNIN_SHAPES) | _key_table(_AZURE_MONITOR_KEYS),
    shapes=_SIGNIN_SHAPES,
)
_AUDITLOGS = LogSourceSpec(
    "azure",
    "auditlogs",
    "Entra ID audit logs (directory changes)",
    "graph_directory_audits; Azure Monitor AuditLogs (file, Event Hub capture)",
    log_names=("directoryAudits",),
    mapping={
        # the activity: Graph activityDisplayName, Log Analytics OperationName, and the
        # ``properties.message`` of older SigmaHQ rules
        "properties.message": ("col:metadata.event_code",),
        "operationname": ("col:metadata.event_code",),
        "activitydisplayname": ("col:metadata.event_code",),
        "activitytype": ("col:metadata.event_code",),
        "status": ("col:status", "raw:result", "raw:resultReason"),
        "initiatedby": ("raw:initiatedBy",),
        "initiatied.by": ("raw:initiatedBy",),
        "target": ("raw:targetResources",),
        "failure_status_reason": ("col:status_detail", "raw:resultReason"),
        # a changed property of the consent, by its name
        "consentcontext.isadminconsent": (
            "unmapped:modified_properties.ConsentContext_IsAdminConsent",
        ),
        # additionalDetails is a list of key/value pairs: the values of all of them
        "additionaldetails.additionalinfo": ("raw:additionalDetails[].value",),
    },
    keys=_key_table(_GRAPH_AUDIT_KEYS, prefixes=_SIGNIN_SHAPES) | _key_table(_AZURE_MONITOR_KEYS),
    shapes=_SIGNIN_SHAPES,
)
_RISK = LogSourceSpec(
    "azure",
    "riskdetection",
    "Entra ID Protection risk detections",
    "no tenantwatch source yet (Graph identityProtection/riskDetections)",
    log_names=("riskDetections",),
    keys=_key_table(_GRAPH_RISK_KEYS, prefixes=_SIGNIN_SHAPES) | _key_table(_AZURE_MONITOR_KEYS),
    shapes=_SIGNIN_SHAPES,
)
_PIM = LogSourceSpec(
    "azure",
    "pim",
    "Privileged Identity Management alerts",
    "no tenantwatch source yet (Graph identityGovernance/roleManagementAlerts)",
    log_names=("roleManagementAlerts",),
    keys=_key_table(_GRAPH_RISK_KEYS, prefixes=_SIGNIN_SHAPES) | _key_table(_AZURE_MONITOR_KEYS),
    shapes=_SIGNIN_SHAPES,
)
_ACTIVITY = LogSourceSpec(
    "azure",
    "activitylogs",
    "Azure Activity log (Azure Resource Manager)",
    "no tenantwatch source yet (subscription activity, outside Microsoft 365)",
    log_names=("AzureActivity",),
    mapping={
        "operationname": ("raw:operationName", "raw:operationName.value", "raw:OperationNameValue"),
        "operationnamevalue": (
            "raw:operationName",
            "raw:operationName.value",
            "raw:OperationNameValue",
        ),
        "categoryvalue": ("raw:category", "raw:category.value", "raw:CategoryValue"),
        "resourceprovidervalue": ("raw:resourceProviderName.value", "raw:ResourceProviderValue"),
        "resourceid": ("raw:resourceId", "raw:ResourceId"),
    },
    keys=_key_table(_AZURE_ACTIVITY_KEYS),
)
_UAL_MAPPING: dict[str, tuple[str, ...]] = {
    # the sign-in's request type is a name/value pair of ExtendedProperties
    "requesttype": ("unmapped:RequestType",),
    # SigmaHQ's alert rules name the workload, the alert and its outcome like this
    "eventsource": ("raw:Workload",),
    "eventname": ("raw:Name", "raw:Operation"),
    "status": ("col:status", "raw:ResultStatus", "raw:Status"),
}
_M365_AUDIT = LogSourceSpec(
    "m365",
    "audit",
    "Microsoft 365 unified audit log",
    "o365_management (every content type); Purview audit search exports (file)",
    log_prefix="Audit.",
    mapping=_UAL_MAPPING,
    keys=_key_table(_UAL_KEYS),
)
_M365_EXCHANGE = LogSourceSpec(
    "m365",
    "exchange",
    "Exchange Online audit records",
    "o365_management (Audit.Exchange); Purview audit search exports (file)",
    log_names=("Audit.Exchange",),
    mapping=_UAL_MAPPING,
    keys=_key_table(_UAL_KEYS),
)
_M365_THREAT_MANAGEMENT = LogSourceSpec(
    "m365",
    "threat_management",
    "Microsoft 365 security alerts (SecurityComplianceAlerts records)",
    "o365_management (Audit.General)",
    log_prefix="Audit.",
    mapping=_UAL_MAPPING,
    keys=_key_table(_UAL_KEYS),
)
_M365_THREAT_DETECTION = LogSourceSpec(
    "m365",
    "threat_detection",
    "Microsoft 365 threat detections (SecurityComplianceAlerts records)",
    "o365_management (Audit.General)",
    log_prefix="Audit.",
    mapping=_UAL_MAPPING,
    keys=_key_table(_UAL_KEYS),
)

LOGSOURCES: dict[tuple[str, str], LogSourceSpec] = {
    (s.product, s.service): s
    for s in (
        _SIGNINLOGS,
        _AUDITLOGS,
        _RISK,
        _PIM,
        _ACTIVITY,
        _M365_AUDIT,
        _M365_EXCHANGE,
        _M365_THREAT_MANAGEMENT,
        _M365_THREAT_DETECTION,
    )
}


def _target(name: str, spec: str, shapes: tuple[str, ...], keys: dict[str, str]) -> list[FieldRef]:
    kind, _, path = spec.partition(":")
    if kind == "col":
        return [column_field(name, path)]
    if kind == "unmapped":
        return [FieldRef(name, "unmapped", tuple(path.split(".")))]
    return [raw_field(name, p) for p in _raw_paths(path, shapes, keys)]


def _raw_paths(name: str, shapes: tuple[str, ...], keys: dict[str, str]) -> list[str]:
    """The documented key paths a name may be, in every record shape of the log."""
    bare = name
    for shape in shapes:
        if shape and name.lower().startswith(shape.lower()):
            bare = name[len(shape) :]
    out: list[str] = []
    for shape in shapes:
        candidate = shape + bare
        out.append(keys.get(candidate.replace("[]", "").lower(), candidate))
    return list(dict.fromkeys(out))


def _mapped_resolver(spec: LogSourceSpec) -> Callable[[str], FieldRef]:
    def resolve(name: str) -> FieldRef:
        key = name.lower()
        if key in spec.mapping:
            return any_field(
                name,
                [
                    ref
                    for target in spec.mapping[key]
                    for ref in _target(name, target, spec.shapes, spec.keys)
                ],
            )
        if name.startswith("raw."):
            return raw_field(name, name.removeprefix("raw."))
        if name.startswith("unmapped."):
            return FieldRef(name, "unmapped", tuple(name.removeprefix("unmapped.").split(".")))
        if is_event_path(name):  # an OCSF attribute, used in a rule for this logsource
            return column_field(name, name)
        paths = _raw_paths(name, spec.shapes, spec.keys)
        return any_field(name, [raw_field(name, p) for p in paths])

    return resolve


def _ocsf_resolver(where: str) -> Callable[[str], FieldRef]:
    def resolve(name: str) -> FieldRef:
        if name.startswith("raw."):
            return raw_field(name, name.removeprefix("raw."))
        if name.startswith("unmapped."):
            return FieldRef(name, "unmapped", tuple(name.removeprefix("unmapped.").split(".")))
        if is_event_path(name):
            return column_field(name, name)
        close = difflib.get_close_matches(name, _all_paths(EVENT_SCHEMA), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RuleError(
            f"field {name!r} is not an OCSF event attribute{hint} "
            "(prefix `raw.` to read the original record)",
            path=where,
        )

    return resolve


def _all_paths(schema: pa.Schema) -> list[str]:
    out: list[str] = []

    def walk(prefix: str, arrow_type: pa.DataType) -> None:
        if isinstance(arrow_type, pa.StructType):
            for f in arrow_type:
                walk(f"{prefix}.{f.name}", f.type)
        else:
            out.append(prefix)

    for f in schema:
        walk(f.name, f.type)
    return out


def resolve_logsource(
    product: str | None, category: str | None, service: str | None, *, where: str = ""
) -> LogSource:
    """The logsource of a rule, or a :class:`RuleError` naming what is supported."""
    p, c, s = (product or "").lower(), (category or "").lower(), (service or "").lower()
    if p == "ocsf":
        name = c or s
        if not name:  # every event: the rule's own conditions select
            return LogSource("ocsf", None, _ocsf_resolver(where))
        if name not in OCSF_CATEGORIES:
            known = ", ".join(sorted(OCSF_CATEGORIES))
            raise RuleError(f"logsource ocsf category {name!r} is not one of: {known}", path=where)
        return LogSource(f"ocsf/{name}", (OCSF_CATEGORIES[name],), _ocsf_resolver(where))
    spec = LOGSOURCES.get((p, s))
    if spec is not None and not c:
        return LogSource(
            f"{spec.product}/{spec.service}",
            spec.class_uids,
            _mapped_resolver(spec),
            spec.log_names,
            spec.log_prefix,
        )
    supported = ", ".join(f"{k[0]}/{k[1]}" for k in LOGSOURCES)
    raise RuleError(
        f"logsource product={product} category={category} service={service} is not supported "
        f"(supported: product ocsf with an OCSF class as category; product/service {supported})",
        path=where,
    )
