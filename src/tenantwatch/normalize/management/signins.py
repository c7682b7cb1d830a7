"""Entra ID sign-ins in the Activity API (RecordType 15, and the deprecated 9)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from tenantwatch.normalize.columns import obj
from tenantwatch.normalize.derive import blank_to_null, name_value, ual_user_type
from tenantwatch.normalize.management.common import common, endpoint

__all__ = ["sts_logon"]


def sts_logon(c: Callable[[str], pl.Expr]) -> dict[str, pl.Expr]:
    code = pl.coalesce(
        blank_to_null(c("ErrorNumber")),
        blank_to_null(c("ErrorCode")),
        c("LoginStatus").cast(pl.String),
        pl.when(c("Operation") == "UserLoggedIn").then(pl.lit("0")),
    )
    failed = (code != "0") | (c("Operation") == "UserLoginFailed") | c("LogonError").is_not_null()
    request_type = name_value(c("ExtendedProperties"), "RequestType").str.to_lowercase()
    agent = name_value(c("ExtendedProperties"), "UserAgent")
    protocol = (
        pl.when(agent == "BAV2ROPC")
        .then(pl.lit("ROPC"))
        .when(request_type.str.starts_with("oauth2") | request_type.str.starts_with("sas:"))
        .then(pl.lit("OAuth 2.0"))
        .when(request_type.str.starts_with("saml"))
        .then(pl.lit("SAML"))
        .when(request_type.str.starts_with("wsfederation"))
        .then(pl.lit("WS-Federation"))
        .when(request_type.str.starts_with("login"))
        .then(pl.lit("OAuth 2.0"))
        .otherwise(pl.lit("Unknown"))
    )
    return {
        **common(c, "Entra ID sign-ins (Activity API)"),
        "class_uid": pl.lit(3002),
        "activity_id": pl.lit(1),
        "status_id": pl.when(failed).then(2).otherwise(1),
        "status": pl.when(failed).then(pl.lit("Failure")).otherwise(pl.lit("Success")),
        "status_code": code,
        "status_detail": blank_to_null(c("LogonError")),
        "message": pl.format(
            "Sign-in {} {}",
            pl.when(failed).then(pl.lit("failed for")).otherwise(pl.lit("by")),
            c("UserId").str.to_lowercase(),
        ),
        "user": obj(
            "user",
            name=c("UserId").str.to_lowercase(),
            uid=c("UserKey"),
            type_id=ual_user_type(c("UserType"), c("UserId"))[0],
            type=ual_user_type(c("UserType"), c("UserId"))[1],
        ),
        "actor": obj("actor", app_uid=c("ApplicationId")),
        "src_endpoint": endpoint(pl.coalesce(c("ActorIpAddress"), c("ClientIP")), False),
        "http_request": obj(
            "http_request",
            user_agent=blank_to_null(name_value(c("ExtendedProperties"), "UserAgent")),
        ),
        "service": obj("service", uid=pl.when(c("ObjectId") != "Unknown").then(c("ObjectId"))),
        "session": obj("session", uid=name_value(c("DeviceProperties"), "SessionId")),
        "device": obj(
            "device",
            os={"name": name_value(c("DeviceProperties"), "OS")},
            is_compliant=name_value(c("DeviceProperties"), "IsCompliant").str.to_lowercase()
            == "true",
            is_managed=name_value(c("DeviceProperties"), "IsCompliantAndManaged").str.to_lowercase()
            == "true",
        ),
        "auth_protocol": protocol,
        "auth_protocol_id": pl.when(protocol == "OAuth 2.0")
        .then(6)
        .when(protocol == "SAML")
        .then(5)
        .when(protocol == "Unknown")
        .then(0)
        .otherwise(99),
        "logon_type_id": pl.lit(2),
        "logon_type": pl.lit("Interactive"),
        # The record has no documented MFA flag; the strong-authentication step (SAS:...) is MFA.
        # Anything else is unknown, not "no MFA".
        "is_mfa": pl.when(request_type.str.starts_with("sas:")).then(pl.lit(True)),
        "metadata": common(c, "Entra ID sign-ins (Activity API)")["metadata"].struct.with_fields(
            correlation_uid=c("InterSystemsId")
        ),
        "unmapped": pl.struct(
            ResultStatus=c("ResultStatus"),
            RequestType=name_value(c("ExtendedProperties"), "RequestType"),
            ResultStatusDetail=name_value(c("ExtendedProperties"), "ResultStatusDetail"),
            UserAuthenticationMethod=name_value(
                c("ExtendedProperties"), "UserAuthenticationMethod"
            ),
            BrowserType=name_value(c("DeviceProperties"), "BrowserType"),
            IntraSystemId=c("IntraSystemId"),
        ).struct.json_encode(),
    }
