"""The simulated tenant's directory: users, devices, applications, where people work from.

Everything is derived from a seed, so the same seed gives the same tenant down to object ids.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from tenantwatch.emulator.network import Network, networks_of

__all__ = ["Directory", "SimApp", "SimDevice", "SimUser", "new_guid"]

FIRST = [
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Ben",
    "Bo",
    "Carla",
    "Chen",
    "Dana",
    "Dev",
    "Elena",
    "Emre",
    "Farah",
    "Finn",
    "Grace",
    "Hana",
    "Ines",
    "Ivan",
    "Jonas",
    "Julia",
    "Kai",
    "Kenji",
    "Lara",
    "Leo",
    "Lina",
    "Luca",
    "Maya",
    "Mateo",
    "Mia",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Sara",
    "Tariq",
    "Theo",
    "Uma",
    "Vera",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Abbott",
    "Baker",
    "Becker",
    "Chen",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Gupta",
    "Hansen",
    "Ito",
    "Jansen",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Nguyen",
    "Novak",
    "Okafor",
    "Park",
    "Patel",
    "Petrov",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Svensson",
    "Tanaka",
    "Weber",
    "Wilson",
    "Young",
    "Zhang",
]
DEPARTMENTS = (
    ("Engineering", 0.30),
    ("Sales", 0.18),
    ("Operations", 0.12),
    ("Finance", 0.08),
    ("Marketing", 0.08),
    ("Human Resources", 0.05),
    ("Legal", 0.04),
    ("IT", 0.06),
    ("Security", 0.03),
    ("Support", 0.06),
)
COUNTRIES = (("US", 0.55), ("DE", 0.15), ("GB", 0.15), ("FR", 0.15))
UTC_OFFSET_HOURS = {"US": -6, "DE": 1, "GB": 0, "FR": 1}
ADMIN_ROLES = (
    "Global Administrator",
    "Exchange Administrator",
    "Application Administrator",
    "Privileged Role Administrator",
    "Security Administrator",
)
OS_BROWSERS = (
    ("Windows 10", "Edge 120.0.2210", 0.45),
    ("Windows 10", "Chrome 120.0.0", 0.2),
    ("MacOs", "Safari 17.1", 0.12),
    ("MacOs", "Chrome 120.0.0", 0.08),
    ("Ios", "Mobile Safari 17.1", 0.1),
    ("Android", "Chrome Mobile 120.0.0", 0.05),
)
USER_AGENTS = {
    "Windows 10": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "MacOs": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Safari/605.1.15",
    "Ios": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
}


def new_guid(rng: random.Random) -> str:
    """A random (version 4) GUID drawn from ``rng``, so it is reproducible from the seed."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


@dataclass(frozen=True)
class SimDevice:
    device_id: str
    display_name: str
    operating_system: str
    browser: str
    is_compliant: bool
    is_managed: bool
    trust_type: str

    @property
    def user_agent(self) -> str:
        return USER_AGENTS.get(self.operating_system, USER_AGENTS["Windows 10"])


@dataclass(frozen=True)
class SimUser:
    """A user of the tenant. ``kind`` is member, guest, test (no MFA, dormant) or service."""

    object_id: str
    upn: str
    display_name: str
    department: str
    job_title: str
    country: str
    kind: str = "member"
    roles: tuple[str, ...] = ()
    mfa: bool = True
    devices: tuple[SimDevice, ...] = ()
    home_network: Network | None = None
    office_network: Network | None = None
    puid: str = ""
    executive: bool = False
    mailbox_guid: str = ""
    sid: str = ""

    @property
    def is_admin(self) -> bool:
        return bool(self.roles)

    @property
    def utc_offset(self) -> int:
        return UTC_OFFSET_HOURS.get(self.country, 0)


@dataclass(frozen=True)
class SimApp:
    """An application registration with its service principal.

    ``kind`` is ``first_party`` (Microsoft's), ``tenant`` (registered in this tenant),
    ``automation`` (a service principal signing in on a schedule) or ``managed_identity``.
    """

    app_id: str
    display_name: str
    sp_object_id: str
    app_object_id: str
    first_party: bool = False
    permissions: tuple[str, ...] = ()
    kind: str = "first_party"
    network: Network | None = None
    credential_type: str = "clientSecret"
    credential_key_id: str = ""


# Microsoft first-party applications users sign in to (well-known app ids).
FIRST_PARTY_APPS = (
    SimApp("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online", "", "", True),
    SimApp("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online", "", "", True),
    SimApp("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams", "", "", True),
    SimApp("4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome", "", "", True),
    SimApp("00000003-0000-0000-c000-000000000000", "Microsoft Graph", "", "", True),
    SimApp("d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office", "", "", True),
    SimApp("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal", "", "", True),
)


EXECUTIVE_TITLES = (
    "Chief Executive Officer",
    "Chief Financial Officer",
    "Chief Information Security Officer",
    "General Counsel",
    "Chief Operating Officer",
    "Head of Security Operations",
)


