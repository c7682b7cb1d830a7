"""Entra ID app credentials through msal: client secret or certificate, cached, renewed early.

msal keeps the token cache and renews a token before it expires; :meth:`MsalCredential.token`
is cheap to call before every request. A secret or private key is read once from where the
configuration says (environment variable or file) and never appears in logs or errors.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msal
import requests

from tenantwatch.errors import AuthenticationError, ConfigError
from tenantwatch.sources.cloud import CloudEndpoints

__all__ = ["CertificateCredential", "MsalCredential", "SecretRef"]


@dataclass(frozen=True)
class SecretRef:
    """Where a secret comes from: an environment variable or a file, never inline text."""

    env: str | None = None
    file: Path | None = None
    value: str | None = None  # only for secrets handed over in-process (the demo, tests)

    def read(self) -> str:
        if self.value is not None:
            return self.value
        if self.env:
            found = os.environ.get(self.env)
            if not found:
                raise ConfigError(
                    f"environment variable {self.env} is not set",
                    fix=f"export {self.env}=<secret> before starting tenantwatch",
                )
            return found.strip()
        if self.file:
            try:
                return self.file.read_text().strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read secret file {self.file}: {exc.strerror}",
                    fix="check the path and that tenantwatch may read it",
                ) from None
        raise ConfigError("no secret source given", fix="set `env:` or `file:`")

    def __repr__(self) -> str:
        where = self.env or (str(self.file) if self.file else "<in-process>")
        return f"SecretRef({where})"


@dataclass(frozen=True)
class CertificateCredential:
    """A certificate registered on the app: PEM private key plus its SHA-1 thumbprint."""

    private_key: SecretRef
    thumbprint: str
    public_certificate: str | None = None


class MsalCredential:
    """Client-credentials tokens for one app in one tenant."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        cloud: CloudEndpoints,
        secret: SecretRef | None = None,
        certificate: CertificateCredential | None = None,
        ca_file: Path | None = None,
    ) -> None:
        if (secret is None) == (certificate is None):
            raise ConfigError(
                f"tenant {tenant_id}: give exactly one of client_secret or certificate",
                fix="set `client_secret:` (env/file) or `certificate:` (key file + thumbprint)",
            )
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.cloud = cloud
        self._session = session = requests.Session()
        if ca_file is not None:
            # These machines may set REQUESTS_CA_BUNDLE, which would override `verify`.
            session.trust_env = False
            session.verify = str(ca_file)
        credential: Any
        if secret is not None:
            credential = secret.read()
        else:
            assert certificate is not None
            credential = {
                "private_key": certificate.private_key.read(),
                "thumbprint": certificate.thumbprint,
            }
            if certificate.public_certificate:
                credential["public_certificate"] = certificate.public_certificate
        self._app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=credential,
            authority=f"{cloud.login}/{tenant_id}",
            instance_discovery=cloud.is_microsoft,
            http_client=session,
            token_cache=msal.TokenCache(),
        )
        self._lock = threading.Lock()

    def token(self, resource: str) -> str:
        """A valid access token for ``resource`` (e.g. ``https://graph.microsoft.com``)."""
        with self._lock:
            try:
                result = self._app.acquire_token_for_client(scopes=[f"{resource}/.default"])
            except (requests.RequestException, ValueError) as exc:
                raise AuthenticationError(
                    f"cannot reach the token endpoint {self.cloud.login}: {type(exc).__name__}",
                    tenant=self.tenant_id,
                ) from None
        if "access_token" not in result:
            codes = result.get("error_codes") or []
            code = f"AADSTS{codes[0]}" if codes else result.get("error", "error")
            description = str(result.get("error_description", "")).split("\r\n", 1)[0]
            raise AuthenticationError(
                f"token request for client {self.client_id} refused: {code} "
                f"{description.removeprefix(f'{code}: ')}",
                tenant=self.tenant_id,
            )
        return str(result["access_token"])

    def close(self) -> None:
        """Close the HTTP connections to the token endpoint."""
        self._session.close()

    def invalidate(self) -> None:
        """Forget cached tokens (after the API said ours is no longer valid)."""
        with self._lock:
            self._app.remove_tokens_for_client()
