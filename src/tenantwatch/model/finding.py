"""Detection findings (OCSF Detection Finding 2004)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tenantwatch.model.schema import OCSF_VERSION

__all__ = ["SEVERITY_IDS", "Finding", "finding_uid"]

SEVERITY_IDS = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}


def finding_uid(*parts: str) -> str:
    """A stable id for a finding, so a replay or a restart produces the same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return digest[:32]


@dataclass
class Finding:
    """One alert: a rule matched, for one entity, over a span of event time.

    ``entity`` names who or what the finding is about, e.g. ``{"user": "a@b.com"}`` or
    ``{"app": "<appId>"}``; ``observables`` lists the values that made it fire, e.g. the
    source IPs of a password spray.
    """

    uid: str
    tenant: str
    rule_id: str
    rule_title: str
    severity: str
    first_seen: datetime
    last_seen: datetime
    created_time: datetime
    entity: dict[str, str] = field(default_factory=dict)
    description: str = ""
    techniques: tuple[str, ...] = ()
    evidence_uids: list[str] = field(default_factory=list)
    observables: dict[str, list[str]] = field(default_factory=dict)
    count: int = 1
    status: str = "new"

    @property
    def entity_key(self) -> str:
        return ";".join(f"{k}={v}" for k, v in sorted(self.entity.items()))

    def to_ocsf(self) -> dict[str, Any]:
        """The finding as an OCSF 1.3 Detection Finding (class 2004) document."""
        ms = _epoch_ms
        return {
            "class_uid": 2004,
            "class_name": "Detection Finding",
            "category_uid": 2,
            "category_name": "Findings",
            "activity_id": 1,
            "activity_name": "Create",
            "type_uid": 200401,
            "time": ms(self.created_time),
            "severity_id": SEVERITY_IDS.get(self.severity, 0),
            "severity": self.severity.capitalize(),
            "status_id": 1,
            "status": "New",
            "message": self.rule_title + (f": {self.entity_key}" if self.entity else ""),
            "metadata": {
                "version": OCSF_VERSION,
                "uid": self.uid,
                "tenant_uid": self.tenant,
                "product": {"name": "tenantwatch", "vendor_name": "tenantwatch"},
            },
            "finding_info": {
                "uid": self.uid,
                "title": self.rule_title,
                "desc": self.description,
                "analytic": {"uid": self.rule_id, "name": self.rule_title, "type_id": 1},
                "first_seen_time": ms(self.first_seen),
                "last_seen_time": ms(self.last_seen),
                "created_time": ms(self.created_time),
                "related_events": [{"uid": u} for u in self.evidence_uids],
                "attacks": [{"technique": {"uid": t}} for t in self.techniques],
            },
            "count": self.count,
            "observables": [
                {"name": name, "value": value}
                for name, values in sorted(self.observables.items())
                for value in values
            ],
            "unmapped": {"entity": self.entity},
        }


def _epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)
