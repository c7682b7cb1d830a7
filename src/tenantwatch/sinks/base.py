"""The Sink protocol: where findings go once they are committed to the store.

Delivery guarantee: at least once. A finding is marked delivered in the store after every sink
accepted it; findings left undelivered by a crash are delivered again on the next start.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tenantwatch.model.finding import Finding

__all__ = ["Sink"]


@runtime_checkable
class Sink(Protocol):
    """An alert output."""

    id: str

    def deliver(self, findings: list[Finding]) -> None:
        """Send new findings; raise :class:`~tenantwatch.errors.SinkError` if they did not go."""
        ...

    def close(self) -> None: ...
