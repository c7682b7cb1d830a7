"""Loading detection rules: Sigma YAML parsed by pySigma, compiled for both engines.

A rule that cannot be loaded or compiled never stops the others: :class:`RuleSet` keeps a
:class:`~tenantwatch.errors.RuleError` for it (file, line when it can be found, and reason).

Two custom attributes shape findings, both optional:

- ``entity``: fields naming who or what a finding is about (default ``user.name``);
- ``suppress``: how long one entity's finding absorbs further matches (default ``1h``);
- ``alert: always``: the rule raises its own findings even when a correlation uses it (by
  Sigma's rules, a rule a correlation uses is silent unless the correlation says
  ``generate: true``, which would unmute all the rules it uses).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationConditionOperator, SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import ValueListPlaceholderTransformation
from sigma.rule import SigmaRule

from tenantwatch.detect.atoms import And, Atom, Node, Not, Or, build_tree, referenced_fields
from tenantwatch.detect.fields import EventView, FieldRef, prepare
from tenantwatch.detect.logsources import LogSource, resolve_logsource
from tenantwatch.detect.oracle import Predicate, compile_python
from tenantwatch.detect.vectorized import compile_polars
from tenantwatch.errors import RuleError

__all__ = ["CorrelationRule", "DetectionRule", "RuleSet", "parse_timespan"]

_SPAN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_timespan(text: str) -> timedelta:
    """``30s``, ``15m``, ``1h``, ``7d``, ``2w`` to a timedelta."""
    m = _SPAN.match(str(text))
    if not m:
        raise ValueError(f"invalid timespan {text!r}; use a number and one of s, m, h, d, w")
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    return timedelta(**{units[m[2]]: int(m[1])})


def _techniques(tags: Iterable[Any]) -> tuple[str, ...]:
    out = []
    for tag in tags:
        if getattr(tag, "namespace", "") == "attack" and re.fullmatch(
            r"t\d{4}(\.\d{3})?", str(getattr(tag, "name", ""))
        ):
            out.append(str(tag.name).upper())
    return tuple(out)


@dataclass
class DetectionRule:
    """A compiled Sigma detection rule."""

    id: str
    name: str | None
    title: str
    description: str
    level: str
    techniques: tuple[str, ...]
    logsource: LogSource
    tree: Node
    expr: pl.Expr
    predicate: Predicate
    path: str
    generate: bool = True
    always_alert: bool = False
    entity: tuple[FieldRef, ...] = ()
    observables: tuple[FieldRef, ...] = ()
    suppress: timedelta = timedelta(hours=1)

    @property
    def uses_keywords(self) -> bool:
        """Keywords search the whole raw record (prepared in lower case once per batch)."""
        return any(isinstance(f, Atom) and f.op == "keyword" for f in _atoms_of(self.tree))

    @property
    def fields(self) -> list[FieldRef]:
        """Every field the rule reads (condition, entity, observables)."""
        return [*referenced_fields(self.tree), *self.entity, *self.observables]

    def matches(self, row: dict[str, Any]) -> bool:
        """Oracle evaluation of one event (logsource filter included)."""
        return self.logsource.accepts(row) and self.predicate(EventView(row))


@dataclass
class CorrelationRule:
    """A compiled Sigma correlation rule over detection rules or other correlations.

    ``group_by`` holds the names the rule groups by (field names, or ``aliases`` that name a
    different field in each rule); ``fields`` gives, per referenced rule, where each of those
    names is read (and the counted field for ``value_count``)."""

    id: str
    name: str | None
    title: str
    description: str
    level: str
    techniques: tuple[str, ...]
    type: str
    rules: list[DetectionRule | CorrelationRule]
    group_by: tuple[str, ...]
    timespan: timedelta
    op: str
    count: float
    value_field: str | None
    path: str
    suppress: timedelta = timedelta(hours=1)
    generate_base: bool = False
    # per referenced rule (by id): group name -> the field (detection rule) or the referenced
    # correlation's own group name; "" -> the counted field
    fields: dict[str, dict[str, str]] = field(default_factory=dict)

    def group_refs(self, rule: DetectionRule) -> tuple[FieldRef, ...]:
        names = self.fields.get(rule.id, {})
        return tuple(rule.logsource.resolve(names.get(g, g)) for g in self.group_by)

    def value_ref(self, rule: DetectionRule) -> FieldRef | None:
        if not self.value_field:
            return None
        return rule.logsource.resolve(self.fields.get(rule.id, {}).get("", self.value_field))

    def child_groups(self, child: CorrelationRule) -> tuple[str, ...]:
        """For a referenced correlation: which of its group names feeds each of ours."""
        names = self.fields.get(child.id, {})
        return tuple(names.get(g, g) for g in self.group_by)


@dataclass
class RuleSet:
    """Rules loaded from files, with a reason for every rule that could not be used."""

    rules: list[DetectionRule] = field(default_factory=list)
    correlations: list[CorrelationRule] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)

    @classmethod
    def from_paths(
        cls, paths: Iterable[Path | str], *, placeholders: Mapping[str, Sequence[str]] | None = None
    ) -> RuleSet:
        """Load every ``.yml``/``.yaml`` rule under ``paths`` (files or directories).

        Files ending ``.tests.yml`` hold rule examples and are skipped here. ``placeholders``
        gives the values of ``%name%`` placeholders (SigmaHQ's ``rules-placeholder``).
        """
        files: list[Path] = []
        for p in map(Path, paths):
            if p.is_dir():
                files.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yml", ".yaml")))
            else:
                files.append(p)
        files = [f for f in files if not f.name.endswith((".tests.yml", ".tests.yaml"))]
        return cls.from_texts(
            ((str(f), f.read_text(encoding="utf-8")) for f in files), placeholders=placeholders
        )

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[tuple[str, str]],
        *,
        placeholders: Mapping[str, Sequence[str]] | None = None,
    ) -> RuleSet:
        ruleset = cls()
        pipeline = _placeholder_pipeline(placeholders or {})
        parsed: list[tuple[str, str, Any]] = []
        for where, text in texts:
            try:
                collection = SigmaCollection.from_yaml(
                    text,
                    collect_errors=True,
                    source=SigmaRuleLocation(Path(where)),
                    resolve_references=False,  # references are resolved across all files below
                )
            except (SigmaError, yaml.YAMLError) as exc:
                ruleset.errors.append(RuleError(_reason(exc), path=where, line=_yaml_line(exc)))
                continue
            for rule in collection.rules:
                if pipeline is not None and isinstance(rule, SigmaRule):
                    try:
                        pipeline.apply(rule)
                    except SigmaError as exc:
                        ruleset.errors.append(RuleError(_reason(exc), path=where))
                        continue
                parsed.append((where, text, rule))
        # correlations name the rules they use, possibly from other files (and correlations
        # may use correlations: compile in dependency order)
        by_ref: dict[str, DetectionRule | CorrelationRule] = {}
        for where, text, rule in parsed:
            if isinstance(rule, SigmaRule):
                try:
                    compiled = _compile_rule(rule, where, text)
                except RuleError as exc:
                    ruleset.errors.append(exc)
                    continue
                ruleset.rules.append(compiled)
                _register(by_ref, compiled)
        pending = [(w, t, r) for w, t, r in parsed if isinstance(r, SigmaCorrelationRule)]
        while pending:
            waiting = []
            for where, text, rule in pending:
                assert isinstance(rule, SigmaCorrelationRule)
                if any(
                    ref.reference not in by_ref and _is_pending(ref.reference, pending)
                    for ref in rule.rules or []
                ):
                    waiting.append((where, text, rule))
                    continue
                try:
                    corr = _compile_correlation(rule, where, text, by_ref)
                except RuleError as exc:
                    ruleset.errors.append(exc)
                    continue
                ruleset.correlations.append(corr)
                _register(by_ref, corr)
            if len(waiting) == len(pending):  # a cycle: report each
                for where, text, _ in waiting:
                    ruleset.errors.append(
                        RuleError(
                            "correlation refers to itself through other correlations (a cycle)",
                            path=where,
                            line=line_of(text, "rules"),
                        )
                    )
                break
            pending = waiting
        # rules referenced by a correlation alert on their own only if the correlation says so
        # (a correlation used by another correlation keeps raising its own findings)
        for corr in ruleset.correlations:
            for r in corr.rules:
                if isinstance(r, DetectionRule):
                    r.generate = r.generate and (corr.generate_base or r.always_alert)
        return ruleset

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        """``events`` with the columns the rules' list-crossing raw fields need."""
        refs = [f for r in self.rules for f in r.fields]
        for corr in self.correlations:
            for r in corr.rules:
                if isinstance(r, DetectionRule):
                    refs.extend(corr.group_refs(r))
                    value = corr.value_ref(r)
                    if value is not None:
                        refs.append(value)
        return prepare(events, refs, lower_raw=any(r.uses_keywords for r in self.rules))

    def by_id(self, rule_id: str) -> DetectionRule | CorrelationRule:
        candidates: list[DetectionRule | CorrelationRule] = [*self.rules, *self.correlations]
        for r in candidates:
            if rule_id in (r.id, r.name):
                return r
        raise KeyError(rule_id)


def _atoms_of(node: Node) -> list[Atom]:
    if isinstance(node, Atom):
        return [node]
    if isinstance(node, Not):
        return _atoms_of(node.item)
    assert isinstance(node, And | Or)
    return [a for item in node.items for a in _atoms_of(item)]


def _placeholder_pipeline(values: Mapping[str, Sequence[str]]) -> ProcessingPipeline | None:
    """pySigma's placeholder replacement for the placeholders given values (others stay, and
    the rules using them are reported)."""
    if not values:
        return None
    return ProcessingPipeline(
        name="tenantwatch placeholders",
        items=[ProcessingItem(ValueListPlaceholderTransformation(include=list(values)))],
        vars={k: [str(v) for v in vs] for k, vs in values.items()},
    )


def _reason(exc: Exception) -> str:
    return str(exc).split("\n")[0]


def _yaml_line(exc: Exception) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def line_of(text: str, needle: str) -> int | None:
    """The 1-based line of the first YAML mapping key equal to or starting with ``needle``."""
    try:
        docs = list(yaml.compose_all(text))
    except yaml.YAMLError:
        return None
    stack: list[Any] = [d for d in docs if d is not None]
    best: int | None = None
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                k = str(key.value)
                if k == needle or k.split("|", maxsplit=1)[0] == needle:
                    line = key.start_mark.line + 1
                    best = line if best is None else min(best, line)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return best


def _compile_rule(rule: SigmaRule, where: str, text: str) -> DetectionRule:
    if rule.errors:
        raise RuleError(_reason(rule.errors[0]), path=where)
    rule_id = str(rule.id) if rule.id else (rule.name or rule.title)
    ls = rule.logsource
    try:
        logsource = resolve_logsource(ls.product, ls.category, ls.service, where=where)
    except RuleError as exc:
        exc.line = line_of(text, "logsource")
        raise RuleError(exc.reason, path=where, line=exc.line) from None
    try:
        conditions = rule.detection.parsed_condition
        trees = [build_tree(c.parsed, logsource.resolve) for c in conditions]
    except RuleError as exc:
        message = exc.reason
        field_name = re.search(r"field '([^']+)'", message)
        line = line_of(text, field_name[1]) if field_name else line_of(text, "detection")
        raise RuleError(message, path=where, line=line) from None
    except SigmaError as exc:
        raise RuleError(_reason(exc), path=where, line=line_of(text, "condition")) from None
    tree: Node = trees[0] if len(trees) == 1 else _or(trees)
    custom = rule.custom_attributes or {}
    entity_names = custom.get("entity") or ["user.name"]
    if isinstance(entity_names, str):
        entity_names = [entity_names]
    try:
        entity = tuple(logsource.resolve(str(n)) for n in entity_names)
        observables = tuple(logsource.resolve(str(n)) for n in (rule.fields or []))
        suppress = parse_timespan(custom.get("suppress", "1h"))
        alert = str(custom.get("alert", "")).lower()
        if alert not in ("", "always"):
            raise ValueError(f"alert: {custom['alert']!r}; the only value is `always`")
    except RuleError as exc:
        raise RuleError(exc.reason, path=where, line=line_of(text, "entity")) from None
    except ValueError as exc:
        key = "alert" if "alert" in str(exc) else "suppress"
        raise RuleError(_reason(exc), path=where, line=line_of(text, key)) from None
    condition = logsource.filter_expr() & compile_polars(tree)
    return DetectionRule(
        id=rule_id,
        name=rule.name,
        title=rule.title,
        description=(rule.description or "").strip(),
        level=str(rule.level.name).lower() if rule.level else "medium",
        techniques=_techniques(rule.tags),
        logsource=logsource,
        tree=tree,
        expr=condition,
        predicate=compile_python(tree),
        path=where,
        entity=entity,
        observables=observables,
        suppress=suppress,
        always_alert=alert == "always",
    )


def _or(trees: list[Node]) -> Node:
    return Or(tuple(trees))


def _register(by_ref: dict[str, DetectionRule | CorrelationRule], rule: Any) -> None:
    by_ref[rule.id] = rule
    if rule.name:
        by_ref[rule.name] = rule


def _is_pending(reference: str, pending: list[tuple[str, str, Any]]) -> bool:
    return any(reference in (str(r.id), r.name) for _, _, r in pending)


SUPPORTED_OPS = {
    SigmaCorrelationConditionOperator.GTE: "gte",
    SigmaCorrelationConditionOperator.GT: "gt",
}


def _compile_correlation(
    rule: SigmaCorrelationRule,
    where: str,
    text: str,
    by_ref: dict[str, DetectionRule | CorrelationRule],
) -> CorrelationRule:
    rule_id = str(rule.id) if rule.id else (rule.name or rule.title)
    kind = str(rule.type).lower()
    if kind not in ("event_count", "value_count", "temporal", "temporal_ordered"):
        raise RuleError(f"correlation type {kind} is not supported", path=where)
    refs: list[DetectionRule | CorrelationRule] = []
    for ref in rule.rules or []:
        target = by_ref.get(ref.reference)
        if target is None:
            raise RuleError(
                f"correlation refers to rule {ref.reference!r}, which is not loaded "
                "(check its name/id, or the errors of that rule)",
                path=where,
                line=line_of(text, "rules"),
            )
        refs.append(target)
    condition = rule.condition
    op = SUPPORTED_OPS.get(getattr(condition, "op", None))  # type: ignore[arg-type]
    if kind in ("event_count", "value_count") and op is None:
        raise RuleError(
            f"correlation condition {getattr(condition, 'op', '?')} is not supported "
            "(gte and gt are; thresholds below N need window closing)",
            path=where,
            line=line_of(text, "condition"),
        )
    value_field = getattr(condition, "fieldref", None)
    if isinstance(value_field, list):
        value_field = value_field[0] if value_field else None
    group_by = tuple(rule.group_by or [])
    # aliases: a group name that is a different field in each referenced rule
    aliases: dict[str, dict[str, str]] = {}
    for alias, spec in (rule.aliases.aliases if rule.aliases else {}).items():
        for ref, field_name in spec.mapping.items():
            target = by_ref.get(ref.reference)
            if target is None or all(target is not r for r in refs):
                raise RuleError(
                    f"alias {alias!r} names rule {ref.reference!r}, which this correlation "
                    "does not use",
                    path=where,
                    line=line_of(text, "aliases"),
                )
            aliases.setdefault(target.id, {})[alias] = str(field_name)
    fields: dict[str, dict[str, str]] = {}
    for r in refs:
        names = dict(aliases.get(r.id, {}))
        if value_field:
            names[""] = names.get(value_field, value_field)
        fields[r.id] = names
        if isinstance(r, CorrelationRule):
            if value_field:
                raise RuleError(
                    f"value_count over correlation {r.name or r.id!r}: count values of "
                    "detection rules",
                    path=where,
                    line=line_of(text, "condition"),
                )
            missing = [names.get(g, g) for g in group_by if names.get(g, g) not in r.group_by]
            if missing:
                raise RuleError(
                    f"group-by {missing} is not grouped by correlation {r.name or r.id!r} "
                    f"(it groups by {list(r.group_by)}); use aliases to name its fields",
                    path=where,
                    line=line_of(text, "group-by"),
                )
            continue
        for name in (*group_by, *([value_field] if value_field else [])):
            try:
                r.logsource.resolve(names.get(name, name))
            except RuleError as exc:
                raise RuleError(exc.reason, path=where, line=line_of(text, "group-by")) from None
    custom = rule.custom_attributes or {}
    return CorrelationRule(
        id=rule_id,
        name=rule.name,
        title=rule.title,
        description=(rule.description or "").strip(),
        level=str(rule.level.name).lower() if rule.level else "high",
        techniques=_techniques(rule.tags),
        type=kind,
        rules=refs,
        group_by=group_by,
        timespan=timedelta(seconds=rule.timespan.seconds),
        op=op or "gte",
        count=float(getattr(condition, "count", 1) or 1),
        value_field=value_field,
        path=where,
        suppress=parse_timespan(custom.get("suppress", "1h"))
        if "suppress" in custom
        else max(timedelta(hours=1), timedelta(seconds=rule.timespan.seconds)),
        generate_base=bool(rule.generate),
        fields=fields,
    )
