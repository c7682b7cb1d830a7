"""``tenantwatch rules test | lint | coverage`` and ``tenantwatch detect``: detection rules as
code, offline."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import yaml
from rich.console import Console
from rich.table import Table

from tenantwatch.detect import DetectionEngine, RuleSet
from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.detect.examples import find_test_files, load_examples, run_examples
from tenantwatch.detect.logsources import LOGSOURCES
from tenantwatch.detect.rules import CorrelationRule, DetectionRule
from tenantwatch.errors import ConfigError, RuleError
from tenantwatch.model.batch import RawBatch
from tenantwatch.model.clock import utcnow
from tenantwatch.normalize import normalize_many
from tenantwatch.normalize.columns import empty_events
from tenantwatch.sources.files import read_records_from

__all__ = [
    "Coverage",
    "detect_files",
    "lint_rules",
    "load_placeholders",
    "rule_coverage",
    "rule_paths",
    "test_rules",
]


def rule_paths(paths: Sequence[Path] | None) -> list[Path]:
    """The given rule files and directories, or the built-in pack."""
    chosen = list(paths) if paths else [builtin_rules_path()]
    for p in chosen:
        if not p.exists():
            raise ConfigError(f"{p}: no such file or directory", fix="give a rule file or folder")
    return chosen


def load_placeholders(path: Path | None) -> dict[str, list[str]]:
    """``name: [values]`` from a YAML file (values of ``%name%`` placeholders)."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read placeholders: {exc}", path=str(path)) from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list | str | int) for v in data.values()
    ):
        raise ConfigError(
            "placeholders must map each name to a list of values",
            path=str(path),
            fix="e.g. `Known_Location: [US, DE]`",
        )
    return {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in data.items()}


# -- test ---------------------------------------------------------------------------------------


def test_rules(paths: list[Path], console: Console) -> bool:
    """Run every rule's examples; print one line per example; True if all passed."""
    ruleset = RuleSet.from_paths(paths)
    for error in ruleset.errors:
        console.print(f"[red]rule not loaded[/] {error}", highlight=False)
    files = find_test_files(paths)
    passed = failed = 0
    tested: set[str] = set()
    for file in files:
        try:
            examples = load_examples(file)
        except RuleError as exc:
            console.print(f"[red]FAIL[/] {exc}", highlight=False)
            failed += 1
            continue
        for result in run_examples(ruleset, examples):
            e = result.example
            tested.add(e.rule)
            if result.passed:
                passed += 1
                console.print(
                    f"[green]ok[/]   {e.rule}: {e.description} ({e.expect})", highlight=False
                )
            else:
                failed += 1
                console.print(
                    f"[red]FAIL[/] {e.path}:{e.line}: {e.rule}: {e.description} "
                    f"(expected {e.expect}): {result.detail}",
                    highlight=False,
                )
    every: list[DetectionRule | CorrelationRule] = [*ruleset.rules, *ruleset.correlations]
    untested = [
        r.name or r.id for r in every if (r.name or r.id) not in tested and r.id not in tested
    ]
    for name in untested:
        console.print(f"[yellow]no examples[/] {name}", highlight=False)
    console.print(
        f"{passed} passed, {failed} failed, {len(untested)} rules without examples, "
        f"{len(ruleset.errors)} rules not loaded"
    )
    return failed == 0 and not ruleset.errors


# -- lint ---------------------------------------------------------------------------------------

# pySigma validators that do not fit tenantwatch's conventions, and why
SKIPPED_VALIDATORS = {
    # tenantwatch's own attributes (entity, suppress, alert) are documented custom attributes
    "custom_attributes": "tenantwatch reads its own attributes: entity, suppress, alert",
}


