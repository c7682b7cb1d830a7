"""The access policy: which sign-ins the customer allows, as a YAML file.

The default (``default_policy.yml`` beside this module, printed by ``tenantwatch access
policy``) follows CISA's SCuBA Microsoft Entra ID baseline: MFA on every interactive user
sign-in (MS.AAD.3.2), phishing-resistant MFA for privileged users (MS.AAD.3.6, 3.1), no legacy
authentication (MS.AAD.1.1), no device code flow or ROPC unless allowed, workload identities
only from allowed networks and with certificate or federated credentials, high-privilege
application permissions only for allowlisted apps (MS.AAD.5.x), guests only to allowed apps.

A policy file with a mistake is refused with the file, the line and what to change.
"""

from __future__ import annotations

import ipaddress
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tenantwatch.config.loader import validate_yaml
from tenantwatch.errors import ConfigError

__all__ = [
    "RULE_IDS",
    "AccessPolicy",
    "default_policy",
    "default_policy_text",
    "load_policy",
]

REFERENCE = "tenantwatch access policy"  # prints the default, every option commented
Severity = Annotated[str, Field(pattern=r"^(informational|low|medium|high|critical)$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class _Rule(_Strict):
    enabled: bool = True
    severity: Severity = "high"
    except_users: tuple[str, ...] = ()  # UPNs this rule does not apply to
    except_apps: tuple[str, ...] = ()  # app ids or display names this rule does not apply to

    @field_validator("except_users", "except_apps")
    @classmethod
    def _lower(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in values)


class MfaRequired(_Rule):
    """MS.AAD.3.2: every successful interactive user sign-in shows MFA."""


class AdminPhishingResistant(_Rule):
    """MS.AAD.3.6: privileged users sign in with a phishing-resistant method."""

    severity: Severity = "critical"
    methods: tuple[str, ...] = (
        "FIDO2 security key",
        "Passkey (device-bound)",
        "Passkey (Microsoft Authenticator)",
        "Windows Hello for Business",
        "Certificate-based authentication",
        "X.509 Certificate",
    )


class NoLegacyAuth(_Rule):
    """MS.AAD.1.1: no IMAP, POP, SMTP AUTH, ActiveSync, EWS or MAPI with basic auth."""


class NoDeviceCode(_Rule):
    """The device code flow (phished by Storm-2372 and others) only for allowed users/apps."""


class NoRopc(_Rule):
    """The resource owner password credentials grant (no MFA possible) only where allowed."""


class ServicePrincipalNetworks(_Rule):
    """Workload identities sign in only from ``allowed_networks`` (empty: not checked)."""

    allowed_networks: tuple[str, ...] = ()

    @field_validator("allowed_networks")
    @classmethod
    def _cidrs(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not a network; write it as 203.0.113.0/24 or 2001:db8::/32"
                ) from None
        return values


class ServicePrincipalCredentials(_Rule):
    """Workload identities authenticate with certificates, federated or managed identity
    credentials, not client secrets (MS.AAD.5.x hygiene; Midnight Blizzard added secrets)."""

    severity: Severity = "medium"
    allowed_types: tuple[str, ...] = (
        "certificate",
        "clientAssertion",
        "federatedIdentityCredential",
        "managedIdentity",
    )


class HighPrivilegeApps(_Rule):
    """Apps holding high-privilege permissions only when allowlisted (``except_apps``)."""

    severity: Severity = "critical"
    permissions: tuple[str, ...] = (
        "full_access_as_app",
        "Mail.Read",
        "Mail.ReadWrite",
        "Mail.ReadBasic.All",
        "Mail.Send",
        "EWS.AccessAsUser.All",
        "MailboxSettings.ReadWrite",
        "Files.ReadWrite.All",
        "Sites.FullControl.All",
        "Directory.ReadWrite.All",
        "RoleManagement.ReadWrite.Directory",
        "AppRoleAssignment.ReadWrite.All",
        "Application.ReadWrite.All",
        "User.ReadWrite.All",
    )

    @field_validator("permissions")
    @classmethod
    def _lower_permissions(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in values)


class GuestAllowedApps(_Rule):
    """Guests sign in only to ``allowed_apps`` (app ids or display names)."""

    severity: Severity = "medium"
    allowed_apps: tuple[str, ...] = (
        "Microsoft Teams",
        "Office 365 SharePoint Online",
        "OfficeHome",
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264",  # Microsoft Teams
        "00000003-0000-0ff1-ce00-000000000000",  # SharePoint Online
    )

    @field_validator("allowed_apps")
    @classmethod
    def _lower_apps(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in values)


class Rules(_Strict):
    mfa_required: MfaRequired = MfaRequired()
    admin_phishing_resistant_mfa: AdminPhishingResistant = AdminPhishingResistant()
    no_legacy_auth: NoLegacyAuth = NoLegacyAuth()
    no_device_code: NoDeviceCode = NoDeviceCode()
    no_ropc: NoRopc = NoRopc()
    service_principal_networks: ServicePrincipalNetworks = ServicePrincipalNetworks()
    service_principal_credentials: ServicePrincipalCredentials = ServicePrincipalCredentials()
    high_privilege_apps: HighPrivilegeApps = HighPrivilegeApps()
    guest_allowed_apps: GuestAllowedApps = GuestAllowedApps()


RULE_IDS: tuple[str, ...] = tuple(Rules.model_fields)

PRIVILEGED_ROLES = (
    "Global Administrator",
    "Privileged Role Administrator",
    "Privileged Authentication Administrator",
    "Security Administrator",
    "Exchange Administrator",
    "SharePoint Administrator",
    "User Administrator",
    "Application Administrator",
    "Cloud Application Administrator",
    "Conditional Access Administrator",
    "Hybrid Identity Administrator",
    "Authentication Administrator",
    "Billing Administrator",
    "Helpdesk Administrator",
)


class AccessPolicy(_Strict):
    """A whole policy file."""

    version: int = Field(1, ge=1, le=1)
    # emergency access accounts: excluded from every user rule (SCuBA MS.AAD.7.x keeps 2)
    break_glass: tuple[str, ...] = ()
    # privileged users named here, in addition to members of privileged_roles seen in the
    # directory audit (role assignments)
    admins: tuple[str, ...] = ()
    privileged_roles: tuple[str, ...] = PRIVILEGED_ROLES
    rules: Rules = Rules()

    @field_validator("break_glass", "admins")
    @classmethod
    def _lower_users(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in values)


def default_policy_text() -> str:
    return resources.files("tenantwatch.access").joinpath("default_policy.yml").read_text()


def default_policy() -> AccessPolicy:
    return validate_yaml(
        default_policy_text(), "default_policy.yml", AccessPolicy, reference=REFERENCE
    )


def load_policy(path: Path | None) -> AccessPolicy:
    """The policy in ``path`` (the default when None); mistakes raise ``ConfigErrors``."""
    if path is None:
        return default_policy()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None
    return validate_yaml(text, str(path), AccessPolicy, reference=REFERENCE)
