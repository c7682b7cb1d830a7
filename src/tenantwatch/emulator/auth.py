"""The identity side of the emulator: app registrations, the OAuth2 v2.0 token endpoint's
client-credentials grant (secret or certificate), and validation of the tokens it issues.

Failures answer as Entra does (``error``, ``error_description`` starting ``AADSTSnnnn:``,
``error_codes``, trace and correlation ids), so a collector's error handling is exercised by
the real messages.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import Certificate, load_pem_x509_certificate

__all__ = ["AppRegistration", "AuthError", "IdentityProvider", "TokenClaims"]

GRAPH_RESOURCE = "https://graph.microsoft.com"
MANAGE_RESOURCE = "https://manage.office.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class AppRegistration:
    """An app registration allowed to call the emulator, with its application permissions."""

    client_id: str
    tenant_id: str
    display_name: str = "tenantwatch collector"
    secret: str | None = None
    certificate_pem: bytes | None = None
    roles: dict[str, list[str]] = field(default_factory=dict)
    sp_object_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def certificate(self) -> Certificate | None:
        if self.certificate_pem is None:
            return None
        return load_pem_x509_certificate(self.certificate_pem)

    @property
    def thumbprint_b64(self) -> str | None:
        """The certificate's SHA-1 thumbprint as msal puts it in the assertion's ``x5t``."""
        cert = self.certificate
        if cert is None:
            return None
        digest = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).digest()  # noqa: S324
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class AuthError(Exception):
    """An Entra-style OAuth error: HTTP status plus the JSON body Entra would send."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        self.status = status
        self.body: dict[str, Any] = {
            "error": error,
            "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
            f"Correlation ID: {corr}\r\nTimestamp: {now}",
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        }
        super().__init__(self.body["error_description"])


@dataclass(frozen=True)
class TokenClaims:
    """What a resource API learns from a valid bearer token."""

    tenant_id: str
    app_id: str
    audience: str
    roles: tuple[str, ...]