def lint_rules(paths: list[Path], console: Console) -> bool:
    """pySigma's validators, then tenantwatch's checks; True if nothing was found."""
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError
    from sigma.plugins import InstalledSigmaPlugins
    from sigma.rule import SigmaRule
    from sigma.validation import SigmaValidator

    validators = InstalledSigmaPlugins.autodiscover().validators
    files = [
        f
        for p in paths
        for f in (sorted(p.rglob("*.yml")) if p.is_dir() else [p])
        if not f.name.endswith((".tests.yml", ".tests.yaml"))
    ]
    issues: list[str] = []
    try:
        collection = SigmaCollection.load_ruleset([str(f) for f in files], collect_errors=True)
    except SigmaError as exc:
        issues.append(str(exc))
    else:
        rules = [r for r in collection if isinstance(r, SigmaRule)]
        for name, validator_class in sorted(validators.items()):
            if name in SKIPPED_VALIDATORS:
                continue
            try:  # one at a time: some need data from the internet (ATT&CK tags)
                found = SigmaValidator([validator_class]).validate_rules(iter(rules))  # type: ignore[list-item]
            except Exception as exc:
                console.print(
                    f"[dim]validator {name} skipped: {str(exc).splitlines()[0]}[/]",
                    highlight=False,
                )
                continue
            for issue in found:
                where = ", ".join(
                    str(r.source.path) if r.source else (r.title or "?") for r in issue.rules
                )
                issues.append(f"{where}: {issue.severity.name.lower()}: {issue.description}")
    ruleset = RuleSet.from_paths(paths)
    issues.extend(str(e) for e in ruleset.errors)
    tested = {e.rule for f in find_test_files(paths) for e in _safe_examples(f)}
    expectations: dict[str, set[str]] = defaultdict(set)
    for f in find_test_files(paths):
        for e in _safe_examples(f):
            expectations[e.rule].add(e.expect)
    every: list[DetectionRule | CorrelationRule] = [*ruleset.rules, *ruleset.correlations]
    for rule in every:
        label = rule.name or rule.id
        where = rule.path
        if not rule.name:
            issues.append(f"{where}: rule has no `name:` (correlations refer to rules by name)")
        if not rule.description:
            issues.append(f"{where}: rule has no description")
        if not rule.techniques:
            issues.append(f"{where}: no ATT&CK technique tag (attack.tNNNN)")
        if label not in tested and rule.id not in tested:
            issues.append(f"{where}: no examples (add {Path(where).stem}.tests.yml)")
        else:
            seen = expectations.get(label, set()) | expectations.get(rule.id, set())
            if not seen & {"finding", "match"}:
                issues.append(f"{where}: examples have no true case")
            if not seen & {"no finding", "no match"}:
                issues.append(f"{where}: examples have no false case")
    for line in issues:
        console.print(f"[yellow]{line}[/]", highlight=False)
    console.print(f"{len(files)} rule files, {len(issues)} issues")
    return not issues


def _safe_examples(path: Path) -> list[Any]:
    try:
        return load_examples(path)
    except RuleError:
        return []


# -- coverage -----------------------------------------------------------------------------------


@dataclass
class Coverage:
    """How many rules load, compile and run, per logsource, and why the others do not."""

    files: int = 0
    rules: int = 0
    compiled: int = 0
    runs: int = 0
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    by_logsource: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def percent(self) -> float:
        return 100.0 * self.runs / self.rules if self.rules else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "rules": self.rules,
            "compiled": self.compiled,
            "runs": self.runs,
            "percent": round(self.percent, 1),
            "unsupported": [{"rule": p, "reason": r} for p, r in self.unsupported],
            "by_logsource": {k: dict(v) for k, v in self.by_logsource.items()},
        }


def rule_coverage(paths: list[Path], placeholders: Mapping[str, Sequence[str]]) -> Coverage:
    """Load every rule under ``paths``, compile it, and run it on a batch of events."""
    files = [
        f
        for p in paths
        for f in (sorted(p.rglob("*.yml")) if p.is_dir() else [p])
        if not f.name.endswith((".tests.yml", ".tests.yaml"))
    ]
    coverage = Coverage(files=len(files))
    logsource_of: dict[str, str] = {}
    for f in files:
        try:
            for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
                if isinstance(doc, dict) and ("detection" in doc or "correlation" in doc):
                    coverage.rules += 1
                    ls = doc.get("logsource") or {}
                    key = (
                        "correlation"
                        if "correlation" in doc
                        else "/".join(
                            str(ls.get(k)) for k in ("product", "service", "category") if ls.get(k)
                        )
                    )
                    logsource_of.setdefault(str(f), key)
                    coverage.by_logsource.setdefault(key, Counter())["rules"] += 1
        except yaml.YAMLError:
            coverage.rules += 1
    ruleset = RuleSet.from_paths(paths, placeholders=placeholders)
    for error in ruleset.errors:
        coverage.unsupported.append((error.path or "?", error.reason))
        key = logsource_of.get(error.path or "", "?")
        coverage.by_logsource.setdefault(key, Counter())["unsupported"] += 1
    coverage.compiled = len(ruleset.rules) + len(ruleset.correlations)
    probe = _probe_events()
    try:
        engine = DetectionEngine(ruleset)
        engine.evaluate(probe)
        prepared = ruleset.prepare(probe)
    except Exception as exc:  # a rule that does not run is reported, never hidden
        coverage.unsupported.append(("(all rules)", f"evaluation failed: {exc}"))
        return coverage
    for rule in ruleset.rules:
        key = logsource_of.get(rule.path, "?")
        try:
            prepared.select(rule.expr)
        except Exception as exc:
            coverage.unsupported.append((rule.path, f"does not run: {exc}".split("\n")[0]))
            coverage.by_logsource.setdefault(key, Counter())["unsupported"] += 1
            continue
        coverage.runs += 1
        coverage.by_logsource.setdefault(key, Counter())["runs"] += 1
    coverage.runs += len(ruleset.correlations)
    coverage.by_logsource.setdefault("correlation", Counter())["runs"] += len(ruleset.correlations)
    return coverage


