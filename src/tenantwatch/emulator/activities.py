"""What happens in the simulated tenant, before any API renders it.

Each activity is one thing that happened, described once with every detail any of Microsoft's
records says about it. :mod:`tenantwatch.emulator.render` writes it in Microsoft's shapes: a
sign-in becomes a Graph ``signIn`` and (interactive user sign-ins) a Management Activity API
``UserLoggedIn``/``UserLoginFailed`` record; a directory change becomes a Graph
``directoryAudit`` and a ``RecordType 8`` record; Exchange, SharePoint and Teams activity become
their Management Activity API records.

Activities use ``slots`` so that a tenant of 100 000 users fits in memory an hour at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from tenantwatch.emulator.directory import SimApp, SimDevice, SimUser
from tenantwatch.emulator.network import Network

__all__ = [
    "FAILURE_REASONS",
    "Activity",
    "DirectoryAudit",
    "ExchangeAdmin",
    "FileActivity",
    "MailItemsAccessed",
    "ModifiedProperty",
    "SignIn",
    "Target",
    "TeamsActivity",
    "derived_id",
]

_NS = uuid.UUID("5b2f8e0c-6a43-4f7e-9d3c-2e1f0a9b8c7d")


def derived_id(kind: str, base: str) -> str:
    """A second, stable record id for another shape of the same activity."""
    return str(uuid.uuid5(_NS, f"{kind}:{base}"))


# AADSTS codes used by the simulation
# (learn.microsoft.com/entra/identity-platform/reference-error-codes)
FAILURE_REASONS = {
    0: "",
    50126: "Error validating credentials due to invalid username or password.",
    50053: "The account is locked, you've tried to sign in too many times with an incorrect user "
    "ID or password.",
    50074: "Strong Authentication is required.",
    50076: "Due to a configuration change made by your administrator, or because you moved to a "
    "new location, you must use multi-factor authentication to access the resource.",
    500121: "Authentication failed during strong authentication request.",
    53003: "Access has been blocked by Conditional Access policies.",
    50140: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    7000215: "Invalid client secret is provided.",
}
LOGON_ERRORS = {
    50126: "InvalidUserNameOrPassword",
    50053: "IdsLocked",
    50074: "UserStrongAuthClientAuthNRequiredInterrupt",
    50076: "UserStrongAuthClientAuthNRequired",
    500121: "AuthenticationFailedSasError",
    53003: "BlockedByConditionalAccess",
    50140: "KmsiInterrupt",
}


@dataclass(slots=True)
class SignIn:
    """One sign-in attempt (user, service principal or managed identity)."""

    id: str
    time: datetime
    user: SimUser | None
    app: SimApp
    resource: SimApp
    ip: str
    network: Network
    error_code: int = 0
    mfa_required: bool = True
    mfa_method: str = "Mobile app notification"
    client_app: str = "Browser"
    protocol: str = "none"
    event_type: str = "interactiveUser"
    device: SimDevice | None = None
    user_agent: str = ""
    ca_status: str = "success"
    correlation_id: str = ""
    session_id: str = ""
    unique_token_id: str = ""
    credential_type: str = "none"
    sp_credential_key_id: str = ""
    mfa_detail: str = ""

    @property
    def succeeded(self) -> bool:
        return self.error_code == 0

    @property
    def failure_reason(self) -> str:
        return FAILURE_REASONS.get(self.error_code, "Other.")

    @property
    def logon_error(self) -> str:
        return LOGON_ERRORS.get(self.error_code, "")

    @property
    def ual_id(self) -> str:
        """The Activity API record's ``Id``: real records reuse the sign-in's request id (their
        ``Id`` equals ``IntraSystemId``), which is also Graph's ``id``."""
        return self.id


@dataclass(slots=True)
class ModifiedProperty:
    name: str
    new_value: str
    old_value: str = ""


@dataclass(slots=True)
class Target:
    """A directory object an audit event acted on."""

    id: str
    display_name: str
    type: str  # User, ServicePrincipal, Application, Role, Group, Directory, Policy
    upn: str | None = None
    modified: list[ModifiedProperty] = field(default_factory=list)


