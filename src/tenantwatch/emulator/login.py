"""Entra ID (login.microsoftonline.com) endpoints: OpenID discovery and the v2.0 token endpoint."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tenantwatch.emulator.auth import AuthError
from tenantwatch.emulator.state import EmulatorState

__all__ = ["login_router"]


def login_router(state: EmulatorState) -> APIRouter:
    """Routes mounted at the login base URL (the emulator's root)."""
    router = APIRouter()

    @router.get("/{tenant}/v2.0/.well-known/openid-configuration")
    def openid_configuration(tenant: str) -> Response:
        tenant_id = state.idp.resolve_tenant(tenant)
        if tenant_id is None:
            err = AuthError(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
            return state.json_response(err.body, err.status)
        base = f"{state.base_url}/{tenant_id}"
        return state.json_response(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{state.base_url}/{tenant_id}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{state.base_url}/{tenant_id}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid"],
                "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com",
            }
        )

    @router.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", errors="replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        endpoint = f"{state.base_url}/{tenant}/oauth2/v2.0/token"
        try:
            answer = state.idp.issue(tenant, form, endpoint)
        except AuthError as err:
            return state.json_response(err.body, err.status)
        return state.json_response(answer)

    return router
