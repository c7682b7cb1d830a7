"""The built-in pack: its examples pass, it is clean by its own lint, it finds every stage of
every injected attack, and it stays quiet on ordinary activity."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from rich.console import Console

from tenantwatch.cli.rules import lint_rules
from tenantwatch.detect import DetectionEngine, RuleSet
from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.detect.examples import find_test_files, load_examples, run_examples
from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.scenarios import SCENARIOS
from tests.detect.replay import replay, stages_found

START = datetime(2026, 1, 12, 0, tzinfo=UTC)


def test_every_rule_has_true_and_false_examples_and_they_pass() -> None:
    ruleset = RuleSet.from_paths([builtin_rules_path()])
    assert not ruleset.errors
    examples = [e for f in find_test_files([builtin_rules_path()]) for e in load_examples(f)]
    results = run_examples(ruleset, examples)
    failed = [
        f"{r.example.rule}: {r.example.description}: {r.detail}" for r in results if not r.passed
    ]
    assert not failed, failed
    expectations: dict[str, set[str]] = {}
    for e in examples:
        expectations.setdefault(e.rule, set()).add(e.expect)
    for rule in [*ruleset.rules, *ruleset.correlations]:
        seen = expectations.get(rule.name or "", set())
        assert seen & {"finding", "match"}, rule.name
        assert seen & {"no finding", "no match"}, rule.name


def test_a_failing_example_is_reported_with_its_reason() -> None:
    ruleset = RuleSet.from_paths([builtin_rules_path()])
    (example, *_) = load_examples(builtin_rules_path() / "tw_single_factor_signin.tests.yml")
    flipped = example.__class__(**{**example.__dict__, "expect": "no finding"})
    (result,) = run_examples(ruleset, [flipped])
    assert not result.passed
    assert "unexpected finding" in result.detail


def test_the_pack_passes_its_own_lint() -> None:
    out = io.StringIO()
    assert lint_rules([builtin_rules_path()], Console(file=out, width=200)), out.getvalue()


def test_every_stage_of_every_scenario_is_found() -> None:
    tenant = SimTenant.build(
        seed=7,
        users=300,
        start=START + timedelta(hours=24),
        history=timedelta(hours=24),
        scenarios=sorted(SCENARIOS),
        scenario_start=START + timedelta(hours=9),
    )
    findings, _ = replay(tenant, START, 24)
    found = stages_found(tenant, findings.values())
    missed = [stage for stage, rules in found.items() if not rules]
    assert not missed, missed
    assert {s for s, _ in found} == set(SCENARIOS)
    midnight = {
        stage: rules
        for (scenario, stage), rules in found.items()
        if scenario == "midnight-blizzard"
    }
    assert set(midnight) == {
        "password-spray",
        "valid-account",
        "app-credential",
        "new-apps",
        "new-user-consent",
        "full-access-as-app",
        "mail-collection",
    }


def test_no_finding_on_two_days_of_ordinary_activity() -> None:
    tenant = SimTenant.build(
        seed=8, users=300, start=START + timedelta(hours=48), history=timedelta(hours=48)
    )
    engine = DetectionEngine(RuleSet.from_paths([builtin_rules_path()]))
    findings, events = replay(tenant, START, 48, engine)
    assert events > 20_000
    assert engine.matches > 0  # the base rules see the ordinary activity
    assert not findings, [(f.rule_title, f.entity) for f in findings.values()][:5]
