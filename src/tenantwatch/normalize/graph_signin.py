"""Graph ``signIn`` resources (v1.0 and beta) to OCSF Authentication (3002).

Field reference: learn.microsoft.com/graph/api/resources/signin. Outcome comes from
``status.errorCode`` (0 = success, else the AADSTS code), MFA from ``authenticationRequirement``,
the protocol from ``clientAppUsed`` and ``authenticationProtocol`` (see :mod:`.derive`).
Service-principal and managed-identity sign-ins name the app as the user (type "Service
Principal"), so one ``user.name`` column identifies who signed in, whatever kind they are.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pyarrow as pa

from tenantwatch.model.batch import RecordShape
from tenantwatch.normalize.columns import obj, parse_time
from tenantwatch.normalize.derive import (
    auth_protocol_id,
    auth_protocol_label,
    blank_to_null,
    logon_type,
    parse_ip,
)

__all__ = ["SIGNIN_FIELDS", "SIGNIN_SCHEMA", "GraphSignInMapper", "signin_columns"]

S = pa.string()
SIGNIN_FIELDS: list[tuple[str, pa.DataType]] = [
    ("id", S),
    ("createdDateTime", S),
    ("userDisplayName", S),
    ("userPrincipalName", S),
    ("userId", S),
    ("userType", S),
    ("appId", S),
    ("appDisplayName", S),
    ("ipAddress", S),
    ("clientAppUsed", S),
    ("userAgent", S),
    ("correlationId", S),
    ("conditionalAccessStatus", S),
    ("isInteractive", pa.bool_()),
    ("resourceDisplayName", S),
    ("resourceId", S),
    ("authenticationRequirement", S),
    ("authenticationProtocol", S),
    ("signInEventTypes", pa.list_(S)),
    ("servicePrincipalId", S),
    ("servicePrincipalName", S),
    ("clientCredentialType", S),
    ("servicePrincipalCredentialKeyId", S),
    ("uniqueTokenIdentifier", S),
    ("autonomousSystemNumber", pa.int64()),
    ("riskLevelDuringSignIn", S),
    ("riskState", S),
    ("crossTenantAccessType", S),
    ("homeTenantId", S),
    (
        "status",
        pa.struct([("errorCode", pa.int64()), ("failureReason", S), ("additionalDetails", S)]),
    ),
    # beta: how the user proved who they are (the access policy's phishing-resistant check)
    ("mfaDetail", pa.struct([("authMethod", S), ("authDetail", S)])),
    ("authenticationMethodsUsed", pa.list_(S)),
    (
        "authenticationDetails",
        pa.list_(pa.struct([("authenticationMethod", S), ("succeeded", pa.bool_())])),
    ),
    (
        "deviceDetail",
        pa.struct(
            [
                ("deviceId", S),
                ("displayName", S),
                ("operatingSystem", S),
                ("browser", S),
                ("isCompliant", pa.bool_()),
                ("isManaged", pa.bool_()),
                ("trustType", S),
            ]
        ),
    ),
    (
        "location",
        pa.struct(
            [
                ("city", S),
                ("state", S),
                ("countryOrRegion", S),
                (
                    "geoCoordinates",
                    pa.struct([("latitude", pa.float64()), ("longitude", pa.float64())]),
                ),
            ]
        ),
    ),
]
SIGNIN_SCHEMA = pa.schema(SIGNIN_FIELDS)

UNMAPPED = (
    "authenticationRequirement",
    "authenticationProtocol",
    "clientAppUsed",
    "conditionalAccessStatus",
    "isInteractive",
    "userType",
    "clientCredentialType",
    "servicePrincipalCredentialKeyId",
    "riskLevelDuringSignIn",
    "riskState",
    "crossTenantAccessType",
    "homeTenantId",
)


class GraphSignInMapper:
    """Maps a frame of Graph ``signIn`` records to OCSF Authentication rows."""

    shape = RecordShape.GRAPH_SIGNIN
    schema = SIGNIN_SCHEMA
    id_field = "id"

    def map(self, raw: pl.DataFrame) -> pl.DataFrame:
        columns = signin_columns(pl.col, feature="Sign-in logs (Graph)")
        return raw.select(pl.col("_row"), pl.col("raw_data"), **columns)


# steps of authenticationDetails that name no method of this sign-in: the password, an earlier
# sign-in's claim (non-interactive and SSO sign-ins), and FIDO2's trailing "Other" step
_NOT_A_METHOD = ["Password", "Previously satisfied", "Other"]


def _mfa_method(c: Callable[[str], pl.Expr]) -> pl.Expr:
    """The second factor: ``mfaDetail.authMethod``, else the last succeeded step of
    ``authenticationDetails`` that names a method, else of ``authenticationMethodsUsed``."""
    details = (
        c("authenticationDetails")
        .list.eval(
            pl.element()
            .filter(
                pl.element().struct.field("succeeded").fill_null(True)
                & ~pl.element().struct.field("authenticationMethod").is_in(_NOT_A_METHOD)
            )
            .struct.field("authenticationMethod")
        )
        .list.last()
    )
    used = (
        c("authenticationMethodsUsed")
        .list.eval(pl.element().filter(~pl.element().is_in(_NOT_A_METHOD)))
        .list.last()
    )
    return pl.coalesce(c("mfaDetail").struct.field("authMethod"), details, used)


def signin_columns(
    c: Callable[[str], pl.Expr], *, feature: str, event_type: pl.Expr | None = None
) -> dict[str, pl.Expr]:
    """OCSF columns from signIn fields read through ``c`` (top level, or ``properties``).

    ``event_type`` is the sign-in event type where the record itself may not say
    (Azure Monitor's category tells it)."""
    status = c("status")
    code = status.struct.field("errorCode")
    device = c("deviceDetail")
    loc = c("location")
    event_type = pl.coalesce(
        c("signInEventTypes").list.first(),
        event_type if event_type is not None else pl.lit(None, dtype=pl.String),
        pl.lit("interactiveUser"),
    )
    is_app = event_type.is_in(["servicePrincipal", "managedIdentity"])
    protocol = auth_protocol_label(c("clientAppUsed"), c("authenticationProtocol"))
    logon_type_id, logon_type_name = logon_type(event_type)
    user_type_id = (
        pl.when(is_app)
        .then(99)
        .when(c("userType").str.to_lowercase() == "guest")
        .then(99)
        .otherwise(1)
    )
    user_type = (
        pl.when(event_type == "servicePrincipal")
        .then(pl.lit("Service Principal"))
        .when(event_type == "managedIdentity")
        .then(pl.lit("Managed Identity"))
        .when(c("userType").str.to_lowercase() == "guest")
        .then(pl.lit("Guest"))
        .otherwise(pl.lit("User"))
    )
    succeeded = code == 0
    ip, port = parse_ip(c("ipAddress"))
    return {
        "time": parse_time(c("createdDateTime")),
        "class_uid": pl.lit(3002),
        "activity_id": pl.lit(1),
        "status_id": pl.when(code.is_null()).then(0).when(succeeded).then(1).otherwise(2),
        "status": pl.when(code.is_null())
        .then(pl.lit("Unknown"))
        .when(succeeded)
        .then(pl.lit("Success"))
        .otherwise(pl.lit("Failure")),
        "status_code": code.cast(pl.String),
        "status_detail": pl.when(succeeded)
        .then(None)
        .otherwise(status.struct.field("failureReason")),
        "message": pl.format(
            "Sign-in {} {} to {}",
            pl.when(succeeded).then(pl.lit("by")).otherwise(pl.lit("failed for")),
            pl.coalesce(c("userPrincipalName"), c("servicePrincipalName"), c("appId")),
            pl.coalesce(c("resourceDisplayName"), c("appDisplayName"), pl.lit("?")),
        ),
        "metadata": obj(
            "metadata",
            uid=c("id"),
            original_time=c("createdDateTime"),
            correlation_uid=c("correlationId"),
            event_code=event_type,
            log_name=pl.lit("signIns"),
            product={
                "name": pl.lit("Microsoft Entra ID"),
                "vendor_name": pl.lit("Microsoft"),
                "feature": {"name": pl.lit(feature)},
            },
        ),
        "user": obj(
            "user",
            uid=pl.when(is_app).then(c("servicePrincipalId")).otherwise(c("userId")),
            name=pl.when(is_app)
            .then(pl.coalesce(c("servicePrincipalName"), c("appDisplayName")))
            .otherwise(c("userPrincipalName").str.to_lowercase()),
            full_name=c("userDisplayName"),
            type_id=user_type_id,
            type=user_type,
            org={"uid": c("homeTenantId")},
        ),
        "actor": obj(
            "actor",
            # Azure Monitor's app sign-ins have no appDisplayName: the service principal's name
            app_name=pl.coalesce(c("appDisplayName"), c("servicePrincipalName")),
            app_uid=c("appId"),
        ),
        "src_endpoint": obj(
            "src_endpoint",
            ip=ip,
            port=port,
            location={
                "city": loc.struct.field("city"),
                "region": loc.struct.field("state"),
                "country": loc.struct.field("countryOrRegion"),
                "lat": loc.struct.field("geoCoordinates").struct.field("latitude"),
                "long": loc.struct.field("geoCoordinates").struct.field("longitude"),
            },
            autonomous_system={"number": c("autonomousSystemNumber")},
        ),
        "http_request": obj("http_request", user_agent=blank_to_null(c("userAgent"))),
        "service": obj("service", name=c("resourceDisplayName"), uid=c("resourceId")),
        "session": obj(
            "session",
            uid=blank_to_null(c("uniqueTokenIdentifier")),
            is_mfa=c("authenticationRequirement") == "multiFactorAuthentication",
        ),
        "device": obj(
            "device",
            uid=blank_to_null(device.struct.field("deviceId")),
            name=blank_to_null(device.struct.field("displayName")),
            os={"name": blank_to_null(device.struct.field("operatingSystem"))},
            is_compliant=device.struct.field("isCompliant"),
            is_managed=device.struct.field("isManaged"),
            is_trusted=blank_to_null(device.struct.field("trustType")).is_not_null(),
        ),
        "is_mfa": c("authenticationRequirement") == "multiFactorAuthentication",
        "auth_protocol": protocol,
        "auth_protocol_id": auth_protocol_id(protocol),
        "logon_type_id": logon_type_id,
        "logon_type": logon_type_name,
        "unmapped": pl.struct(
            [c(name).alias(name) for name in UNMAPPED] + [_mfa_method(c).alias("mfaMethod")]
        ).struct.json_encode(),
    }
