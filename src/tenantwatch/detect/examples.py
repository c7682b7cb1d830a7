"""Rule examples: true and false records for a rule, run like tests (``tenantwatch rules test``).

Beside ``tw_some_rule.yml`` lives ``tw_some_rule.tests.yml``::

    rule: tw_some_rule              # the rule's name or id
    examples:
      - description: what this case is
        expect: finding             # finding | no finding | match | no match
        records:                    # records as Microsoft writes them (any shape tenantwatch
          - {...}                   # reads: Graph, Activity API, Azure Monitor), in time order

Each example runs on its own: the records are normalized, then go through a fresh detection
engine with every rule loaded, as one batch. ``finding`` expects a finding of the rule (for a
correlation, once all records are in); ``match`` expects the rule's condition to hold on at least
one of the events (for rules that raise no finding themselves, such as the base rules of a
correlation). Every example also checks that the Polars engine and the Python oracle agree on
the rule for every event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import yaml

from tenantwatch.detect.engine import DetectionEngine
from tenantwatch.detect.fields import EventView
from tenantwatch.detect.rules import CorrelationRule, DetectionRule, RuleSet
from tenantwatch.errors import RuleError
from tenantwatch.model.batch import RawBatch
from tenantwatch.normalize import normalize_many
from tenantwatch.sources.files import detect_shape

__all__ = ["Example", "ExampleResult", "find_test_files", "load_examples", "run_examples"]

EXPECTATIONS = ("finding", "no finding", "match", "no match")
FETCHED = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Example:
    """One case of a rule's tests file."""

    rule: str
    description: str
    expect: str
    records: tuple[dict[str, Any], ...]
    path: str
    line: int


@dataclass(frozen=True)
class ExampleResult:
    example: Example
    passed: bool
    detail: str = ""


def find_test_files(paths: list[Path]) -> list[Path]:
    """Every ``*.tests.yml`` under ``paths``."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(p.rglob("*.tests.yml")) + sorted(p.rglob("*.tests.yaml")))
        elif p.name.endswith((".tests.yml", ".tests.yaml")):
            found.append(p)
    return found


def load_examples(path: Path) -> list[Example]:
    """The examples of one tests file; a malformed file is a :class:`RuleError` with its line."""
    where = str(path)
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RuleError(
            f"not valid YAML: {exc}".split("\n")[0],
            path=where,
            line=mark.line + 1 if mark else None,
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("rule"), str):
        raise RuleError("a tests file starts with `rule: <name or id>`", path=where, line=1)
    cases = data.get("examples")
    if not isinstance(cases, list) or not cases:
        raise RuleError("`examples:` must list at least one example", path=where, line=1)
    lines = _item_lines(node, "examples")
    examples = []
    for i, case in enumerate(cases):
        line = lines[i] if i < len(lines) else 1
        if not isinstance(case, dict):
            raise RuleError(f"example {i + 1} is not a mapping", path=where, line=line)
        expect = case.get("expect")
        if expect not in EXPECTATIONS:
            raise RuleError(
                f"example {i + 1}: expect must be one of {', '.join(EXPECTATIONS)}",
                path=where,
                line=line,
            )
        records = case.get("records")
        if not isinstance(records, list) or not records:
            raise RuleError(f"example {i + 1}: `records:` lists no records", path=where, line=line)
        for j, record in enumerate(records):
            if detect_shape(record) is None:
                raise RuleError(
                    f"example {i + 1}, record {j + 1}: not a record of a shape tenantwatch reads "
                    "(Graph signIn or directoryAudit, Activity API, Azure Monitor)",
                    path=where,
                    line=line,
                )
        examples.append(
            Example(
                rule=data["rule"],
                description=str(case.get("description") or f"example {i + 1}"),
                expect=str(expect),
                records=tuple(records),
                path=where,
                line=line,
            )
        )
    return examples


def _item_lines(node: Any, key: str) -> list[int]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if k.value == key and isinstance(v, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in v.value]
    return []


def run_examples(ruleset: RuleSet, examples: list[Example]) -> list[ExampleResult]:
    return [_run(ruleset, e) for e in examples]


def _run(ruleset: RuleSet, example: Example) -> ExampleResult:
    try:
        target = ruleset.by_id(example.rule)
    except KeyError:
        return ExampleResult(example, False, f"rule {example.rule!r} is not loaded")
    by_shape: dict[str, list[bytes]] = defaultdict(list)
    for record in example.records:
        shape = detect_shape(record)
        assert shape is not None  # checked on load
        by_shape[shape].append(orjson.dumps(record))
    batch = normalize_many(
        [
            RawBatch("example", "examples", shape, shape, raw, FETCHED)
            for shape, raw in by_shape.items()
        ]
    )
    if batch.quarantined:
        reasons = "; ".join(q.reason for q in batch.quarantined)
        return ExampleResult(example, False, f"records not normalized: {reasons}")
    events = batch.events.sort("time")
    for rule in _detection_rules(target):
        disagreement = _engines_disagree(ruleset, rule, events)
        if disagreement:
            return ExampleResult(example, False, disagreement)
    if example.expect in ("match", "no match"):
        if not isinstance(target, DetectionRule):
            return ExampleResult(
                example, False, "`match` is for detection rules; expect a finding of a correlation"
            )
        matched = any(target.matches(row) for row in events.to_dicts())
        wanted = example.expect == "match"
        if matched != wanted:
            return ExampleResult(
                example,
                False,
                "the rule matched none of the events" if wanted else "the rule matched",
            )
        return ExampleResult(example, True)
    engine = DetectionEngine(ruleset)
    findings = [c.finding for c in engine.evaluate(events) if c.finding.rule_id == target.id]
    wanted = example.expect == "finding"
    if bool(findings) != wanted:
        if wanted:
            return ExampleResult(example, False, "no finding of the rule")
        entities = ", ".join(f.entity_key for f in findings)
        return ExampleResult(example, False, f"unexpected finding ({entities})")
    return ExampleResult(example, True)


def _detection_rules(rule: DetectionRule | CorrelationRule) -> list[DetectionRule]:
    if isinstance(rule, DetectionRule):
        return [rule]
    return [d for r in rule.rules for d in _detection_rules(r)]


def _engines_disagree(ruleset: RuleSet, rule: DetectionRule, events: pl.DataFrame) -> str:
    prepared = ruleset.prepare(events)
    vectorized = prepared.select(rule.expr.fill_null(False)).to_series().to_list()
    for i, row in enumerate(events.to_dicts()):
        oracle = rule.logsource.accepts(row) and rule.predicate(EventView(row))
        if oracle != vectorized[i]:
            return (
                f"engines disagree on {rule.name or rule.id} for event {i + 1}: "
                f"Polars {vectorized[i]}, oracle {oracle}"
            )
    return ""
