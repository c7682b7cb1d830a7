"""Events for differential tests and benchmarks of the two rule engines.

- :func:`emulator_events`: what the pipeline really sees: a simulated tenant's records in every
  shape (Graph, Activity API, Azure Monitor), every attack scenario, normalized;
- :func:`fuzz_events`: events built from the rules themselves: every field a rule reads gets
  values near the rule's own (the literal, other case, with text around it, cut short, as a
  number, empty, missing), in columns, in the raw record (in both record shapes, through lists)
  and in ``unmapped`` — where engines that disagree would disagree.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import polars as pl

from tenantwatch.detect.atoms import And, Atom, Node, Not, Or
from tenantwatch.detect.fields import FieldRef, _text
from tenantwatch.detect.rules import DetectionRule, RuleSet
from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.activities import DirectoryAudit, SignIn
from tenantwatch.emulator.render import (
    azure_monitor_record,
    content_type_of,
    graph_directory_audit,
    graph_signin,
    ual_record,
)
from tenantwatch.emulator.scenarios import SCENARIOS
from tenantwatch.model.batch import RawBatch, RecordShape
from tenantwatch.normalize import normalize_many
from tenantwatch.normalize.columns import event_dtype
from tests.detect.helpers import frame

__all__ = ["emulator_events", "fuzz_events", "render_hour", "rule_values"]

T0 = datetime(2026, 1, 12, 8, tzinfo=UTC)


def render_hour(
    tenant: SimTenant, hour: datetime, *, azure_monitor: bool = True
) -> dict[str, list[bytes]]:
    """One hour of a simulated tenant's activities in every shape Microsoft serves them: Graph
    sign-ins (beta) and directory audits, the Activity API, and (``azure_monitor``) Azure
    Monitor diagnostic records of the sign-ins and audits."""
    shapes: dict[str, list[bytes]] = {
        RecordShape.GRAPH_SIGNIN: [],
        RecordShape.GRAPH_DIRECTORY_AUDIT: [],
        RecordShape.O365_MANAGEMENT: [],
        RecordShape.AZURE_MONITOR: [],
    }
    for a in tenant.timeline.activities(hour):
        if isinstance(a, SignIn):
            shapes[RecordShape.GRAPH_SIGNIN].append(orjson.dumps(graph_signin(a, beta=True)))
        elif isinstance(a, DirectoryAudit):
            shapes[RecordShape.GRAPH_DIRECTORY_AUDIT].append(orjson.dumps(graph_directory_audit(a)))
        if azure_monitor and isinstance(a, SignIn | DirectoryAudit):
            shapes[RecordShape.AZURE_MONITOR].append(
                orjson.dumps(azure_monitor_record(a, tenant.tenant_id))
            )
        if content_type_of(a) is not None:
            shapes[RecordShape.O365_MANAGEMENT].append(
                orjson.dumps(ual_record(a, tenant.tenant_id, tenant.directory.domain))
            )
    return shapes


def emulator_events(*, users: int = 60, hours: int = 24, seed: int = 3) -> pl.DataFrame:
    """A simulated tenant's records for ``hours``, in every shape, normalized."""
    tenant = SimTenant.build(
        seed=seed,
        users=users,
        start=T0 + timedelta(hours=hours),
        history=timedelta(hours=hours),
        scenarios=sorted(SCENARIOS),
        scenario_start=T0 + timedelta(hours=1),
    )
    shapes: dict[str, list[bytes]] = {}
    for h in range(hours):
        for shape, records in render_hour(tenant, T0 + timedelta(hours=h)).items():
            shapes.setdefault(shape, []).extend(records)
    batches = [
        RawBatch(tenant.tenant_id, "emulator", shape, shape, records, T0)
        for shape, records in shapes.items()
        if records
    ]
    return normalize_many(batches).events


# -- values near a rule's own ----------------------------------------------------------------


def _atoms(node: Node) -> Iterator[Atom]:
    if isinstance(node, Atom):
        yield node
    elif isinstance(node, Not):
        yield from _atoms(node.item)
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from _atoms(item)


def _leaves(ref: FieldRef) -> list[FieldRef]:
    return (
        [leaf for alt in ref.alternatives for leaf in _leaves(alt)] if ref.kind == "any" else [ref]
    )