def _probe_events() -> pl.DataFrame:
    """One event per logsource tenantwatch knows (nulls elsewhere): enough to run every rule."""
    from tenantwatch.normalize.columns import conform

    rows = []
    log_names = [
        n for spec in LOGSOURCES.values() for n in (spec.log_names or (spec.log_prefix or "",))
    ]
    for i, (class_uid, log_name) in enumerate(
        (c, n) for c in (3001, 3002, 3004, 3005, 3006, 4009, 6003, 6006) for n in log_names
    ):
        rows.append(
            {
                "tw_tenant": "probe",
                "tw_uid": f"probe-{i}",
                "time": utcnow(),
                "class_uid": class_uid,
                "metadata": {"uid": f"probe-{i}", "log_name": log_name},
                "raw_data": '{"probe": true}',
            }
        )
    schema = empty_events().schema
    frame = pl.DataFrame({k: [r.get(k) for r in rows] for k in schema}, schema=schema)
    return conform(frame)


def print_coverage(coverage: Coverage, console: Console) -> None:
    table = Table(title="rule coverage")
    for column in ("logsource", "rules", "run", "unsupported", "events from"):
        table.add_column(column)
    for key, counts in sorted(coverage.by_logsource.items()):
        product, _, rest = key.partition("/")
        spec = LOGSOURCES.get((product, rest.split("/")[0]))
        table.add_row(
            key,
            str(counts.get("rules", 0)),
            str(counts.get("runs", 0)),
            str(counts.get("unsupported", 0)),
            spec.produced_by if spec else ("OCSF events of any feed" if product == "ocsf" else ""),
        )
    console.print(table)
    for where, reason in coverage.unsupported:
        console.print(f"[yellow]unsupported[/] {where}: {reason}", highlight=False)
    console.print(
        f"{coverage.rules} rules in {coverage.files} files: {coverage.compiled} compile, "
        f"{coverage.runs} compile and run ({coverage.percent:.1f} %), "
        f"{len(coverage.unsupported)} unsupported"
    )


# -- detect -------------------------------------------------------------------------------------


def detect_files(
    files: list[Path],
    rules: list[Path],
    placeholders: Mapping[str, Sequence[str]],
    *,
    fmt: str,
    tenant: str,
    console: Console,
) -> int:
    """Normalize exported records, run the rules on them in time order, print each finding as an
    OCSF Detection Finding (one JSON per line). The number of findings."""
    ruleset = RuleSet.from_paths(rules, placeholders=placeholders)
    for error in ruleset.errors:
        console.print(f"[yellow]rule not loaded[/] {error}", highlight=False)
    by_shape: dict[str, list[bytes]] = defaultdict(list)
    for path in files:
        for record in read_records_from(path, fmt):
            if record.problem:
                console.print(
                    f"[yellow]skipped[/] {record.where}: {record.problem}", highlight=False
                )
                continue
            by_shape[record.shape].append(record.raw)
    batch = normalize_many(
        [RawBatch(tenant, "detect", shape, shape, raw, utcnow()) for shape, raw in by_shape.items()]
    )
    for q in batch.quarantined:
        console.print(f"[yellow]quarantined[/] {q.reason}", highlight=False)
    engine = DetectionEngine(ruleset)
    findings: dict[str, Any] = {}
    for change in engine.evaluate(batch.events.sort("time")):
        findings[change.finding.uid] = change.finding
    out = sys.stdout.buffer
    for finding in sorted(findings.values(), key=lambda f: f.first_seen):
        out.write(orjson.dumps(finding.to_ocsf()) + b"\n")
    out.flush()
    console.print(
        f"{batch.events.height} events from {sum(len(v) for v in by_shape.values())} records, "
        f"{len(findings)} findings",
        highlight=False,
    )
    return len(findings)
