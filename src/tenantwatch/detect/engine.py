"""Stage 3: detection. Every rule runs on every batch as one lazy Polars query; Python objects
are built only for the rows that matched; correlations keep incremental per-group state.

Findings are deduplicated per (tenant, rule, entity) within the rule's suppression window: a
further match updates the open finding (count, evidence, last seen) instead of raising a second
alert. The engine's state can be rebuilt after a restart (:meth:`DetectionEngine.warm` with the
recent stored events, :meth:`DetectionEngine.seed` with the stored findings), so a restart
neither forgets a half-built window nor alerts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from tenantwatch.detect.correlation import CorrelationState, Hit
from tenantwatch.detect.fields import FieldRef
from tenantwatch.detect.rules import CorrelationRule, DetectionRule, RuleSet
from tenantwatch.model.clock import utcnow
from tenantwatch.model.finding import Finding, finding_uid

__all__ = ["DetectionEngine", "FindingChange"]

MAX_EVIDENCE = 200
MAX_OBSERVABLES = 100


@dataclass(frozen=True)
class FindingChange:
    """A finding the batch created (``is_new``) or extended."""

    finding: Finding
    is_new: bool


def _evidence(hits: list[Hit]) -> list[str]:
    """The stored events behind hits (a chained correlation's hit stands for its window)."""
    return list(dict.fromkeys(u for h in hits for u in (*h.evidence, h.uid)))


def _text(ref: FieldRef) -> pl.Expr:
    """A field's value as text (several values joined), for entities and observables."""
    if isinstance(ref.dtype, pl.List):
        return ref.expr().cast(pl.List(pl.String)).list.join(", ")
    return ref.expr().cast(pl.String)


class DetectionEngine:
    """Runs a :class:`RuleSet` over event batches."""

    def __init__(self, ruleset: RuleSet, *, lateness: timedelta = timedelta(hours=2)) -> None:
        self.ruleset = ruleset
        self.rules = ruleset.rules
        self.correlations = [CorrelationState(c, lateness=lateness) for c in ruleset.correlations]
        self._feeds: dict[int, list[CorrelationState]] = {}
        for state in self.correlations:
            for rule in state.rule.rules:
                self._feeds.setdefault(id(rule), []).append(state)
        self._active = [r for r in self.rules if r.generate or id(r) in self._feeds]
        self._open: dict[tuple[str, str, str], Finding] = {}
        self.matches = 0

    @property
    def max_timespan(self) -> timedelta:
        """How far back a correlation may reach (a chain of correlations adds up)."""

        def span(rule: CorrelationRule) -> timedelta:
            children = [span(r) for r in rule.rules if isinstance(r, CorrelationRule)]
            return rule.timespan + max(children, default=timedelta(0))

        return max((span(c.rule) for c in self.correlations), default=timedelta(0))

    def seed(self, findings: list[Finding]) -> None:
        """Know the findings already raised (from the store), so they are extended, not repeated."""
        for f in findings:
            key = (f.tenant, f.rule_id, f.entity_key)
            current = self._open.get(key)
            if current is None or f.last_seen > current.last_seen:
                self._open[key] = f

    def warm(self, events: pl.DataFrame) -> None:
        """Replay stored events into the correlation windows without raising findings."""
        self._run(events, emit=False)

    def evaluate(self, events: pl.DataFrame) -> list[FindingChange]:
        """Findings raised or extended by a batch of newly stored events."""
        return self._run(events, emit=True)

    def _run(self, events: pl.DataFrame, *, emit: bool) -> list[FindingChange]:
        if events.is_empty() or not self._active:
            return []
        events = self.ruleset.prepare(events)
        flags = [f"__r{i}" for i in range(len(self._active))]
        matched = (
            events.lazy()
            .with_columns([r.expr.alias(name) for r, name in zip(self._active, flags, strict=True)])
            .filter(pl.any_horizontal(flags))
            .collect()
        )
        if matched.is_empty():
            return []
        # only the rules that matched something get Python-level work
        any_match = matched.select(pl.col(flags).any()).row(0)
        changes: dict[tuple[str, str, str], FindingChange] = {}
        for rule, flag, hit in zip(self._active, flags, any_match, strict=True):
            if not hit:
                continue
            rows = matched.filter(pl.col(flag))
            self.matches += rows.height
            if rule.generate and emit:
                self._single(rule, rows, changes)
            for state in self._feeds.get(id(rule), []):
                self._correlate(state, rule, rows, changes, emit=emit)
        return list(changes.values())

    def _single(
        self,
        rule: DetectionRule,
        rows: pl.DataFrame,
        changes: dict[tuple[str, str, str], FindingChange],
    ) -> None:
        names = [f.name for f in rule.entity]
        obs = [f.name for f in rule.observables]
        view = rows.select(
            pl.col("tw_tenant"),
            pl.col("tw_uid"),
            pl.col("time"),
            pl.col("metadata").struct.field("uid").alias("key"),
            *[_text(f).alias(f"e{i}") for i, f in enumerate(rule.entity)],
            *[_text(f).alias(f"o{i}") for i, f in enumerate(rule.observables)],
        ).sort("time")
        for row in view.iter_rows():
            tenant, uid, when, key = row[0], row[1], row[2], row[3]
            entity = {n: v for n, v in zip(names, row[4 : 4 + len(names)], strict=True) if v}
            observed = {
                n: [v] for n, v in zip(obs, row[4 + len(names) :], strict=True) if v is not None
            }
            self._raise(
                rule.id,
                rule.title,
                rule.level,
                rule.description,
                rule.techniques,
                rule.suppress,
                tenant,
                entity,
                [Hit(when, key or uid, uid=uid)],
                observed,
                changes,
            )

    def _correlate(
        self,
        state: CorrelationState,
        rule: DetectionRule,
        rows: pl.DataFrame,
        changes: dict[tuple[str, str, str], FindingChange],
        *,
        emit: bool,
    ) -> None:
        corr: CorrelationRule = state.rule
        groups = corr.group_refs(rule)
        value = corr.value_ref(rule)
        view = rows.select(
            pl.col("tw_tenant"),
            pl.col("tw_uid"),
            pl.col("time"),
            pl.col("metadata").struct.field("uid").alias("key"),
            *[_text(g).alias(f"g{i}") for i, g in enumerate(groups)],
            (_text(value) if value else pl.lit(None, dtype=pl.String)).alias("v"),
        ).sort("time")
        ref_name = rule.name or rule.id
        for row in view.iter_rows():
            tenant, uid, when, event_key = row[0], row[1], row[2], row[3]
            key_values = tuple(row[4 : 4 + len(groups)])
            if any(v is None for v in key_values):
                continue  # a missing group-by field never correlates
            hit = Hit(when, event_key or uid, row[-1], ref_name, uid=uid)
            self._add(state, tenant, tuple(str(v) for v in key_values), hit, changes, emit=emit)

    def _add(
        self,
        state: CorrelationState,
        tenant: str,
        key_values: tuple[str, ...],
        hit: Hit,
        changes: dict[tuple[str, str, str], FindingChange],
        *,
        emit: bool,
    ) -> None:
        """A match into a correlation's windows; when one is complete, its finding, and a match
        for every correlation that uses this one."""
        window = state.add((tenant, key_values), hit)
        if window is None:
            return
        corr = state.rule
        entity = dict(zip(corr.group_by, key_values, strict=True))
        if emit:
            observed: dict[str, list[str]] = {}
            if corr.value_field:
                observed[corr.value_field] = sorted({h.value for h in window if h.value})
            self._raise(
                corr.id,
                corr.title,
                corr.level,
                corr.description,
                corr.techniques,
                corr.suppress,
                tenant,
                entity,
                window,
                observed,
                changes,
            )
        last = window[-1]
        chained = Hit(
            last.time,
            f"{corr.id}:{last.key}",
            None,
            corr.name or corr.id,
            uid=last.uid,
            evidence=tuple(u for h in window for u in (*h.evidence, h.uid)),
        )
        for parent in self._feeds.get(id(corr), []):
            names = parent.rule.child_groups(corr)
            self._add(
                parent,
                tenant,
                tuple(entity[n] for n in names),
                chained,
                changes,
                emit=emit,
            )

    def _raise(
        self,
        rule_id: str,
        title: str,
        level: str,
        description: str,
        techniques: tuple[str, ...],
        suppress: timedelta,
        tenant: str,
        entity: dict[str, str],
        hits: list[Hit],
        observed: dict[str, list[str]],
        changes: dict[tuple[str, str, str], FindingChange],
    ) -> None:
        entity_key = ";".join(f"{k}={v}" for k, v in sorted(entity.items()))
        key = (tenant, rule_id, entity_key)
        first, last = hits[0].time, hits[-1].time
        current = self._open.get(key)
        if current is not None and (
            first <= current.last_seen + suppress and last >= current.first_seen - suppress
        ):
            new_uids = [u for u in _evidence(hits) if u not in current.evidence_uids]
            if not new_uids and all(
                set(v) <= set(current.observables.get(k, [])) for k, v in observed.items()
            ):
                return
            current.first_seen = min(current.first_seen, first)
            current.last_seen = max(current.last_seen, last)
            current.count += len(new_uids)
            current.evidence_uids = (current.evidence_uids + new_uids)[:MAX_EVIDENCE]
            for k, values in observed.items():
                merged = sorted(set(current.observables.get(k, [])) | set(values))
                current.observables[k] = merged[:MAX_OBSERVABLES]
            previous = changes.get(key)
            changes[key] = FindingChange(current, is_new=previous.is_new if previous else False)
            return
        finding = Finding(
            uid=finding_uid(tenant, rule_id, entity_key, hits[0].uid),
            tenant=tenant,
            rule_id=rule_id,
            rule_title=title,
            severity=level,
            first_seen=first,
            last_seen=last,
            created_time=utcnow(),
            entity=entity,
            description=description,
            techniques=techniques,
            evidence_uids=_evidence(hits)[:MAX_EVIDENCE],
            observables={k: v[:MAX_OBSERVABLES] for k, v in observed.items()},
            count=len(_evidence(hits)),
        )
        self._open[key] = finding
        changes[key] = FindingChange(finding, is_new=True)
