"""Attack scenarios injected into the simulated tenant, each with ground truth.

A scenario turns a start time and the tenant's directory into activities, and labels each with
the attack stage and ATT&CK technique it belongs to. The labels are written to the ground-truth
file, so a test can ask: was every attack record collected, and did a finding name each stage?
"""

from __future__ import annotations

from collections.abc import Callable

from tenantwatch.emulator.scenarios.base import GroundTruth as GroundTruth
from tenantwatch.emulator.scenarios.base import Scenario as Scenario
from tenantwatch.emulator.scenarios.base import Stage as Stage
from tenantwatch.emulator.scenarios.exchange import AuditDisable, BecForwarding, ImpersonationRole
from tenantwatch.emulator.scenarios.identity import (
    ImpossibleTravel,
    MfaFatigue,
    MidnightBlizzard,
    PasswordSpray,
)
from tenantwatch.emulator.scenarios.sharepoint import AnonymousSharing, MassDownload

__all__ = ["SCENARIOS", "GroundTruth", "Scenario", "Stage"]

SCENARIOS: dict[str, Callable[[], Scenario]] = {
    s.name: s
    for s in (
        PasswordSpray,
        MidnightBlizzard,
        BecForwarding,
        MfaFatigue,
        ImpossibleTravel,
        MassDownload,
        AnonymousSharing,
        AuditDisable,
        ImpersonationRole,
    )
}
