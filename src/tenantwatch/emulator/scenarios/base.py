"""Scenario building blocks: stages with ground truth, and factories for attack activities."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tenantwatch.emulator.activities import (
    Activity,
    DirectoryAudit,
    ExchangeAdmin,
    FileActivity,
    MailItemsAccessed,
    ModifiedProperty,
    SignIn,
    Target,
)
from tenantwatch.emulator.directory import Directory, SimApp, SimUser, new_guid
from tenantwatch.emulator.network import NETWORKS, Network, networks_of, pick_ip
from tenantwatch.emulator.streams import served_as

__all__ = ["ActivityFactory", "GroundTruth", "Scenario", "Stage"]

ATTACKER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/119.0",
)


@dataclass
class Stage:
    """One step of an attack: what it is, its ATT&CK technique, and the activities it made."""

    scenario: str
    stage: str
    technique: str
    description: str
    activities: list[Activity] = field(default_factory=list)

    def to_dict(self, blackouts: list[tuple[datetime, datetime]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        """The stage as ground truth; records an audit blackout kept out of the Activity API
        are not listed under those streams."""
        users = set()
        for a in self.activities:
            user = getattr(a, "user", None) or getattr(a, "actor_user", None)
            if isinstance(user, SimUser):
                users.add(user.upn)
        return {
            "scenario": self.scenario,
            "stage": self.stage,
            "technique": self.technique,
            "description": self.description,
            "records": [
                {"id": record_id, "stream": stream, "time": a.time.isoformat()}
                for a in self.activities
                for stream, record_id in served_as(a)
                if not (
                    stream.startswith("o365/") and any(b0 <= a.time < b1 for b0, b1 in blackouts)
                )
            ],
            "entities": sorted(users),
            "source_ips": sorted({ip for a in self.activities if (ip := _ip_of(a))}),
        }


def _ip_of(activity: Activity) -> str:
    ip = getattr(activity, "ip", "") or getattr(activity, "client_ip", "")
    return str(ip).rsplit(":", 1)[0] if str(ip).count(":") == 1 else str(ip)


@dataclass
class GroundTruth:
    """Every injected stage, ready to be written as JSON."""

    stages: list[Stage] = field(default_factory=list)
    ual_blackouts: list[tuple[datetime, datetime]] = field(default_factory=list)

    def activities(self) -> list[Activity]:
        return [a for s in self.stages for a in s.activities]


class Scenario(Protocol):
    name: str

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]: ...


class ActivityFactory:
    """Makes attack activities with consistent, seeded details."""

    def __init__(self, directory: Directory, rng: random.Random) -> None:
        self.directory = directory
        self.rng = rng
        self.proxies = [n for n in NETWORKS if n.kind in ("residential", "mobile")]
        self.hosting = [n for n in NETWORKS if n.kind == "hosting"]

    def guid(self) -> str:
        return new_guid(self.rng)

    def proxy(self) -> Network:
        return self.rng.choice(self.proxies)

    def signin(
        self,
        user: SimUser | None,
        when: datetime,
        network: Network,
        *,
        app: SimApp | None = None,
        error_code: int = 0,
        mfa: bool = False,
        event_type: str = "interactiveUser",
        client_app: str = "Browser",
        protocol: str = "none",
        credential_type: str = "none",
        key_id: str = "",
        user_agent: str | None = None,
        resource: SimApp | None = None,
    ) -> SignIn:
        app = app or self.directory.app("OfficeHome")
        return SignIn(
            id=self.guid(),
            time=when,
            user=user,
            app=app,
            resource=resource or app,
            ip=pick_ip(self.rng, network),
            network=network,
            error_code=error_code,
            mfa_required=mfa,
            client_app=client_app,
            protocol=protocol,
            event_type=event_type,
            user_agent=self.rng.choice(ATTACKER_AGENTS) if user_agent is None else user_agent,
            ca_status="success" if mfa and error_code == 0 else "notApplied",
            correlation_id=self.guid(),
            session_id=self.guid(),
            unique_token_id=self.guid()[:22],
            credential_type=credential_type,
            sp_credential_key_id=key_id,
        )

    def audit(
        self,
        when: datetime,
        operation: str,
        category: str,
        operation_type: str,
        targets: list[Target],
        *,
        user: SimUser | None = None,
        app: SimApp | None = None,
        ip: str = "",
        additional: dict[str, str] | None = None,
    ) -> DirectoryAudit:
        correlation = self.guid()
        return DirectoryAudit(
            id=self.guid(),
            graph_id=f"Directory_{correlation}_{self.rng.randrange(10**8, 10**9)}",
            time=when,
            operation=operation,
            category=category,
            operation_type=operation_type,
            actor_user=user,
            actor_app=app,
            targets=targets,
            ip=ip,
            user_agent=self.rng.choice(ATTACKER_AGENTS) if user else "",
            correlation_id=correlation,
            additional=additional or {},
        )

    def cmdlet(
        self,
        when: datetime,
        user: SimUser,
        cmdlet: str,
        parameters: list[tuple[str, str]],
        network: Network,
        *,
        object_id: str = "",
        user_type: int = 2,
    ) -> ExchangeAdmin:
        return ExchangeAdmin(
            id=self.guid(),
            time=when,
            cmdlet=cmdlet,
            parameters=parameters,
            user=user,
            object_id=object_id or user.upn.split("@")[0],
            client_ip=f"{pick_ip(self.rng, network)}:{self.rng.randrange(1024, 65535)}",
            user_type=user_type,
            session_id=self.guid(),
        )

    def mail_read(
        self,
        when: datetime,
        owner: SimUser,
        network: Network,
        *,
        app: SimApp,
        messages: int = 5,
        client_info: str = "",
    ) -> MailItemsAccessed:
        info = client_info or (
            f"Client=WebServices;ExchangeWebServices/CrossSite/EXCH/15.20.7249.024/"
            f"python-requests/2.31.0[AppId={app.app_id}];"
        )
        return MailItemsAccessed(
            id=self.guid(),
            time=when,
            user_id=owner.upn,
            mailbox_owner=owner,
            client_ip=pick_ip(self.rng, network),
            client_info=info,
            app_id=app.app_id,
            client_app_id=app.app_id,
            logon_type=0,
            access_type="Bind",
            folders=[
                (
                    "\\Inbox",
                    [f"<{self.rng.getrandbits(64):016X}@mail.example>" for _ in range(messages)],
                )
            ],
            session_id=self.guid(),
        )

    def file(
        self,
        when: datetime,
        user: SimUser,
        operation: str,
        site: str,
        name: str,
        network: Network,
        *,
        target: tuple[str, str] = ("", ""),
        user_agent: str = "",
    ) -> FileActivity:
        return FileActivity(
            id=self.guid(),
            time=when,
            operation=operation,
            user=user,
            site_url=site,
            relative_url="Shared Documents",
            file_name=name,
            client_ip=pick_ip(self.rng, network),
            user_agent=user_agent or self.rng.choice(ATTACKER_AGENTS),
            target_user=target[0],
            target_type=target[1],
        )

    def spread(self, start: datetime, span: timedelta, n: int) -> list[datetime]:
        """``n`` times spread irregularly over ``span`` from ``start``, in order."""
        secs = span.total_seconds()
        return sorted(start + timedelta(seconds=self.rng.uniform(0, secs)) for _ in range(n))

    @staticmethod
    def modified(*pairs: tuple[str, str]) -> list[ModifiedProperty]:
        return [ModifiedProperty(name, value) for name, value in pairs]


def office_network(user: SimUser) -> Network:
    return user.office_network or networks_of("corporate")[0]