def rule_values(
    rules: list[DetectionRule],
) -> tuple[list[dict[FieldRef, list[Any]]], list[str]]:
    """For every rule, each leaf field it reads with the literals it compares it to; and all
    keywords."""
    per_rule: list[dict[FieldRef, list[Any]]] = []
    keywords: list[str] = []
    for rule in rules:
        values: dict[FieldRef, list[Any]] = {}
        for ref in [*rule.entity, *rule.observables]:
            for leaf in _leaves(ref):
                values.setdefault(leaf, [])
        for atom in _atoms(rule.tree):
            if atom.op == "keyword":
                keywords.append(_literal(atom.value))
                continue
            refs = [atom.field, atom.extra] if atom.op == "fieldref" else [atom.field]
            for ref in refs:
                if ref is None:
                    continue
                for leaf in _leaves(ref):
                    if atom.value is not None and atom.op != "fieldref":
                        values.setdefault(leaf, []).append(
                            _literal(atom.value) if isinstance(atom.value, str) else atom.value
                        )
                    else:
                        values.setdefault(leaf, [])
        per_rule.append(values)
    return per_rule, keywords


def _literal(pattern: str) -> str:
    """A string a glob or regex pattern is about (its longest literal run), else the value."""
    if not pattern.startswith("(?"):
        return pattern
    body = pattern.split(")", 1)[1] if pattern.startswith("(?") else pattern
    runs = [r for r in _split_literals(body) if r]
    return max(runs, key=len) if runs else "x"


def _split_literals(regex: str) -> list[str]:
    out, current, escaped = [], "", False
    for ch in regex:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch.isalnum() or ch in " -_@/:=\"',":
            current += ch
        else:
            out.append(current)
            current = ""
    out.append(current)
    return out


NOISE: list[Any] = [
    "",
    " ",
    "null",
    "true",
    "0",
    "-1",
    "*",
    "?",
    "é",
    "A\nB",
    "x" * 300,
    0,
    1,
    -7,
    2.5,
]


def _near(rng: random.Random, literal: Any) -> Any:
    """A value a rule comparing against ``literal`` might or might not match."""
    if isinstance(literal, bool):
        return rng.choice([literal, not literal, str(literal).lower(), str(literal)])
    if isinstance(literal, int | float):
        return rng.choice([literal, literal + 1, literal - 1, str(literal), f"{literal}.0", None])
    text = str(literal)
    choice = rng.randrange(10)
    if choice == 0:
        return text.upper()
    if choice == 1:
        return text.title()
    if choice == 2:
        return "pre " + text
    if choice == 3:
        return text + " post"
    if choice == 4:
        return text[: max(0, len(text) - 1)]
    if choice == 5:
        return "A" + text + "Z"
    return text


def _value_for(rng: random.Random, dtype: pl.DataType, pool: list[Any]) -> Any:
    base: Any
    base = _near(rng, rng.choice(pool)) if pool and rng.random() < 0.7 else rng.choice(NOISE)
    if base is None:
        return None
    if isinstance(dtype, pl.List):
        items = [
            _value_for(rng, dtype.inner or pl.String(), pool) for _ in range(rng.randint(0, 3))
        ]
        return items
    if dtype == pl.Boolean:
        if isinstance(base, bool):
            return base
        return str(base).lower() == "true" if rng.random() < 0.5 else rng.random() < 0.5
    if dtype.is_integer():
        try:
            return int(float(base))
        except (TypeError, ValueError):
            return rng.randint(-2, 60000)
    if dtype.is_float():
        try:
            return float(base)
        except (TypeError, ValueError):
            return rng.random()
    if isinstance(dtype, pl.Datetime):
        return T0 + timedelta(minutes=rng.randint(0, 60 * 24 * 40))
    return base if isinstance(base, str) else _text(base)


def _json_value(rng: random.Random, pool: list[Any]) -> Any:
    """A JSON value for a raw key: mostly text near the rules', sometimes another JSON type."""
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.1:
        return {"nested": _near(rng, rng.choice(pool)) if pool else "x"}
    if roll < 0.15:
        return [_near(rng, rng.choice(pool)) if pool else 1]
    if roll < 0.2:
        return rng.choice([True, False, 0, 17, -3.25])
    if pool and roll < 0.9:
        return _near(rng, rng.choice(pool))
    return rng.choice(NOISE)


