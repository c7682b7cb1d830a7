"""Ordinary working life in the simulated tenant, one hour at a time.

People sign in during their working hours (from the office, home or a phone, with MFA enforced
by Conditional Access, now and then mistyping a password), their clients refresh tokens, they
read mail, open and share files, start Teams; automation service principals and a managed
identity sign in on schedules; admins change users and mailboxes now and then. Nothing here is
an attack: a week of it should raise no finding from a good rule pack.

An hour is generated from (seed, hour) alone, so any hour can be regenerated identically and
the tenant needs no memory of the past. Counts are drawn per hour and time-zone group
(superposed Poisson processes), so the cost grows with the number of events, not of users.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import datetime, timedelta

from tenantwatch.emulator.activities import (
    Activity,
    DirectoryAudit,
    ExchangeAdmin,
    FileActivity,
    MailItemsAccessed,
    ModifiedProperty,
    SignIn,
    Target,
    TeamsActivity,
)
from tenantwatch.emulator.directory import Directory, SimApp, SimDevice, SimUser, new_guid
from tenantwatch.emulator.network import Network, networks_of, pick_ip

__all__ = ["BackgroundActivity", "Rates", "poisson"]


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw: Knuth's method for small rates, the normal approximation for large."""
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Rates:
    """Events per user per working hour (outside working hours a fraction of it)."""

    interactive = 0.6
    non_interactive = 1.5
    mail = 1.0
    files = 1.2
    teams_session = 0.15
    inbox_rule = 0.0005  # benign "move newsletters to a folder" rules
    directory_update = 0.0005  # HR sync updating a user attribute


APP_WEIGHTS = (
    ("Office 365 Exchange Online", 0.25),
    ("Microsoft Teams", 0.25),
    ("OfficeHome", 0.2),
    ("Office 365 SharePoint Online", 0.15),
    ("Microsoft Office", 0.1),
    ("Azure Portal", 0.05),
)
FILE_OPERATIONS = (
    ("FileAccessed", 0.55),
    ("FileModified", 0.18),
    ("FilePreviewed", 0.1),
    ("FileUploaded", 0.08),
    ("FileDownloaded", 0.07),
    ("SharingInvitationCreated", 0.012),
    ("CompanyLinkCreated", 0.007),
    ("AnonymousLinkCreated", 0.001),
)
FILE_NAMES = (
    "Budget FY26.xlsx",
    "Quarterly review.pptx",
    "Contract draft.docx",
    "Roadmap.pptx",
    "Meeting notes.docx",
    "Invoice 4411.pdf",
    "Org chart.pdf",
    "Architecture.vsdx",
)
MAIL_CLIENTS = (
    ("Client=MSExchangeRPC", 0.5),
    ("Client=OWA;Action=ViewAction", 0.3),
    ("Client=REST;Client=RESTSystem;;", 0.2),
)


