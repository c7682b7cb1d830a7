"""What happens in the simulated tenant, before any API renders it.

An :class:`Activity` is one thing that happened (a sign-in attempt for now), described once with
every detail; :mod:`tenantwatch.emulator.render` writes it in each of Microsoft's shapes, so the
same sign-in can be served by Graph, the Management Activity API or an Azure Monitor export.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tenantwatch.emulator.directory import Directory, SimApp, SimDevice, SimUser, new_guid
from tenantwatch.emulator.network import Network, networks_of, pick_ip

__all__ = ["BackgroundActivity", "SignIn", "poisson"]

# AADSTS codes used by the simulation (https://learn.microsoft.com/entra/identity-platform/reference-error-codes)
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
}


@dataclass
class SignIn:
    """One sign-in attempt, with everything any of Microsoft's sign-in records says about it."""

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
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.error_code == 0

    @property
    def failure_reason(self) -> str:
        return FAILURE_REASONS.get(self.error_code, "Other.")


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; fine for the small rates used here)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# share of interactive sign-ins per first-party app
APP_WEIGHTS = (
    ("Office 365 Exchange Online", 0.25),
    ("Microsoft Teams", 0.25),
    ("OfficeHome", 0.2),
    ("Office 365 SharePoint Online", 0.15),
    ("Microsoft Office", 0.1),
    ("Azure Portal", 0.05),
)


class BackgroundActivity:
    """Ordinary working life: people sign in during their working hours, from office, home or
    phone, with MFA enforced by Conditional Access, and now and then mistype a password.

    Generated one hour at a time from (seed, hour), so any hour can be regenerated identically.
    """

    def __init__(self, directory: Directory, seed: int, *, rate_per_user_hour: float = 0.6):
        self.directory = directory
        self.seed = seed
        self.rate = rate_per_user_hour
        self._apps = {a.display_name: a for a in directory.apps}
        self._people = directory.regular_users

    def hour(self, start: datetime) -> list[SignIn]:
        """Every background sign-in in the hour beginning at ``start`` (UTC, on the hour)."""
        rng = random.Random(f"background:{self.seed}:{start.isoformat()}")
        out: list[SignIn] = []
        for user in self._people:
            local_hour = (start.hour + user.utc_offset) % 24
            weekday = (start + timedelta(hours=user.utc_offset)).weekday() < 5
            if weekday and 8 <= local_hour < 18:
                lam = self.rate * (1.6 if local_hour in (8, 9, 13) else 1.0)
            elif weekday and (7 <= local_hour < 8 or 18 <= local_hour < 21):
                lam = self.rate * 0.25
            else:
                lam = self.rate * 0.03
            for _ in range(poisson(rng, lam)):
                when = start + timedelta(seconds=rng.uniform(0, 3600))
                out.extend(self._attempts(rng, user, when, in_office=weekday and local_hour < 18))
        out.sort(key=lambda s: s.time)
        return out

    def _attempts(
        self, rng: random.Random, user: SimUser, when: datetime, *, in_office: bool
    ) -> list[SignIn]:
        """One sign-in, sometimes preceded by a mistyped password."""
        roll = rng.random()
        if in_office and roll < 0.6 and user.office_network is not None:
            network = user.office_network
        elif roll < 0.9 and user.home_network is not None:
            network = user.home_network
        else:
            network = rng.choice(networks_of("mobile", user.country))
        device = rng.choice(user.devices) if user.devices else None
        app_name = rng.choices([a[0] for a in APP_WEIGHTS], weights=[a[1] for a in APP_WEIGHTS])[0]
        app = self._apps[app_name]
        ip = pick_ip(rng, network)
        attempts: list[SignIn] = []
        if rng.random() < 0.03:
            attempts.append(
                self._signin(
                    rng,
                    user,
                    when - timedelta(seconds=rng.uniform(20, 90)),
                    app,
                    ip,
                    network,
                    device,
                    error_code=50126,
                )
            )
        attempts.append(self._signin(rng, user, when, app, ip, network, device, error_code=0))
        return attempts

    def _signin(
        self,
        rng: random.Random,
        user: SimUser,
        when: datetime,
        app: SimApp,
        ip: str,
        network: Network,
        device: SimDevice | None,
        *,
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
            client_app="Browser"
            if app.display_name != "Microsoft Office"
            else "Mobile Apps and Desktop clients",
            protocol="none",
            device=device,
            user_agent=device.user_agent if device else "",
            ca_status="success" if error_code == 0 else "notApplied",
            correlation_id=new_guid(rng),
            session_id=new_guid(rng),
            unique_token_id=new_guid(rng)[:22],
        )
