"""An emulator of the Microsoft 365 audit APIs serving a simulated tenant (DESIGN decision 9).

It imports nothing from ``sources`` or ``normalize``: it writes Microsoft's shapes from
Microsoft's documentation, so collector tests prove the contract, not self-agreement.
"""

from tenantwatch.emulator.auth import AppRegistration as AppRegistration
from tenantwatch.emulator.auth import IdentityProvider as IdentityProvider
from tenantwatch.emulator.server import EmulatorServer as EmulatorServer
from tenantwatch.emulator.server import create_app as create_app
from tenantwatch.emulator.state import EmulatorState as EmulatorState
from tenantwatch.emulator.state import Faults as Faults
from tenantwatch.emulator.tenant import SimTenant as SimTenant

__all__ = [
    "AppRegistration",
    "EmulatorServer",
    "EmulatorState",
    "Faults",
    "IdentityProvider",
    "SimTenant",
    "create_app",
]