class IdentityProvider:
    """Issues and validates RS256 access tokens for the emulated tenants.

    Token lifetimes run on wall-clock time, as msal's cache does, whatever the simulation speed.
    """

    def __init__(self, *, token_lifetime_secs: int = 3599) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self.token_lifetime_secs = token_lifetime_secs
        self.tenants: dict[str, set[str]] = {}  # tenant id -> accepted names (GUID, domains)
        self.apps: dict[str, AppRegistration] = {}
        self.generation = 0  # tokens of an older generation are rejected (see revoke_all)

    def add_tenant(self, tenant_id: str, *domains: str) -> None:
        self.tenants[tenant_id] = {tenant_id.lower(), *(d.lower() for d in domains)}

    def add_app(self, app: AppRegistration) -> None:
        self.apps[app.client_id] = app

    def resolve_tenant(self, name: str) -> str | None:
        for tenant_id, names in self.tenants.items():
            if name.lower() in names:
                return tenant_id
        return None

    def issue(self, tenant_name: str, form: dict[str, str], token_endpoint: str) -> dict[str, Any]:
        """Handle a ``POST /{tenant}/oauth2/v2.0/token`` form; raise :class:`AuthError` as Entra."""
        tenant_id = self.resolve_tenant(tenant_name)
        if tenant_id is None:
            raise AuthError(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant_name}' not found. Check to make sure you have the correct "
                "tenant ID and are signing into the correct cloud.",
            )
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            raise AuthError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        client_id = form.get("client_id", "")
        app = self.apps.get(client_id)
        if app is None or app.tenant_id != tenant_id:
            raise AuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant_name}'. This can happen if the application has not been installed "
                "by the administrator of the tenant or consented to by any user in the tenant.",
            )
        self._authenticate_client(app, form, token_endpoint)
        scope = form.get("scope", "")
        resource = scope.removesuffix("/.default")
        if not scope.endswith("/.default") or " " in scope.strip():
            raise AuthError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        if resource not in (GRAPH_RESOURCE, MANAGE_RESOURCE):
            raise AuthError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{tenant_name}.",
            )
        now = int(time.time())
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.token_lifetime_secs,
            "appid": app.client_id,
            "app_displayname": app.display_name,
            "idtyp": "app",
            "oid": app.sp_object_id,
            "sub": app.sp_object_id,
            "tid": tenant_id,
            "roles": app.roles.get(resource, []),
            "ver": "1.0",
            "uti": secrets.token_urlsafe(16),
            "xms_gen": self.generation,
        }
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})
        return {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime_secs,
            "ext_expires_in": self.token_lifetime_secs,
            "access_token": token,
        }

    def _authenticate_client(
        self, app: AppRegistration, form: dict[str, str], token_endpoint: str
    ) -> None:
        if "client_secret" in form:
            if app.secret is None or not secrets.compare_digest(form["client_secret"], app.secret):
                raise AuthError(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request "
                    "is the client secret value, not the client secret ID, for a secret added to "
                    f"app '{app.client_id}'.",
                )
            return
        if form.get("client_assertion_type") == ASSERTION_TYPE and "client_assertion" in form:
            self._verify_assertion(app, form["client_assertion"], token_endpoint)
            return
        raise AuthError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )

    def _verify_assertion(self, app: AppRegistration, assertion: str, token_endpoint: str) -> None:
        cert = app.certificate
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            raise AuthError(
                401, "invalid_client", 50027, f"JWT token is invalid or malformed. {exc}"
            ) from exc
        x5t = header.get("x5t") or header.get("x5t#S256")
        if cert is None or x5t is None or not _thumbprint_matches(app, cert, header):
            raise AuthError(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not "
                f"registered on application. [Reason - The key was not found., Thumbprint of key "
                f"used by client: '{x5t}']",
            )
        try:
            claims = jwt.decode(
                assertion,
                cert.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=token_endpoint,
                options={"require": ["exp", "aud", "iss", "sub"]},
                leeway=300,
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError(
                401,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError(
                401,
                "invalid_client",
                700016,
                f"Client assertion audience claim does not match the token endpoint "
                f"'{token_endpoint}'.",
            ) from exc
        except jwt.PyJWTError as exc:
            raise AuthError(
                401,
                "invalid_client",
                700027,
                f"Client assertion failed signature validation. {exc}",
            ) from exc
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            raise AuthError(
                401,
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
            )

    def validate(self, authorization: str | None, audience: str) -> TokenClaims:
        """Check a resource request's bearer token; raise ``ValueError(code, message)``."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ValueError("InvalidAuthenticationToken", "Access token is empty.")
        token = authorization.split(" ", 1)[1].strip()
        try:
            claims = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=audience,
                options={"require": ["exp", "tid", "appid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ValueError(
                "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise ValueError("InvalidAuthenticationToken", "Invalid audience.") from exc
        except jwt.PyJWTError as exc:
            raise ValueError(
                "InvalidAuthenticationToken", "Access token validation failure. Invalid signature."
            ) from exc
        if claims.get("xms_gen", 0) < self.generation:
            raise ValueError(
                "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
            )
        return TokenClaims(
            tenant_id=str(claims["tid"]),
            app_id=str(claims["appid"]),
            audience=audience,
            roles=tuple(claims.get("roles", [])),
        )

    def revoke_all(self) -> None:
        """Expire every token issued so far (a fault: token expiry in the middle of a run)."""
        self.generation += 1


def _thumbprint_matches(app: AppRegistration, cert: Certificate, header: dict[str, Any]) -> bool:
    """Whether the assertion's ``x5t`` (SHA-1) or ``x5t#S256`` names ``cert``. Clients encode
    it as base64 or base64url, with or without padding; compare the bytes."""
    der = cert.public_bytes(serialization.Encoding.DER)
    if "x5t#S256" in header:
        return _b64_bytes(str(header["x5t#S256"])) == hashlib.sha256(der).digest()
    return _b64_bytes(str(header.get("x5t", ""))) == hashlib.sha1(der).digest()  # noqa: S324


def _b64_bytes(text: str) -> bytes:
    padded = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded)
    except ValueError:
        return b""
