"""One activity, every shape Microsoft serves it in, one normalization.

The emulator renders the same sign-in as a Graph ``signIn``, an Activity API ``UserLoggedIn``
record and an Azure Monitor ``SignInLogs`` record; normalized, they name the same user, IP,
outcome and protocol. MFA: Graph and Azure Monitor carry ``authenticationRequirement``; the
Activity API record has no documented MFA flag, only its strong-authentication step
(``RequestType: SAS:...``) says MFA happened, so single-factor sign-ins stay unknown (null)
there rather than guessed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from tenantwatch.emulator.activities import ModifiedProperty, Target
from tenantwatch.emulator.directory import Directory
from tenantwatch.emulator.network import NETWORKS
from tenantwatch.emulator.render import (
    azure_monitor_record,
    graph_directory_audit,
    graph_signin,
    ual_record,
)
from tenantwatch.emulator.scenarios.base import ActivityFactory
from tests.normalize.helpers import one

DIRECTORY = Directory.generate(5, 20)
WHEN = datetime(2026, 1, 12, 9, 30, 5, tzinfo=UTC)


def _three(activity) -> list[dict]:  # type: ignore[no-untyped-def]
    tid, domain = DIRECTORY.tenant_id, DIRECTORY.domain
    return [
        one("graph.signIn", graph_signin(activity)),
        one("o365.management", ual_record(activity, tid, domain)),
        one("azure.monitor", azure_monitor_record(activity, tid)),
    ]


@pytest.mark.parametrize(
    ("error_code", "mfa", "client_app"),
    [(0, True, "Browser"), (0, False, "Browser"), (50126, False, "Browser"), (0, False, "IMAP4")],
)
def test_a_sign_in_normalizes_alike_from_graph_activity_api_and_azure_monitor(
    error_code: int, mfa: bool, client_app: str
) -> None:
    factory = ActivityFactory(DIRECTORY, random.Random(error_code + mfa))
    user = DIRECTORY.regular_users[3]
    signin = factory.signin(
        user, WHEN, NETWORKS[4], error_code=error_code, mfa=mfa, client_app=client_app
    )
    graph, ual, monitor = _three(signin)
    for e in (graph, ual, monitor):
        assert e["class_uid"] == 3002
        assert e["user"]["name"] == user.upn
        assert e["src_endpoint"]["ip"] == signin.ip
        assert e["status_id"] == (1 if error_code == 0 else 2)
        assert e["status_code"] == str(error_code)
        assert e["time"].replace(microsecond=0) == WHEN.replace(microsecond=0)
        assert e["metadata"]["uid"] == signin.id
    expected_protocol = "OAuth 2.0" if client_app == "Browser" else "IMAP"
    assert graph["auth_protocol"] == monitor["auth_protocol"] == expected_protocol
    assert ual["auth_protocol"] == ("ROPC" if client_app != "Browser" else "OAuth 2.0")
    assert graph["is_mfa"] is monitor["is_mfa"] is mfa
    assert ual["is_mfa"] is (True if mfa and error_code == 0 else None)
    assert len({graph["tw_uid"], ual["tw_uid"], monitor["tw_uid"]}) == 3  # each feed's own record


def test_a_directory_change_normalizes_alike_from_graph_and_the_activity_api() -> None:
    factory = ActivityFactory(DIRECTORY, random.Random(1))
    legacy = DIRECTORY.app("legacy-test-app")
    grant = factory.audit(
        WHEN,
        "Add app role assignment to service principal",
        "ApplicationManagement",
        "Assign",
        [
            Target(
                "sp-exo",
                "Office 365 Exchange Online",
                "ServicePrincipal",
                None,
                [
                    ModifiedProperty("AppRole.Value", "full_access_as_app"),
                    ModifiedProperty("ServicePrincipal.ObjectID", "sp-evil"),
                    ModifiedProperty("ServicePrincipal.DisplayName", "MailSync Connector"),
                ],
            )
        ],
        app=legacy,
    )
    tid = DIRECTORY.tenant_id
    graph = one("graph.directoryAudit", graph_directory_audit(grant))
    ual = one("o365.management", ual_record(grant, tid, DIRECTORY.domain))
    monitor = one("azure.monitor", azure_monitor_record(grant, tid))
    for e in (graph, ual, monitor):
        assert (e["class_uid"], e["activity_id"]) == (3005, 1)
        assert e["privileges"] == ["full_access_as_app"]
        assert e["user"]["name"] == "MailSync Connector"
        assert e["resource"]["name"] == "Office 365 Exchange Online"
        assert '"app_name":"legacy-test-app"' in e["unmapped"]
        assert '"AppRole_Value":"full_access_as_app"' in e["unmapped"]
