"""Correlations on event time: thresholds, out-of-order arrival, suppression, restart."""

from __future__ import annotations

import random

from tenantwatch.detect import DetectionEngine, RuleSet
from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.model.finding import Finding
from tests.detect.helpers import auth_event, frame


def _engine() -> DetectionEngine:
    return DetectionEngine(RuleSet.from_paths([builtin_rules_path()]))


def _spray(user: str = "victim@contoso.com", n: int = 6, spacing: float = 8.0) -> list[dict]:
    return [
        auth_event(f"{user}-{i}", user=user, ip=f"198.51.100.{i + 1}", minutes=i * spacing)
        for i in range(n)
    ]


def _findings(engine: DetectionEngine, rows: list[dict], batch: int = 1) -> list[Finding]:
    out = []
    for i in range(0, len(rows), batch):
        out += [c.finding for c in engine.evaluate(frame(rows[i : i + batch])) if c.is_new]
    return out


def test_five_distinct_ips_within_eight_hours_raise_one_spray_finding() -> None:
    engine = _engine()
    (finding,) = _findings(engine, _spray(n=5))
    assert finding.rule_title.startswith("Password spray")
    assert finding.entity == {"user.name": "victim@contoso.com"}
    assert finding.observables["src_endpoint.ip"] == [f"198.51.100.{i}" for i in range(1, 6)]
    assert finding.count == 5
    assert finding.techniques == ("T1110.003",)


def test_four_ips_or_five_spread_over_more_than_eight_hours_do_not() -> None:
    assert _findings(_engine(), _spray(n=4)) == []
    assert _findings(_engine(), _spray(n=5, spacing=150)) == []


def test_a_low_and_slow_spray_one_attempt_an_hour_is_found() -> None:
    assert len(_findings(_engine(), _spray(n=6, spacing=70))) == 1


def test_failures_from_one_ip_are_not_a_spray() -> None:
    rows = [auth_event(f"x{i}", ip="198.51.100.1", minutes=i) for i in range(20)]
    assert _findings(_engine(), rows) == []


def test_arrival_order_does_not_change_the_result() -> None:
    rows = _spray(n=7) + _spray("other@contoso.com", n=3)
    expected = {f.entity_key for f in _findings(_engine(), rows)}
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert {f.entity_key for f in _findings(_engine(), shuffled, batch=3)} == expected


def test_more_failures_extend_the_open_finding_instead_of_alerting_again() -> None:
    engine = _engine()
    assert len(_findings(engine, _spray(n=5))) == 1
    changes = engine.evaluate(frame(_spray(n=9)[5:]))
    assert [c.is_new for c in changes] == [False]
    assert changes[0].finding.count == 9


def test_seeded_engine_does_not_alert_again_after_restart() -> None:
    first = _engine()
    (finding,) = _findings(first, _spray(n=5))
    restarted = _engine()
    restarted.seed([finding])
    restarted.warm(frame(_spray(n=5)))
    assert _findings(restarted, _spray(n=8)[5:]) == []


def test_warm_state_completes_a_half_built_window() -> None:
    rows = _spray(n=6)
    restarted = _engine()
    restarted.warm(frame(rows[:3]))  # stored before the restart
    assert len(_findings(restarted, rows[3:])) == 1


def test_single_factor_success_raises_with_the_ip() -> None:
    row = auth_event(
        "s1",
        user="svc-legacy-test@contoso.com",
        status_id=1,
        code="0",
        is_mfa=False,
        logon_type_id=2,
        user_type=None,
    )
    row["user"] = {"name": "svc-legacy-test@contoso.com", "type_id": 1}
    (finding,) = _findings(_engine(), [row])
    assert finding.rule_title.startswith("Interactive sign-in succeeded with a single factor")
    assert finding.observables["src_endpoint.ip"] == ["203.0.113.5"]


def test_correlation_memory_is_bounded() -> None:
    engine = _engine()
    rows = [
        auth_event(f"u{i}", user=f"user{i}@x.com", ip="198.51.100.1", minutes=i * 0.1)
        for i in range(3000)
    ]
    engine.evaluate(frame(rows))
    (state,) = [c for c in engine.correlations if c.rule.name == "tw_password_spray_per_user"]
    state.max_groups = 100
    engine.evaluate(
        frame([auth_event(f"v{i}", user=f"v{i}@x.com", minutes=400 + i) for i in range(200)])
    )
    assert len(state.groups) <= 100
