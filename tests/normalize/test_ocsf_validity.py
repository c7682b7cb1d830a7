"""Every event normalized from a day of the emulated tenant (every record family, every shape,
every scenario) validates against OCSF 1.3 for its class."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.activities import DirectoryAudit, SignIn
from tenantwatch.emulator.render import (
    azure_monitor_record,
    content_type_of,
    graph_directory_audit,
    graph_signin,
    ual_record,
)
from tenantwatch.emulator.scenarios import SCENARIOS
from tenantwatch.model.events import to_ocsf_dicts
from tests.normalize.helpers import run
from tests.ocsf import validate

START = datetime(2026, 1, 12, 8, tzinfo=UTC)


def test_every_emulated_record_validates() -> None:
    tenant = SimTenant.build(
        seed=3,
        users=60,
        start=START + timedelta(hours=20),
        history=timedelta(hours=20),
        scenarios=sorted(SCENARIOS),
        scenario_start=START + timedelta(hours=1),
    )
    shapes: dict[str, list[dict]] = {
        "graph.signIn": [],
        "graph.directoryAudit": [],
        "o365.management": [],
        "azure.monitor": [],
    }
    for h in range(20):
        for a in tenant.timeline.activities(START + timedelta(hours=h)):
            if isinstance(a, SignIn):
                shapes["graph.signIn"].append(graph_signin(a, beta=True))
                shapes["azure.monitor"].append(azure_monitor_record(a, tenant.tenant_id))
            elif isinstance(a, DirectoryAudit):
                shapes["graph.directoryAudit"].append(graph_directory_audit(a))
                shapes["azure.monitor"].append(azure_monitor_record(a, tenant.tenant_id))
            if content_type_of(a) is not None:
                shapes["o365.management"].append(
                    ual_record(a, tenant.tenant_id, tenant.directory.domain)
                )
    classes: Counter[int] = Counter()
    problems: list[tuple[str, list[str]]] = []
    for shape, records in shapes.items():
        batch = run(shape, *records)
        assert not batch.quarantined, (shape, batch.quarantined[:3])
        assert batch.events.height == len(records)
        for doc in to_ocsf_dicts(batch.events):
            classes[doc["class_uid"]] += 1
            if issues := validate(doc):
                problems.append((doc["metadata"].get("event_code", "?"), issues))
    assert not problems, problems[:5]
    assert set(classes) >= {3001, 3002, 3004, 3005, 6003, 6006}
