"""Sigma semantics, checked on both engines: the Polars expression and the Python oracle."""

from __future__ import annotations

import textwrap

import pytest

from tenantwatch.detect.rules import RuleSet
from tenantwatch.errors import RuleError
from tests.detect.helpers import auth_event, frame


def _rule(detection: str, *, logsource: str = "product: ocsf\n  category: authentication") -> str:
    return textwrap.dedent(
        """\
        title: test rule
        id: 11111111-2222-4333-8444-555555555555
        logsource:
          {logsource}
        detection:
        {detection}
        level: low
        """
    ).format(logsource=logsource, detection=textwrap.indent(textwrap.dedent(detection), "  "))


def _matches(detection: str, rows: list[dict]) -> list[str]:
    """uids matched, asserting both engines agree."""
    ruleset = RuleSet.from_texts([("test.yml", _rule(detection))])
    assert not ruleset.errors, ruleset.errors
    (rule,) = ruleset.rules
    events = ruleset.prepare(frame(rows))
    vectorized = events.filter(rule.expr)["tw_uid"].to_list()
    oracle = [r["tw_uid"] for r in events.to_dicts() if rule.matches(r)]
    assert vectorized == oracle
    return vectorized


ROWS = [
    auth_event("a", user="Alice@Contoso.com", ip="10.1.2.3"),
    auth_event("b", user="bob@contoso.com", ip="192.168.7.9", code="50053"),
    auth_event("c", user=None, ip=None, code=None, status_id=1),
    auth_event(
        "d",
        user="svc-legacy-test@contoso.com",
        ip="203.0.113.9",
        code="0",
        status_id=1,
        raw={"id": "d", "clientAppUsed": "IMAP4", "nested": {"Key": "Value"}},
    ),
]


def test_string_match_is_case_insensitive() -> None:
    assert _matches("selection:\n  user.name: alice@contoso.com\ncondition: selection", ROWS) == [
        "a"
    ]


def test_cased_modifier_is_case_sensitive() -> None:
    assert (
        _matches("selection:\n  user.name|cased: alice@contoso.com\ncondition: selection", ROWS)
        == []
    )
    assert _matches(
        "selection:\n  user.name|cased: Alice@Contoso.com\ncondition: selection", ROWS
    ) == ["a"]


def test_wildcards_and_modifiers() -> None:
    assert _matches("s:\n  user.name: '*@contoso.com'\ncondition: s", ROWS) == ["a", "b", "d"]
    assert _matches("s:\n  user.name|startswith: SVC-\ncondition: s", ROWS) == ["d"]
    assert _matches("s:\n  user.name|contains: legacy\ncondition: s", ROWS) == ["d"]
    assert _matches("s:\n  user.name: 'b?b@*'\ncondition: s", ROWS) == ["b"]
    assert _matches("s:\n  user.name|contains|all: [svc, test]\ncondition: s", ROWS) == ["d"]


def test_escaped_wildcard_is_literal() -> None:
    rows = [auth_event("x", user="a*b"), auth_event("y", user="aXb")]
    assert _matches("s:\n  user.name: 'a\\*b'\ncondition: s", rows) == ["x"]


def test_missing_field_never_matches_and_not_of_it_is_true() -> None:
    assert _matches("s:\n  user.name|contains: contoso\ncondition: not s", ROWS) == ["c"]
    assert _matches("s:\n  src_endpoint.ip: null\ncondition: s", ROWS) == ["c"]
    assert _matches("s:\n  user.name|exists: false\ncondition: s", ROWS) == ["c"]


def test_numbers_match_string_columns_and_strings_match_numbers() -> None:
    assert _matches("s:\n  status_code: 50053\ncondition: s", ROWS) == ["b"]
    assert _matches("s:\n  status_id: '1'\ncondition: s", ROWS) == ["c", "d"]
    assert _matches("s:\n  status_code|gte: 50100\ncondition: s", ROWS) == ["a"]


def test_cidr_modifier() -> None:
    assert _matches("s:\n  src_endpoint.ip|cidr: 10.0.0.0/8\ncondition: s", ROWS) == ["a"]
    assert _matches(
        "s:\n  src_endpoint.ip|cidr:\n    - 192.168.0.0/16\n    - 203.0.113.0/24\ncondition: s",
        ROWS,
    ) == ["b", "d"]


