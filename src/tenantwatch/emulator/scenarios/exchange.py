"""Exchange Online attacks: business-email-compromise forwarding and delegation, audit
blinding, ApplicationImpersonation."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tenantwatch.emulator.activities import ModifiedProperty, Target
from tenantwatch.emulator.directory import Directory
from tenantwatch.emulator.scenarios.base import ActivityFactory, Stage

__all__ = ["AuditDisable", "BecForwarding", "ImpersonationRole"]


class BecForwarding:
    """A compromised mailbox forwards mail out and another mailbox is delegated to it."""

    name = "bec-forwarding"

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        f = ActivityFactory(directory, random.Random(f"scenario:{self.name}:{seed}"))
        members = [u for u in directory.regular_users if u.kind == "member" and not u.is_admin]
        victim, finance = f.rng.sample(members, 2)
        admin = f.rng.choice(directory.admins)
        network = f.rng.choice(f.hosting)
        external = "invoices@acct-payments.example"
        access = f.signin(victim, start, network, mfa=True)
        rule = f.cmdlet(
            start + timedelta(minutes=6),
            victim,
            "New-InboxRule",
            [
                ("Name", "."),
                ("From", "ceo@" + directory.domain),
                ("ForwardTo", external),
                ("DeleteMessage", "True"),
                ("StopProcessingRules", "True"),
            ],
            network,
            object_id=f"{victim.upn}\\.",
            user_type=0,
        )
        forwarding = f.cmdlet(
            start + timedelta(minutes=9),
            victim,
            "Set-Mailbox",
            [
                ("Identity", victim.upn),
                ("ForwardingSmtpAddress", f"smtp:{external}"),
                ("DeliverToMailboxAndForward", "False"),
            ],
            network,
            user_type=0,
        )
        delegation = f.cmdlet(
            start + timedelta(minutes=30),
            admin,
            "Add-MailboxPermission",
            [
                ("Identity", finance.upn),
                ("User", victim.upn),
                ("AccessRights", "FullAccess"),
                ("InheritanceType", "All"),
            ],
            network,
            object_id=finance.upn.split("@")[0],
        )
        return [
            Stage(
                self.name,
                "inbox-forwarding",
                "T1114.003",
                "An inbox rule forwards the CEO's mail outside and deletes it.",
                [access, rule],
            ),
            Stage(
                self.name,
                "mailbox-forwarding",
                "T1114.003",
                "Mailbox-level forwarding to an external address.",
                [forwarding],
            ),
            Stage(
                self.name,
                "mailbox-delegation",
                "T1098.002",
                "Full access to the finance mailbox granted to the compromised account.",
                [delegation],
            ),
        ]


class AuditDisable:
    """An admin turns unified audit ingestion off and exempts an account from mailbox auditing.

    While ingestion is off (``blackout``), the Management Activity API receives nothing.
    """

    name = "audit-disable"

    def __init__(self, *, blackout_minutes: int = 90) -> None:
        self.blackout = timedelta(minutes=blackout_minutes)

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        f = ActivityFactory(directory, random.Random(f"scenario:{self.name}:{seed}"))
        admin = f.rng.choice(directory.admins)
        network = f.rng.choice(f.hosting)
        bypass = f.cmdlet(
            start,
            admin,
            "Set-MailboxAuditBypassAssociation",
            [
                ("Identity", admin.upn),
                ("AuditBypassEnabled", "True"),
            ],
            network,
        )
        off = f.cmdlet(
            start + timedelta(minutes=5),
            admin,
            "Set-AdminAuditLogConfig",
            [
                ("UnifiedAuditLogIngestionEnabled", "False"),
            ],
            network,
            object_id="Admin Audit Log Settings",
        )
        return [
            Stage(
                self.name,
                "mailbox-audit-bypass",
                "T1562.008",
                "Mailbox auditing bypassed for an account.",
                [bypass],
            ),
            Stage(
                self.name,
                "audit-ingestion-off",
                "T1562.008",
                "Unified audit log ingestion turned off.",
                [off],
            ),
        ]

    def blackout_window(self, start: datetime) -> tuple[datetime, datetime]:
        begin = start + timedelta(minutes=5, seconds=1)
        return (begin, begin + self.blackout)


class ImpersonationRole:
    """ApplicationImpersonation assigned to an account, and a privileged directory role given to
    a service principal."""

    name = "impersonation-role"

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        f = ActivityFactory(directory, random.Random(f"scenario:{self.name}:{seed}"))
        admin = f.rng.choice(directory.admins)
        grantee = f.rng.choice([u for u in directory.regular_users if u.kind == "member"])
        network = f.rng.choice(f.hosting)
        impersonation = f.cmdlet(
            start,
            admin,
            "New-ManagementRoleAssignment",
            [
                ("Role", "ApplicationImpersonation"),
                ("User", grantee.upn),
                ("Name", "ApplicationImpersonation-" + grantee.upn.split("@")[0]),
            ],
            network,
            object_id="ApplicationImpersonation-" + grantee.upn.split("@")[0],
        )
        app = directory.app("Expense Connector")
        role = f.audit(
            start + timedelta(minutes=10),
            "Add member to role",
            "RoleManagement",
            "Assign",
            [
                Target(
                    app.sp_object_id,
                    app.display_name,
                    "ServicePrincipal",
                    None,
                    [
                        ModifiedProperty("Role.ObjectID", f.guid()),
                        ModifiedProperty("Role.DisplayName", "Global Administrator"),
                        ModifiedProperty("Role.TemplateId", "62e90394-69f5-4237-9190-012177145e10"),
                        ModifiedProperty("Role.WellKnownObjectName", "TenantAdmins"),
                    ],
                )
            ],
            user=admin,
            ip=f.signin(admin, start, network).ip,
        )
        return [
            Stage(
                self.name,
                "application-impersonation",
                "T1098.003",
                "ApplicationImpersonation role assigned.",
                [impersonation],
            ),
            Stage(
                self.name,
                "privileged-role-to-sp",
                "T1098.003",
                "Global Administrator granted to a service principal.",
                [role],
            ),
        ]
