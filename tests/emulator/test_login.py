"""The emulator's Entra ID token endpoint answers msal as Entra does."""

from __future__ import annotations

import msal
import pytest
import requests

from tenantwatch.emulator.auth import GRAPH_RESOURCE
from tenantwatch.errors import AuthenticationError
from tests.conftest import CLIENT_ID, CLIENT_SECRET, Emulated


def _app(
    emulated: Emulated,
    *,
    tenant: str | None = None,
    secret: str = CLIENT_SECRET,
    client_id: str = CLIENT_ID,
) -> msal.ConfidentialClientApplication:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emulated.ca_file)
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority=f"{emulated.server.base_url}/{tenant or emulated.tenant_id}",
        instance_discovery=False,
        http_client=session,
    )


def test_client_secret_grant_returns_a_bearer_token(emulated: Emulated) -> None:
    result = _app(emulated).acquire_token_for_client([f"{GRAPH_RESOURCE}/.default"])
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599
    assert result["access_token"].count(".") == 2


def test_domain_name_works_as_tenant(emulated: Emulated) -> None:
    app = _app(emulated, tenant=emulated.tenant.directory.domain)
    assert "access_token" in app.acquire_token_for_client([f"{GRAPH_RESOURCE}/.default"])


def test_wrong_secret_is_invalid_client_7000215(emulated: Emulated) -> None:
    result = _app(emulated, secret="wrong").acquire_token_for_client([f"{GRAPH_RESOURCE}/.default"])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")


def test_unknown_client_is_unauthorized_client_700016(emulated: Emulated) -> None:
    app = _app(emulated, client_id="00000000-0000-0000-0000-00000000dead")
    result = app.acquire_token_for_client([f"{GRAPH_RESOURCE}/.default"])
    assert result["error"] == "unauthorized_client"
    assert result["error_codes"] == [700016]


def test_unknown_tenant_fails_discovery(emulated: Emulated) -> None:
    with pytest.raises(ValueError, match="Unable to get authority configuration") as caught:
        _app(emulated, tenant="11111111-2222-3333-4444-555555555555")
    assert "AADSTS90002" in str(caught.value.__cause__ or caught.value.__context__)


def test_scope_without_default_suffix_is_invalid_scope(emulated: Emulated) -> None:
    result = _app(emulated).acquire_token_for_client([f"{GRAPH_RESOURCE}/AuditLog.Read.All"])
    assert result["error"] == "invalid_scope"
    assert result["error_codes"] == [1002012]


def test_credential_error_names_the_code_but_not_the_secret(emulated: Emulated) -> None:
    credential = emulated.credential(secret="a-secret-that-must-not-leak")
    with pytest.raises(AuthenticationError) as caught:
        credential.token(GRAPH_RESOURCE)
    assert "AADSTS7000215" in str(caught.value)
    assert "a-secret-that-must-not-leak" not in str(caught.value)


def test_certificate_credential_signs_a_verified_assertion(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """msal builds a JWT client assertion from a certificate; the emulator verifies its signature."""
    from tenantwatch.cli.emulator import EmulatorOptions, build_emulator
    from tenantwatch.sources.cloud import CLOUDS
    from tenantwatch.sources.credential import CertificateCredential, MsalCredential, SecretRef

    emu = build_emulator(EmulatorOptions(state_dir=tmp_path, users=5))
    emu.server.start()
    try:
        cloud = CLOUDS["commercial"].with_base(emu.server.base_url)

        def credential(thumbprint: str) -> MsalCredential:
            return MsalCredential(
                tenant_id=emu.tenant.tenant_id,
                client_id=emu.client_id,
                cloud=cloud,
                certificate=CertificateCredential(SecretRef(file=emu.key_file), thumbprint),
                ca_file=emu.server.tls.ca_file,
            )

        assert credential(emu.thumbprint).token(GRAPH_RESOURCE).count(".") == 2
        with pytest.raises(AuthenticationError, match="AADSTS700027"):
            credential("00" * 20).token(GRAPH_RESOURCE)
    finally:
        emu.server.stop()
        emu.hubs.stop()
