"""The 34 real records in the shared corpus: every one normalizes to the right class, actor,
target and outcome, and validates against OCSF 1.3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantwatch.model.events import to_ocsf
from tests.normalize.helpers import run
from tests.ocsf import validate

CORPUS = Path(__file__).parents[3] / "shared" / "corpus" / "splunk-examples"
pytestmark = pytest.mark.skipif(
    not (CORPUS / "records.ndjson").exists(), reason="the shared corpus is not beside this checkout"
)

# name in index.json -> (class_uid, activity_id, user.name or None, actor user or app, status_id)
EXPECTED = {
    "O365 Add app role assignment grant to user.": (3005, 1, "Amazon Web Services (AWS)", None, 1),
    "O365 Add app role assignment to service principal.": (3005, 1, "STRT_Oauth", None, 1),
    "O365 Add-MailboxPermission": (3005, 1, "Patrick Bareiss", None, 1),
    "O365 Add member to role.": (3005, 1, "lowpriv@splunkresearch.onmicrosoft.com", None, 1),
    "O365 Add owner to application.": (3004, 3, None, "user@contoso.onmicrosoft.com", 1),
    "O365 Add service principal.": (3004, 1, None, "user30@splunkresearch.onmicrosoft.com", 1),
    "O365 Change user license.": (
        3001,
        99,
        "victimuser@splunkresearch.onmicrosoft.com",
        "eviluser@splunkresearch.onmicrosoft.com",
        1,
    ),
    "O365 Consent to application.": (3005, 1, "TestApp2", None, 1),
    "O365 Disable Strong Authentication.": (
        3001,
        11,
        "rodsoto@rodsoto.onmicrosoft.com",
        "rodsoto@rodsoto.onmicrosoft.com",
        1,
    ),
    "O365 MailItemsAccessed": (6003, 2, None, "user15@splunkresearch.onmicrosoft.com", 1),
    "O365 ModifyFolderPermissions": (6003, 99, None, "user1@contoso.onmicrosoft.com", 1),
    "O365 Set Company Information.": (3004, 3, None, "bpatel@rodsoto.onmicrosoft.com", 1),
    "O365 Set-Mailbox": (6003, 3, None, "pbareiss@rodsoto.onmicrosoft.com", 1),
    "O365 Update application.": (3004, 3, None, "attacker@contoso.onmicrosoft.com", 1),
    "O365 Update authorization policy.": (
        3004,
        3,
        None,
        "user30@splunkresearch.onmicrosoft.com",
        1,
    ),
    "O365 Update user.": (
        3001,
        99,
        "victim@splunkresearch1.onmicrosoft.com",
        "victim@splunkresearch1.onmicrosoft.com",
        1,
    ),
    "O365 UserLoggedIn": (3002, 1, "user15@splunkresearch.onmicrosoft.com", None, 1),
    "O365 UserLoginFailed": (3002, 1, "user30@contoso.onmicrosoft.com", None, 2),
    "Azure Active Directory Add app role assignment to service principal": (
        3005,
        1,
        "STRT_Oauth",
        None,
        1,
    ),
    "Azure Active Directory Add member to role": (3005, 1, "user1@splunkresearch.com", None, 1),
    "Azure Active Directory Add owner to application": (
        3004,
        3,
        None,
        "globaladmin@splunkresearch.com",
        1,
    ),
    "Azure Active Directory Add service principal": (
        3004,
        1,
        None,
        "herman@phantomengineering.onmicrosoft.com",
        1,
    ),
    "Azure Active Directory Add unverified domain": (3004, 1, None, "tommyr@splunkresearch.com", 1),
    "Azure Active Directory Consent to application": (3005, 1, "Bad App 1", None, 2),
    "Azure Active Directory Disable Strong Authentication": (
        3001,
        11,
        "abigail.clark@splunkresearch.com",
        "oops@splunkresearch.com",
        1,
    ),
    "Azure Active Directory Enable account": (
        3001,
        2,
        "testuser@splunkresearch.com",
        "tommyr@splunkresearch.com",
        1,
    ),
    "Azure Active Directory Invite external user": (
        3001,
        1,
        "oops360_gmail.com#ext#@strtadminsplunkresearch.onmicrosoft.com",
        "oopsr@splunkresearch.com",
        1,
    ),
    "Azure Active Directory Reset password (by admin)": (
        3001,
        4,
        "testuser@splunkresearch.com",
        "tommyr@splunkresearch.com",
        1,
    ),
    # this record's operationName and properties.activityDisplayName disagree; the Graph
    # resource inside (properties) decides
    "Azure Active Directory Set domain authentication": (
        3004,
        1,
        None,
        "tommyr@splunkresearch.com",
        1,
    ),
    "Azure Active Directory Sign-in activity": (
        3002,
        1,
        "user15@splunkresearch.onmicrosoft.com",
        None,
        2,
    ),
    "Azure Active Directory Update application": (
        3004,
        3,
        None,
        "user30@splunkresearch.onmicrosoft.com",
        1,
    ),
    "Azure Active Directory Update authorization policy": (
        3004,
        3,
        None,
        "attacker@splunkresearch.onmicrosoft.com",
        1,
    ),
    "Azure Active Directory Update user": (
        3001,
        99,
        "testuser@splunkresearch.com",
        "tommyr@splunkresearch.com",
        1,
    ),
    "Azure Active Directory User registered security info": (
        3001,
        10,
        "user30@splunkresearch.com",
        "user30@splunkresearch.com",
        1,
    ),
}


def _records() -> list[tuple[str, str, bytes]]:
    if not (CORPUS / "records.ndjson").exists():
        return []
    index = json.loads((CORPUS / "index.json").read_text())
    lines = (CORPUS / "records.ndjson").read_bytes().splitlines()
    return [
        (entry["name"], entry["sourcetype"], line) for entry, line in zip(index, lines, strict=True)
    ]


@pytest.mark.parametrize(("name", "sourcetype", "line"), _records(), ids=[r[0] for r in _records()])
def test_real_record_normalizes_and_validates(name: str, sourcetype: str, line: bytes) -> None:
    shape = "o365.management" if sourcetype.startswith("o365") else "azure.monitor"
    batch = run(shape, line)
    assert not batch.quarantined, [q.reason for q in batch.quarantined]
    (event,) = batch.events.to_dicts()
    class_uid, activity_id, user, actor, status_id = EXPECTED[name]
    assert (event["class_uid"], event["activity_id"], event["status_id"]) == (
        class_uid,
        activity_id,
        status_id,
    )
    assert (event["user"] or {}).get("name") == user
    actor_field = event["actor"] or {}
    assert (
        (actor_field.get("user") or {}).get("name") or actor_field.get("app_name")
    ) == actor or (actor is None and not (actor_field.get("user") or {}).get("name"))
    document = to_ocsf(event)
    assert validate(document) == []
    assert json.loads(document["raw_data"]) == json.loads(line)


def test_the_corpus_is_all_there() -> None:
    assert len(_records()) == len(EXPECTED) == 34
