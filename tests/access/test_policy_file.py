"""The access policy file: the default is valid and documented; mistakes name file, line, fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantwatch.access.policy import (
    RULE_IDS,
    AccessPolicy,
    default_policy,
    default_policy_text,
    load_policy,
)
from tenantwatch.cli.app import app
from tenantwatch.config import ConfigErrors
from tenantwatch.config.loader import validate_yaml

runner = CliRunner()


def test_the_default_policy_is_valid_and_names_every_rule() -> None:
    policy = default_policy()
    text = default_policy_text()
    for rule in RULE_IDS:
        assert f"  {rule}:" in text
        assert getattr(policy.rules, rule).enabled
    assert "full_access_as_app" in policy.rules.high_privilege_apps.permissions
    assert load_policy(None) == policy


def test_the_printed_default_round_trips(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["access", "policy"])
    assert printed.exit_code == 0
    path = tmp_path / "access.yml"
    path.write_text(printed.output)
    assert load_policy(path) == default_policy()
    checked = runner.invoke(app, ["access", "check", str(path)])
    assert checked.exit_code == 0
    assert "valid (9 rules enabled" in " ".join(checked.output.split())


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("rules:\n  mfa_required:\n    severty: high\n", 3, "severty: Extra inputs"),
        ("rules:\n  no_lgacy_auth: {}\n", 2, "no_lgacy_auth: Extra inputs"),
        (
            "rules:\n  service_principal_networks:\n    allowed_networks: [10.0.0.0/33]\n",
            3,
            "is not a network",
        ),
        ("rules:\n  no_ropc:\n    severity: urgent\n", 3, "severity"),
        ("version: 2\n", 1, "version"),
        ("rules:\n  mfa_required:\n    enabled: maybe\n", 3, "enabled"),
        ("rules: [mfa_required]\n", 1, "rules"),
        ("rules:\n  mfa_required:\n   enabled: true\n  bad indent\n", 4, "not valid YAML"),
    ],
)
def test_a_mistake_names_the_file_the_line_and_the_fix(
    tmp_path: Path, text: str, line: int, says: str
) -> None:
    path = tmp_path / "access.yml"
    path.write_text(text)
    with pytest.raises(ConfigErrors) as caught:
        load_policy(path)
    found = [(e.line, str(e)) for e in caught.value.errors]
    assert any(at == line and says in message for at, message in found), found
    assert all(str(path) in message for _, message in found)
    result = runner.invoke(app, ["access", "check", str(path)])
    assert result.exit_code == 2
    assert f"{path}:{line}" in result.output.replace("\n", "")


def test_an_unknown_key_points_at_the_reference() -> None:
    with pytest.raises(ConfigErrors) as caught:
        validate_yaml("admins: [a]\nadmin: [b]\n", "p.yml", AccessPolicy, reference="x")
    assert "check its spelling against `x`" in str(caught.value)