def test_regex_modifier_with_flags() -> None:
    assert _matches("s:\n  user.name|re: '^[a-c].*@'\ncondition: s", ROWS) == ["b"]
    assert _matches("s:\n  user.name|re|i: '^[a-c].*@'\ncondition: s", ROWS) == ["a", "b"]


def test_regex_with_look_around_is_rejected_not_run() -> None:
    ruleset = RuleSet.from_texts([("r.yml", _rule("s:\n  user.name|re: '(?<=a)b'\ncondition: s"))])
    assert not ruleset.rules
    (error,) = ruleset.errors
    assert "(?<=a)b" in str(error)
    assert "linear-time" in str(error) or "invalid perl operator" in str(error)
    assert error.path == "r.yml"


def test_raw_fallback_reads_the_original_record() -> None:
    assert _matches("s:\n  raw.clientAppUsed: imap4\ncondition: s", ROWS) == ["d"]
    assert _matches("s:\n  raw.nested.Key: value\ncondition: s", ROWS) == ["d"]


def test_keywords_search_the_raw_record() -> None:
    assert _matches("keywords:\n  - IMAP4\ncondition: keywords", ROWS) == ["d"]


def test_one_of_and_all_of_patterns() -> None:
    detection = """\
        sel_user:
          user.name|endswith: '@contoso.com'
        sel_code:
          status_code: '50126'
        filter_ip:
          src_endpoint.ip|startswith: '192.'
        condition: all of sel_* and not 1 of filter_*
        """
    assert _matches(detection, ROWS) == ["a"]


def test_unknown_ocsf_field_is_a_rule_error_with_a_suggestion_and_line() -> None:
    ruleset = RuleSet.from_texts(
        [("bad.yml", _rule("s:\n  src_endpoint.iq: 1.2.3.4\ncondition: s"))]
    )
    (error,) = ruleset.errors
    assert "src_endpoint.ip" in str(error)
    assert error.line == 8  # the line of `src_endpoint.iq:`


def test_unsupported_logsource_names_the_supported_ones() -> None:
    text = _rule(
        "s:\n  a: b\ncondition: s", logsource="product: windows\n  category: process_creation"
    )
    (error,) = RuleSet.from_texts([("w.yml", text)]).errors
    assert "not supported" in str(error)
    assert error.line == 3


def test_yaml_syntax_error_names_file_and_line() -> None:
    (error,) = RuleSet.from_texts([("broken.yml", "title: x\ndetection: [unclosed\n")]).errors
    assert error.path == "broken.yml"
    assert error.line is not None


def test_builtin_rules_all_load() -> None:
    from tenantwatch.detect.builtin import builtin_rules_path

    ruleset = RuleSet.from_paths([builtin_rules_path()])
    assert not ruleset.errors
    assert {r.name for r in ruleset.rules} >= {
        "tw_signin_wrong_password",
        "tw_single_factor_signin",
    }
    assert {c.name for c in ruleset.correlations} >= {"tw_password_spray_per_user"}


def test_rule_error_is_raised_for_missing_correlation_reference() -> None:
    text = textwrap.dedent(
        """\
        title: corr
        id: 22222222-2222-4333-8444-555555555555
        correlation:
          type: event_count
          rules: [does_not_exist]
          group-by: [user.name]
          timespan: 1h
          condition: {gte: 3}
        """
    )
    (error,) = RuleSet.from_texts([("c.yml", text)]).errors
    assert isinstance(error, RuleError)
    assert "does_not_exist" in str(error)


@pytest.mark.parametrize("op", ["lt", "lte"])
def test_below_threshold_correlations_are_reported_unsupported(op: str) -> None:
    base = _rule("s:\n  status_id: 2\ncondition: s").replace(
        "title: test rule", "title: base\nname: base"
    )
    corr = textwrap.dedent(
        f"""\
        title: corr
        id: 33333333-2222-4333-8444-555555555555
        correlation:
          type: event_count
          rules: [base]
          group-by: [user.name]
          timespan: 1h
          condition: {{{op}: 3}}
        """
    )
    ruleset = RuleSet.from_texts([("b.yml", base), ("c.yml", corr)])
    assert [str(e) for e in ruleset.errors]
    assert "not supported" in str(ruleset.errors[0])
