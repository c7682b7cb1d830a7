"""Access verification: the customer's authorization policy judged on every sign-in, and the
inventory of protocols, apps and workload identities that can still get in."""

from tenantwatch.access.engine import AccessEngine as AccessEngine
from tenantwatch.access.policy import AccessPolicy as AccessPolicy
from tenantwatch.access.policy import load_policy as load_policy

__all__ = ["AccessEngine", "AccessPolicy", "load_policy"]