@dataclass(slots=True)
class DirectoryAudit:
    """A change in Entra ID (``Add user``, ``Consent to application``, ...).

    ``operation`` is Graph's ``activityDisplayName`` (no trailing period); the Management
    Activity API's ``Operation`` adds the period, except for the operations it spells
    differently (see :mod:`.render`).
    """

    id: str  # the Management Activity API record Id (a GUID)
    graph_id: str  # Graph's "Directory_<correlation>_<...>" id
    time: datetime
    operation: str
    category: str  # UserManagement, ApplicationManagement, RoleManagement, GroupManagement, Policy
    operation_type: str  # Add, Update, Delete, Assign, Unassign
    actor_user: SimUser | None
    actor_app: SimApp | None
    targets: list[Target]
    ip: str = ""
    user_agent: str = ""
    result: str = "success"
    result_reason: str = ""
    correlation_id: str = ""
    additional: dict[str, str] = field(default_factory=dict)
    logged_by: str = "Core Directory"


@dataclass(slots=True)
class ExchangeAdmin:
    """An Exchange cmdlet run by an admin or a user (``New-InboxRule``, ``Set-Mailbox``, ...)."""

    id: str
    time: datetime
    cmdlet: str
    parameters: list[tuple[str, str]]
    user: SimUser | None
    object_id: str
    client_ip: str  # the Activity API often writes "ip:port"
    user_type: int = 2
    result: str = "True"
    app_id: str = ""
    external_access: bool = False
    session_id: str = ""
    originating_server: str = "DM6PR11MB4691 (15.20.7249.027)"


@dataclass(slots=True)
class MailItemsAccessed:
    """Mail read by a user or an application (RecordType 50)."""

    id: str
    time: datetime
    user_id: str  # the accessing identity as the Activity API writes it
    mailbox_owner: SimUser
    client_ip: str
    client_info: str  # Client=WebServices;ExchangeWebServices... / Client=REST... / Client=OWA...
    app_id: str = ""
    client_app_id: str = ""
    logon_type: int = 0  # 0 owner, 1 admin, 2 delegated
    access_type: str = "Bind"
    folders: list[tuple[str, list[str]]] = field(default_factory=list)  # (path, message ids)
    throttled: bool = False
    session_id: str = ""
    user_type: int = 0


@dataclass(slots=True)
class FileActivity:
    """A SharePoint or OneDrive file or sharing operation (RecordType 6 or 14)."""

    id: str
    time: datetime
    operation: (
        str  # FileAccessed, FileDownloaded, FileUploaded, FileModified, AnonymousLinkCreated, ...
    )
    user: SimUser | None
    site_url: str
    relative_url: str
    file_name: str
    client_ip: str
    user_agent: str
    workload: str = "SharePoint"  # or OneDrive
    target_user: str = ""  # sharing: who it was shared with ("Anonymous" for anonymous links)
    target_type: str = ""  # Member, Guest, Group, Partner, Anonymous
    sharing_id: str = ""

    @property
    def record_type(self) -> int:
        return 14 if self.operation in SHARING_OPERATIONS else 6


SHARING_OPERATIONS = frozenset(
    {
        "AnonymousLinkCreated",
        "AnonymousLinkUsed",
        "CompanyLinkCreated",
        "SecureLinkCreated",
        "SharingInvitationCreated",
        "SharingSet",
        "AddedToSecureLink",
    }
)


@dataclass(slots=True)
class TeamsActivity:
    """A Microsoft Teams operation (RecordType 25)."""

    id: str
    time: datetime
    operation: str  # TeamsSessionStarted, MemberAdded, TeamCreated, ChannelAdded
    user: SimUser
    client_ip: str
    team_name: str = ""
    members: list[str] = field(default_factory=list)


Activity = (
    SignIn | DirectoryAudit | ExchangeAdmin | MailItemsAccessed | FileActivity | TeamsActivity
)