class BackgroundActivity:
    """Generates the tenant's ordinary activity for any hour."""

    def __init__(self, directory: Directory, seed: int, *, scale: float = 1.0) -> None:
        self.directory = directory
        self.seed = seed
        self.scale = scale
        self._apps = {a.display_name: a for a in directory.apps}
        people = directory.regular_users
        self._groups: dict[int, list[SimUser]] = defaultdict(list)
        for user in people:
            self._groups[user.utc_offset].append(user)
        self._admins = [u for u in directory.users if u.is_admin]
        self._automation = [a for a in directory.apps if a.kind == "automation"]
        self._identities = [a for a in directory.apps if a.kind == "managed_identity"]
        self._shared_mailboxes = [u for u in people if u.kind == "member"][-3:]

    def hour(self, start: datetime) -> list[Activity]:
        """Every background activity in the hour beginning at ``start`` (UTC, on the hour)."""
        rng = random.Random(f"background:{self.seed}:{start.isoformat()}")
        out: list[Activity] = []
        for offset, users in sorted(self._groups.items()):
            local = start + timedelta(hours=offset)
            factor = _activity_factor(local)
            n = len(users) * factor * self.scale
            for family, rate in (
                ("interactive", Rates.interactive),
                ("non_interactive", Rates.non_interactive),
                ("mail", Rates.mail),
                ("files", Rates.files),
                ("teams", Rates.teams_session),
                ("inbox_rule", Rates.inbox_rule),
                ("directory", Rates.directory_update),
            ):
                for _ in range(poisson(rng, n * rate)):
                    user = users[rng.randrange(len(users))]
                    when = start + timedelta(seconds=rng.uniform(0, 3600))
                    in_office = local.weekday() < 5 and 8 <= local.hour < 18
                    out.extend(self._make(family, rng, user, when, in_office))
        out.extend(self._service_principals(rng, start))
        if self._admins and rng.random() < 0.05 * self.scale:
            out.append(self._mailbox_settings(rng, start))
        out.sort(key=lambda a: a.time)
        return out

    # -- families -----------------------------------------------------------------------------

    def _make(
        self, family: str, rng: random.Random, user: SimUser, when: datetime, in_office: bool
    ) -> list[Activity]:
        network = self._network(rng, user, in_office)
        ip = pick_ip(rng, network)
        device = rng.choice(user.devices) if user.devices else None
        if family == "interactive":
            app = self._apps[_weighted(rng, APP_WEIGHTS)]
            attempts: list[Activity] = []
            if rng.random() < 0.03:
                before = when - timedelta(seconds=rng.uniform(20, 90))
                attempts.append(self._signin(rng, user, before, app, ip, network, device, 50126))
            attempts.append(self._signin(rng, user, when, app, ip, network, device, 0))
            return attempts
        if family == "non_interactive":
            app = self._apps[_weighted(rng, APP_WEIGHTS[:4])]
            s = self._signin(rng, user, when, app, ip, network, device, 0)
            s.event_type = "nonInteractiveUser"
            s.client_app = "Mobile Apps and Desktop clients"
            s.mfa_detail = "MFA requirement satisfied by claim in the token"
            return [s]
        if family == "mail":
            return [
                MailItemsAccessed(
                    id=new_guid(rng),
                    time=when,
                    user_id=user.upn,
                    mailbox_owner=user,
                    client_ip=ip,
                    client_info=_weighted(rng, MAIL_CLIENTS),
                    access_type="Sync" if rng.random() < 0.6 else "Bind",
                    folders=[("\\Inbox", [_message_id(rng)])] if rng.random() < 0.4 else [],
                    session_id=new_guid(rng),
                )
            ]
        if family == "files":
            return [self._file(rng, user, when, ip, device)]
        if family == "teams":
            return [TeamsActivity(new_guid(rng), when, "TeamsSessionStarted", user, ip)]
        if family == "inbox_rule":
            return [
                ExchangeAdmin(
                    id=new_guid(rng),
                    time=when,
                    cmdlet="New-InboxRule",
                    parameters=[
                        ("Name", "Newsletters"),
                        ("From", "newsletter@vendor.example"),
                        ("MoveToFolder", "Newsletters"),
                        ("StopProcessingRules", "True"),
                    ],
                    user=user,
                    object_id=f"{user.upn}\\Newsletters",
                    client_ip=f"{ip}:{rng.randrange(1024, 65535)}",
                    user_type=0,
                    session_id=new_guid(rng),
                )
            ]
        return [self._hr_update(rng, user, when)]

    def _network(self, rng: random.Random, user: SimUser, in_office: bool) -> Network:
        roll = rng.random()
        if in_office and roll < 0.6 and user.office_network is not None:
            return user.office_network
        if roll < 0.9 and user.home_network is not None:
            return user.home_network
        return rng.choice(networks_of("mobile", user.country))

    def _signin(
        self,
        rng: random.Random,
        user: SimUser,
        when: datetime,
        app: SimApp,
        ip: str,
        network: Network,
        device: SimDevice | None,
        error_code: int,
    ) -> SignIn:
        return SignIn(
            id=new_guid(rng),
            time=when,
            user=user,
            app=app,
            resource=app,
            ip=ip,
            network=network,
            error_code=error_code,
            mfa_required=True,
            client_app="Mobile Apps and Desktop clients"
            if app.display_name == "Microsoft Office"
            else "Browser",
            device=device,
            user_agent=device.user_agent if device else "",
            ca_status="success" if error_code == 0 else "notApplied",
            correlation_id=new_guid(rng),
            session_id=new_guid(rng),
            unique_token_id=new_guid(rng)[:22],
        )

    def _file(
        self, rng: random.Random, user: SimUser, when: datetime, ip: str, device: SimDevice | None
    ) -> FileActivity:
        operation = _weighted(rng, FILE_OPERATIONS)
        personal = rng.random() < 0.4
        if personal:
            local = user.upn.split("#")[0].replace("@", "_").replace(".", "_")
            host = self.directory.domain.split(".")[0]
            site, workload = f"https://{host}-my.sharepoint.com/personal/{local}", "OneDrive"
            folder = "Documents"
        else:
            site, workload = rng.choice(self.directory.sites), "SharePoint"
            folder = "Shared Documents"
        target_user, target_type = "", ""
        if operation == "SharingInvitationCreated":
            colleague = rng.choice(self.directory.regular_users)
            target_user, target_type = colleague.upn, "Member"
        return FileActivity(
            id=new_guid(rng),
            time=when,
            operation=operation,
            user=user,
            site_url=site,
            relative_url=folder,
            file_name=rng.choice(FILE_NAMES),
            client_ip=ip,
            user_agent=device.user_agent if device else "Microsoft Office/16.0",
            workload=workload,
            target_user=target_user,
            target_type=target_type,
        )

    def _hr_update(self, rng: random.Random, user: SimUser, when: datetime) -> DirectoryAudit:
        hr = self._apps.get("HR Sync")
        correlation = new_guid(rng)
        return DirectoryAudit(
            id=new_guid(rng),
            graph_id=f"Directory_{correlation}_{rng.randrange(10**8, 10**9)}",
            time=when,
            operation="Update user",
            category="UserManagement",
            operation_type="Update",
            actor_user=None,
            actor_app=hr,
            targets=[
                Target(
                    user.object_id,
                    user.display_name,
                    "User",
                    user.upn,
                    [
                        ModifiedProperty("JobTitle", f'["{user.job_title}"]', "[]"),
                        ModifiedProperty("Included Updated Properties", "JobTitle"),
                    ],
                )
            ],
            correlation_id=correlation,
        )

    def _service_principals(self, rng: random.Random, start: datetime) -> list[Activity]:
        """Automation apps sign in every 10 minutes, managed identities every 15."""
        out: list[Activity] = []
        graph = self._apps["Microsoft Graph"]
        for app, every, event_type in (
            *((a, 10, "servicePrincipal") for a in self._automation),
            *((a, 15, "managedIdentity") for a in self._identities),
        ):
            network = app.network or networks_of("cloud", "US")[0]
            for minute in range(0, 60, every):
                when = start + timedelta(minutes=minute, seconds=rng.uniform(0, 50))
                out.append(
                    SignIn(
                        id=new_guid(rng),
                        time=when,
                        user=None,
                        app=app,
                        resource=graph,
                        ip=pick_ip(rng, network),
                        network=network,
                        mfa_required=False,
                        client_app="",
                        event_type=event_type,
                        ca_status="notApplied",
                        correlation_id=new_guid(rng),
                        credential_type=app.credential_type,
                        sp_credential_key_id=app.credential_key_id,
                    )
                )
            if app.display_name == "Backup Service":
                out.extend(self._backup_reads(rng, app, start, network))
        return out

    def _backup_reads(
        self, rng: random.Random, app: SimApp, start: datetime, network: Network
    ) -> list[Activity]:
        """The backup app syncs three shared mailboxes an hour through Graph."""
        return [
            MailItemsAccessed(
                id=new_guid(rng),
                time=start + timedelta(minutes=rng.uniform(0, 59)),
                user_id=app.app_id,
                mailbox_owner=owner,
                client_ip=pick_ip(rng, network),
                client_info="Client=REST;Client=RESTSystem;;",
                app_id=app.app_id,
                client_app_id=app.app_id,
                logon_type=0,
                access_type="Sync",
                session_id=new_guid(rng),
                user_type=5,
            )
            for owner in self._shared_mailboxes
        ]

    def _mailbox_settings(self, rng: random.Random, start: datetime) -> ExchangeAdmin:
        admin = rng.choice(self._admins)
        target = rng.choice(self.directory.regular_users)
        network = admin.office_network or networks_of("corporate")[0]
        return ExchangeAdmin(
            id=new_guid(rng),
            time=start + timedelta(minutes=rng.uniform(0, 59)),
            cmdlet="Set-Mailbox",
            parameters=[("Identity", target.upn), ("ProhibitSendQuota", "49.5 GB")],
            user=admin,
            object_id=target.upn.split("@")[0],
            client_ip=f"{pick_ip(rng, network)}:{rng.randrange(1024, 65535)}",
            session_id=new_guid(rng),
        )


def _activity_factor(local: datetime) -> float:
    """How busy a local hour is, relative to a working hour."""
    weekday, hour = local.weekday() < 5, local.hour
    if weekday and 8 <= hour < 18:
        return 1.6 if hour in (8, 9, 13) else 1.0
    if weekday and (7 <= hour < 8 or 18 <= hour < 21):
        return 0.25
    return 0.03


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


def _message_id(rng: random.Random) -> str:
    host = rng.choice(("mail.contoso.example", "eurprd04.prod.outlook.com"))
    return f"<{rng.getrandbits(64):016X}@{host}>"