def _put(document: dict[str, Any], path: tuple[str, ...], make: Any, rng: random.Random) -> None:
    key, rest = path[0], path[1:]
    name = key.removesuffix("[]")
    if key.endswith("[]"):
        items = document.get(name)
        if not isinstance(items, list):
            items = document[name] = []
        if not rest:
            items.extend(make() for _ in range(rng.randint(0, 3)))
            return
        for _ in range(rng.randint(1, 3)):
            child: dict[str, Any] = {}
            _put(child, rest, make, rng)
            items.append(child)
        return
    if not rest:
        document[name] = make()
        return
    child = document.get(name)
    if not isinstance(child, dict):
        child = document[name] = {}
    _put(child, rest, make, rng)


# (class_uid, log_name) of the events tenantwatch produces, for events no rule selects
_SELECTIONS = [
    (3002, "signIns"),
    (3001, "directoryAudits"),
    (3004, "directoryAudits"),
    (6003, "AzureActivity"),
    (3002, "Audit.AzureActiveDirectory"),
    (6003, "Audit.Exchange"),
    (6006, "Audit.SharePoint"),
    (3001, None),
    (4009, None),
]


def _selection(rng: random.Random, rule: DetectionRule) -> tuple[int, str | None]:
    """The class and log of an event the rule's logsource selects (now and then, one it does
    not)."""
    ls = rule.logsource
    if rng.random() < 0.1:
        return rng.choice(_SELECTIONS)
    class_uid = rng.choice(ls.class_uids) if ls.class_uids else rng.choice([3001, 3002, 6003])
    if ls.log_names:
        return class_uid, rng.choice(ls.log_names)
    if ls.log_prefix:
        return class_uid, ls.log_prefix + rng.choice(["Exchange", "General", "SharePoint"])
    return class_uid, rng.choice([None, "signIns", "Audit.Exchange"])


def fuzz_events(ruleset: RuleSet, n: int, *, seed: int = 0) -> pl.DataFrame:
    """``n`` events, each aimed at one rule: selected by its logsource (mostly), with most of
    the fields it reads set near its own values, plus a few fields of other rules."""
    rng = random.Random(seed)
    per_rule, keywords = rule_values(ruleset.rules)
    everything: dict[FieldRef, list[Any]] = {}
    for values in per_rule:
        for ref, vs in values.items():
            everything.setdefault(ref, []).extend(vs)
    others = list(everything)
    rows = []
    for i in range(n):
        target = rng.randrange(len(ruleset.rules))
        class_uid, log_name = _selection(rng, ruleset.rules[target])
        row: dict[str, Any] = {
            "tw_tenant": rng.choice(["t1", "t2"]),
            "tw_uid": f"e{i}",
            "time": T0 + timedelta(seconds=rng.randint(0, 86400 * 3)),
            "class_uid": class_uid,
            "metadata": {"uid": f"m{i % (n // 2 + 1)}", "log_name": log_name},
        }
        raw: dict[str, Any] = {"id": f"e{i}"}
        unmapped: dict[str, Any] = {}
        chosen = [
            (ref, vs or everything[ref])
            for ref, vs in per_rule[target].items()
            if rng.random() < 0.85
        ]
        chosen += [(ref, everything[ref]) for ref in rng.sample(others, k=min(3, len(others)))]
        for ref, pool in chosen:
            if ref.kind == "column":
                _put_column(row, ref, _value_for(rng, ref.dtype, pool))
            elif ref.kind in ("raw", "raw_list"):
                _put(raw, ref.path, lambda pool=pool: _json_value(rng, pool), rng)
            elif ref.kind == "unmapped":
                _put(unmapped, ref.path, lambda pool=pool: _json_value(rng, pool), rng)
        if keywords and rng.random() < 0.2:
            raw["message"] = _near(rng, rng.choice(keywords))
        roll = rng.random()
        row["raw_data"] = (
            None if roll < 0.01 else "not json {" if roll < 0.02 else orjson.dumps(raw).decode()
        )
        row["unmapped"] = orjson.dumps(unmapped).decode() if unmapped else None
        rows.append(row)
    return frame(rows)


def _put_column(row: dict[str, Any], ref: FieldRef, value: Any) -> None:
    target = row
    for key in ref.path[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    if ref.path[0] in ("tw_tenant", "tw_uid", "time", "class_uid"):
        return  # keep the bookkeeping and the logsource selection intact
    target[ref.path[-1]] = value


def column_dtype(ref: FieldRef) -> pl.DataType:
    return event_dtype(".".join(ref.path))
