"""The Polars engine and the Python oracle agree on every rule, event by event: over 100,000
events generated from the rules' own values, over hypothesis-generated events, and over a day of
the emulated tenant's records in every shape.

Rules: the built-in pack, tenantwatch's test rules for Microsoft-named fields
(``tests/files/sigma``), and SigmaHQ's Azure and Microsoft 365 rules when the shared corpus is
beside the checkout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.detect.fields import EventView
from tenantwatch.detect.rules import RuleSet
from tests.detect.events import emulator_events, fuzz_events, rule_values
from tests.detect.helpers import T0, frame

HERE = Path(__file__).parent
CORPUS = Path(__file__).parents[3] / "shared" / "corpus" / "sigma"
PLACEHOLDERS = HERE.parent / "files" / "placeholders.yml"


def _placeholders() -> dict[str, list[str]]:
    import yaml

    return yaml.safe_load(PLACEHOLDERS.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    paths = [builtin_rules_path(), HERE.parent / "files" / "sigma"]
    if CORPUS.exists():
        paths.append(CORPUS)
    rules = RuleSet.from_paths(paths, placeholders=_placeholders())
    assert not rules.errors, rules.errors[:3]
    return rules


def disagreements(ruleset: RuleSet, events: pl.DataFrame) -> tuple[list[str], int]:
    """(rule, event) pairs the engines disagree on, and how many matches there were."""
    prepared = ruleset.prepare(events)
    flags = prepared.select(
        [r.expr.fill_null(False).alias(f"r{i}") for i, r in enumerate(ruleset.rules)]
    )
    columns = [flags[f"r{i}"].to_list() for i in range(len(ruleset.rules))]
    found: list[str] = []
    for row_index, row in enumerate(events.to_dicts()):
        view = EventView(row)
        for rule_index, rule in enumerate(ruleset.rules):
            oracle = rule.logsource.accepts(row) and rule.predicate(view)
            if oracle != columns[rule_index][row_index]:
                found.append(f"{rule.name or rule.id} on {row['tw_uid']}: oracle {oracle}")
    return found, sum(sum(c) for c in columns)


def test_engines_agree_on_100_000_generated_events(ruleset: RuleSet) -> None:
    total = matched_rules = 0
    matches = 0
    hit: set[int] = set()
    for seed in range(5):
        events = fuzz_events(ruleset, 20_000, seed=seed)
        found, count = disagreements(ruleset, events)
        assert not found, found[:5]
        total += events.height
        matches += count
        prepared = ruleset.prepare(events)
        sums = prepared.select(
            [r.expr.fill_null(False).sum().alias(f"r{i}") for i, r in enumerate(ruleset.rules)]
        ).row(0)
        hit |= {i for i, s in enumerate(sums) if s}
    matched_rules = len(hit)
    assert total >= 100_000
    # the events reach the rules: most rules match some, none of them all
    assert matched_rules >= 0.9 * len(ruleset.rules), matched_rules
    assert 0 < matches < total * len(ruleset.rules) / 10


def test_engines_agree_on_a_day_of_emulated_records(ruleset: RuleSet) -> None:
    events = emulator_events(users=60, hours=24)
    found, count = disagreements(ruleset, events)
    assert not found, found[:5]
    assert count > 0


def _event_strategy(ruleset: RuleSet) -> st.SearchStrategy[dict[str, Any]]:
    per_rule, _ = rule_values(ruleset.rules)
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**31), 2**31 - 1),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.text(max_size=12),
    )

    @st.composite
    def event(draw: st.DrawFn) -> dict[str, Any]:
        index = draw(st.integers(0, len(ruleset.rules) - 1))
        rule = ruleset.rules[index]
        ls = rule.logsource
        row: dict[str, Any] = {
            "tw_tenant": "t",
            "tw_uid": f"h{draw(st.integers(0, 10**9))}",
            "time": T0,
            "class_uid": draw(st.sampled_from(ls.class_uids or (3002, 6003))),
            "metadata": {
                "uid": "m",
                "log_name": ls.log_names[0]
                if ls.log_names
                else (ls.log_prefix or "") + draw(st.sampled_from(["Exchange", "", "x"])),
            },
        }
        raw: dict[str, Any] = {}
        unmapped: dict[str, Any] = {}
        for ref, literals in per_rule[index].items():
            text_literals = [str(v) for v in literals] or ["x"]
            value = draw(
                st.one_of(
                    st.sampled_from(text_literals),
                    st.sampled_from(text_literals).map(str.upper),
                    st.tuples(st.text(max_size=3), st.sampled_from(text_literals)).map("".join),
                    scalars,
                )
            )
            if ref.kind == "column":
                if ref.path[0] in ("time", "class_uid", "tw_uid", "tw_tenant"):
                    continue
                _put(row, ref.path, _coerce(value, ref.dtype))
            else:
                _put(raw if ref.kind in ("raw", "raw_list") else unmapped, ref.path, value)
        row["raw_data"] = orjson.dumps(raw).decode()
        row["unmapped"] = orjson.dumps(unmapped).decode() if unmapped else None
        return row

    return event()


def _put(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``value`` at ``path`` (a ``[]`` segment is a one-element list), replacing whatever
    another field left on the way."""
    target = document
    for key in path[:-1]:
        name = key.removesuffix("[]")
        if key.endswith("[]"):
            items = target.get(name)
            if not (isinstance(items, list) and items and isinstance(items[0], dict)):
                items = target[name] = [{}]
            target = items[0]
        else:
            child = target.get(name)
            if not isinstance(child, dict):
                child = target[name] = {}
            target = child
    target[path[-1].removesuffix("[]")] = value


def _coerce(value: Any, dtype: pl.DataType) -> Any:
    if value is None:
        return None
    if isinstance(dtype, pl.List):
        return [str(value)]
    if dtype == pl.Boolean:
        return bool(value) if not isinstance(value, str) else value.lower() == "true"
    if dtype.is_integer():
        try:
            return max(-(2**31), min(2**31 - 1, int(float(value))))
        except (TypeError, ValueError, OverflowError):
            return 0
    if dtype.is_float():
        try:
            return float(value)
        except (TypeError, ValueError):
            return 0.0
    if isinstance(dtype, pl.Datetime):
        return T0
    return str(value) if not isinstance(value, str) else value


def test_engines_agree_on_hypothesis_events(ruleset: RuleSet) -> None:
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(_event_strategy(ruleset), min_size=1, max_size=20))
    def check(rows: list[dict[str, Any]]) -> None:
        found, _ = disagreements(ruleset, frame(rows))
        assert not found, found[:3]

    check()