@dataclass
class Directory:
    """Users, applications, sites and teams of one simulated tenant."""

    tenant_id: str
    domain: str
    users: list[SimUser]
    apps: list[SimApp] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)

    @classmethod
    def generate(
        cls, seed: int, n_users: int, *, tenant_id: str | None = None, domain: str = ""
    ) -> Directory:
        """A tenant of ``n_users`` users: ~3 % admins, ~2 % guests, one legacy test account."""
        rng = random.Random(f"directory:{seed}")
        tenant = tenant_id or new_guid(rng)
        domain = domain or "contoso-sim.onmicrosoft.com"
        users: list[SimUser] = []
        seen: set[str] = set()
        n_guests = max(0, n_users // 50)
        n_admins = max(1, n_users * 3 // 100)
        n_executives = min(len(EXECUTIVE_TITLES), max(2, n_users // 40))
        for i in range(n_users):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            base = f"{first}.{last}".lower()
            upn_local = base if base not in seen else f"{base}{i}"
            seen.add(upn_local)
            country = _weighted(rng, COUNTRIES)
            department = _weighted(rng, DEPARTMENTS)
            kind = "guest" if i >= n_users - n_guests else "member"
            roles: tuple[str, ...] = ()
            executive = kind == "member" and n_admins <= i < n_admins + n_executives
            if kind == "member" and i < n_admins:
                roles = (ADMIN_ROLES[i % len(ADMIN_ROLES)],)
                department = "IT"
            if executive:
                department = "Executive"
            if kind == "guest":
                upn = f"{upn_local}_partner.example#EXT#@{domain}"
            else:
                upn = f"{upn_local}@{domain}"
            devices = tuple(
                _device(rng, f"{first[:3]}{last[:3]}-{j}".upper())
                for j in range(rng.choice((1, 2)))
            )
            users.append(
                SimUser(
                    object_id=new_guid(rng),
                    upn=upn,
                    display_name=f"{first} {last}",
                    department=department,
                    job_title=roles[0]
                    if roles
                    else EXECUTIVE_TITLES[(i - n_admins) % len(EXECUTIVE_TITLES)]
                    if executive
                    else f"{department} Specialist",
                    country=country,
                    kind=kind,
                    roles=roles,
                    mfa=True,
                    devices=devices,
                    home_network=rng.choice(networks_of("residential", country)),
                    office_network=networks_of("corporate", country)[0],
                    puid=f"1003{rng.getrandbits(48):012X}",
                    executive=executive,
                    mailbox_guid=new_guid(rng),
                    sid=_sid(rng),
                )
            )
        # The legacy test account of the Midnight Blizzard story: no MFA, no devices, dormant.
        users.append(
            SimUser(
                object_id=new_guid(rng),
                upn=f"svc-legacy-test@{domain}",
                display_name="Legacy Test Account",
                department="IT",
                job_title="Test account",
                country="US",
                kind="test",
                mfa=False,
                office_network=networks_of("corporate", "US")[0],
                home_network=networks_of("corporate", "US")[0],
                puid=f"1003{rng.getrandbits(48):012X}",
                mailbox_guid=new_guid(rng),
                sid=_sid(rng),
            )
        )
        apps = list(FIRST_PARTY_APPS) + _tenant_apps(rng)
        site_root = f"https://{domain.split('.')[0]}.sharepoint.com/sites"
        sites = [f"{site_root}/{name}" for name in SITES]
        return cls(
            tenant_id=tenant, domain=domain, users=users, apps=apps, sites=sites, teams=list(TEAMS)
        )

    def app(self, display_name: str) -> SimApp:
        for a in self.apps:
            if a.display_name == display_name:
                return a
        raise KeyError(display_name)

    @property
    def executives(self) -> list[SimUser]:
        return [u for u in self.users if u.executive]

    @property
    def admins(self) -> list[SimUser]:
        return [u for u in self.users if u.is_admin]

    def user(self, upn: str) -> SimUser:
        for u in self.users:
            if u.upn == upn:
                return u
        raise KeyError(upn)

    @property
    def regular_users(self) -> list[SimUser]:
        return [u for u in self.users if u.kind in ("member", "guest")]


SITES = ("Finance", "Legal", "Engineering", "Sales", "HR", "Projects", "Intranet")
TEAMS = ("All Company", "Engineering", "Sales Team", "Finance Team", "Security Team")


def _sid(rng: random.Random) -> str:
    parts = [rng.randrange(10**9, 4 * 10**9) for _ in range(3)]
    return f"S-1-5-21-{parts[0]}-{parts[1]}-{parts[2]}-{rng.randrange(10**7, 10**8)}"


def _tenant_apps(rng: random.Random) -> list[SimApp]:
    """The tenant's own app registrations and service principals.

    ``legacy-test-app`` is the Midnight Blizzard pivot: an old test app that still holds an
    application permission allowing it to grant app roles in the tenant.
    """
    azure = networks_of("cloud", "US")
    specs = (
        ("HR Sync", "automation", ("User.ReadWrite.All",), azure[0], "certificate"),
        ("Backup Service", "automation", ("Mail.Read",), azure[0], "clientSecret"),
        ("Expense Connector", "tenant", ("User.Read",), None, "clientSecret"),
        (
            "legacy-test-app",
            "tenant",
            ("AppRoleAssignment.ReadWrite.All", "Application.ReadWrite.All"),
            None,
            "clientSecret",
        ),
        ("func-invoice-processor", "managed_identity", (), azure[0], "managedIdentity"),
    )
    out = []
    for name, kind, permissions, network, credential in specs:
        out.append(
            SimApp(
                app_id=new_guid(rng),
                display_name=name,
                sp_object_id=new_guid(rng),
                app_object_id=new_guid(rng),
                first_party=False,
                permissions=permissions,
                kind=kind,
                network=network,
                credential_type=credential,
                credential_key_id=new_guid(rng),
            )
        )
    return out


def _device(rng: random.Random, name: str) -> SimDevice:
    os_name, browser, _ = rng.choices(OS_BROWSERS, weights=[o[2] for o in OS_BROWSERS])[0]
    managed = os_name in ("Windows 10", "MacOs") and rng.random() < 0.9
    return SimDevice(
        device_id=new_guid(rng),
        display_name=name,
        operating_system=os_name,
        browser=browser,
        is_compliant=managed,
        is_managed=managed,
        trust_type="Azure AD joined" if managed else "",
    )
