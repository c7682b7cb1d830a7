"""Attack scenarios injected into the simulated tenant, each with ground truth.

A scenario turns a start time and the tenant's directory into activities, and labels each
activity with the attack stage and ATT&CK technique it belongs to. The labels are written to the
ground-truth file, so a test can ask: was every attack record collected, and did a finding name
each stage?
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tenantwatch.emulator.activity import SignIn
from tenantwatch.emulator.directory import Directory, SimUser, new_guid
from tenantwatch.emulator.network import NETWORKS, pick_ip

__all__ = ["SCENARIOS", "GroundTruth", "PasswordSpray", "Scenario", "Stage"]

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
    activities: list[SignIn] = field(default_factory=list)

    def to_dict(self, streams: dict[str, str]) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "stage": self.stage,
            "technique": self.technique,
            "description": self.description,
            "records": [
                {"id": a.id, "stream": streams.get(a.id, ""), "time": a.time.isoformat()}
                for a in self.activities
            ],
            "entities": sorted({a.user.upn for a in self.activities if a.user}),
            "source_ips": sorted({a.ip for a in self.activities}),
        }


@dataclass
class GroundTruth:
    """Every injected stage, ready to be written as JSON."""

    stages: list[Stage] = field(default_factory=list)

    def activities(self) -> list[SignIn]:
        return [a for s in self.stages for a in s.activities]


class Scenario(Protocol):
    name: str

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]: ...


class PasswordSpray:
    """Low-volume password spray from rotating residential-proxy IPs, then a single-factor
    success on the legacy test account that has no MFA (Midnight Blizzard's way in).

    Each targeted account sees a handful of failures (AADSTS50126), each from a fresh consumer
    ISP address, spread over ``duration``; no single IP fails more than once, so per-IP
    thresholds stay silent. The last attempt on the test account succeeds.
    """

    name = "password-spray"

    def __init__(
        self,
        *,
        targets: int = 4,
        attempts_per_target: tuple[int, int] = (6, 9),
        duration: timedelta = timedelta(minutes=15),
    ) -> None:
        self.targets = targets
        self.attempts = attempts_per_target
        self.duration = duration

    def stages(self, directory: Directory, start: datetime, seed: int) -> list[Stage]:
        rng = random.Random(f"scenario:{self.name}:{seed}")
        residential = [n for n in NETWORKS if n.kind in ("residential", "mobile")]
        apps = {a.display_name: a for a in directory.apps}
        app = apps["OfficeHome"]
        test_account = next(u for u in directory.users if u.kind == "test")
        pool = [u for u in directory.regular_users if not u.is_admin and u.kind == "member"]
        victims: list[SimUser] = [
            *rng.sample(pool, min(self.targets, len(pool))),
            test_account,
        ]
        spray = Stage(
            self.name,
            "password-spray",
            "T1110.003",
            "Failed sign-ins with a wrong password against several accounts from rotating "
            "residential proxy IPs.",
        )
        secs = self.duration.total_seconds()
        for victim in victims:
            for _ in range(rng.randint(*self.attempts)):
                network = rng.choice(residential)
                spray.activities.append(
                    _attempt(
                        rng,
                        victim,
                        start + timedelta(seconds=rng.uniform(0, secs)),
                        app,
                        network,
                        error_code=50126,
                    )
                )
        spray.activities.sort(key=lambda a: a.time)
        success = Stage(
            self.name,
            "valid-account",
            "T1078.004",
            "Single-factor sign-in succeeds on the legacy test account, which has no MFA.",
        )
        network = rng.choice(residential)
        success.activities.append(
            _attempt(
                rng,
                test_account,
                start + self.duration + timedelta(seconds=45),
                app,
                network,
                error_code=0,
            )
        )
        return [spray, success]


def _attempt(
    rng: random.Random, user: SimUser, when: datetime, app: Any, network: Any, *, error_code: int
) -> SignIn:
    return SignIn(
        id=new_guid(rng),
        time=when,
        user=user,
        app=app,
        resource=app,
        ip=pick_ip(rng, network),
        network=network,
        error_code=error_code,
        mfa_required=False,
        client_app="Browser",
        protocol="none",
        user_agent=rng.choice(ATTACKER_AGENTS),
        ca_status="notApplied",
        correlation_id=new_guid(rng),
        session_id=new_guid(rng),
        unique_token_id=new_guid(rng)[:22],
    )


SCENARIOS: dict[str, type[PasswordSpray]] = {PasswordSpray.name: PasswordSpray}
