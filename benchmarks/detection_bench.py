"""Detection throughput at 100 and 1,000 rules: the Polars engine against the Python oracle (the
same rules evaluated event by event), in the same process, on the same normalized events.

Events: a working day of an emulated tenant (every shape, every scenario), normalized.
Rules: the built-in pack, tenantwatch's test rules for Microsoft-named fields, SigmaHQ's Azure
and Microsoft 365 rules when the shared corpus is beside the checkout; to reach 100 and 1,000,
variants of them whose string values are changed (so that no two rules are the same
expression), which keeps the mix of logsources, modifiers and raw-field reads.

Run: ``python -m benchmarks.detection_bench``.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from tests.detect.events import render_hour

from tenantwatch.detect import DetectionEngine, RuleSet
from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.detect.fields import EventView
from tenantwatch.emulator import SimTenant
from tenantwatch.emulator.scenarios import SCENARIOS
from tenantwatch.model.batch import RawBatch
from tenantwatch.normalize import normalize_many

ROOT = Path(__file__).parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "sigma"
PLACEHOLDERS = ROOT / "tests" / "files" / "placeholders.yml"
BATCH = 10_000


def events(users: int = 400, hours: int = 12) -> pl.DataFrame:
    start = datetime(2026, 1, 12, 7, tzinfo=UTC)
    tenant = SimTenant.build(
        seed=12,
        users=users,
        start=start + timedelta(hours=hours),
        history=timedelta(hours=hours),
        scenarios=sorted(SCENARIOS),
        scenario_start=start + timedelta(hours=2),
    )
    shapes: dict[str, list[bytes]] = {}
    for h in range(hours):  # Azure Monitor records for every third hour
        hour = render_hour(tenant, start + timedelta(hours=h), azure_monitor=h % 3 == 0)
        for shape, records in hour.items():
            shapes.setdefault(shape, []).extend(records)
    batch = normalize_many([RawBatch("bench", "bench", s, s, r, start) for s, r in shapes.items()])
    return batch.events.sort("time")


def rule_texts() -> list[tuple[str, str]]:
    paths = [builtin_rules_path(), ROOT / "tests" / "files" / "sigma"]
    if CORPUS.exists():
        paths.append(CORPUS)
    out = []
    for p in paths:
        for f in sorted(p.rglob("*.yml")):
            if not f.name.endswith(".tests.yml"):
                out.append((str(f), f.read_text()))
    return out


def variants(texts: list[tuple[str, str]], n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` detection rules: the originals, then copies with changed string values and ids."""
    rng = random.Random(seed)
    docs = [
        (where, doc)
        for where, text in texts
        for doc in yaml.safe_load_all(text)
        if isinstance(doc, dict) and "detection" in doc
    ]
    out: list[tuple[str, str]] = []
    i = 0
    while len(out) < n:
        where, doc = docs[i % len(docs)]
        copy = yaml.safe_load(yaml.safe_dump(doc))
        copy["id"] = f"00000000-0000-4000-8000-{i:012d}"
        copy["name"] = f"bench_{i}"
        if i >= len(docs):
            copy["detection"] = _mutate(copy["detection"], rng, i)
        out.append((f"{where}#{i}", yaml.safe_dump(copy)))
        i += 1
    return out


PLAIN = {"contains", "startswith", "endswith", "all", "cased"}


def _mutate(value: Any, rng: random.Random, i: int, key: str = "") -> Any:
    """Change some plain string values (not regexes, CIDRs, numbers or placeholders)."""
    if isinstance(value, dict):
        return {k: v if k == "condition" else _mutate(v, rng, i, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mutate(v, rng, i, key) for v in value]
    plain = set(key.split("|")[1:]) <= PLAIN
    if isinstance(value, str) and plain and "%" not in value and rng.random() < 0.5:
        return f"{value}{i}"
    return value


def measure(ruleset: RuleSet, frame: pl.DataFrame, oracle_sample: int) -> dict[str, float]:
    """Matching (which events each rule selects): the Polars engine (raw fields prepared with
    DuckDB, every rule one expression over the batch) against the oracle; and the whole engine
    (matching, correlations, findings)."""
    batches = [frame.slice(offset, BATCH) for offset in range(0, frame.height, BATCH)]
    exprs = [r.expr.alias(f"r{i}") for i, r in enumerate(ruleset.rules)]
    ruleset.prepare(frame.head(100)).lazy().select(exprs).collect()  # warm: DuckDB set-up
    t0 = time.perf_counter()
    for batch in batches:
        ruleset.prepare(batch).lazy().select(exprs).collect()
    match_secs = time.perf_counter() - t0
    engine = DetectionEngine(ruleset)
    t0 = time.perf_counter()
    for batch in batches:
        engine.evaluate(batch)
    engine_secs = time.perf_counter() - t0
    sample = frame.sample(min(oracle_sample, frame.height), seed=1).to_dicts()
    t0 = time.perf_counter()
    for row in sample:
        view = EventView(row)
        for rule in ruleset.rules:
            if rule.logsource.accepts(row):
                rule.predicate(view)
    oracle_secs = time.perf_counter() - t0
    match_rate = frame.height / match_secs
    oracle_rate = len(sample) / oracle_secs
    return {
        "rules": len(ruleset.rules),
        "events": frame.height,
        "match_events_per_sec": round(match_rate),
        "oracle_events_per_sec": round(oracle_rate),
        "ratio_match_to_oracle": round(match_rate / oracle_rate, 1),
        "ns_per_rule_event": round(1e9 / match_rate / len(ruleset.rules), 1),
        "engine_events_per_sec": round(frame.height / engine_secs),
        "engine_matches": engine.matches,
    }


def rule_sets(texts: list[tuple[str, str]]) -> list[tuple[str, list[tuple[str, str]], int]]:
    """(name, rule texts, oracle sample): the built-in pack, SigmaHQ's cloud rules (when the
    corpus is beside the checkout), and 1,000 rules."""
    builtin = [(w, t) for w, t in texts if Path(w).is_relative_to(builtin_rules_path())]
    sets = [("built-in pack", builtin, 5000)]
    sigmahq = [(w, t) for w, t in texts if Path(w).is_relative_to(CORPUS)]
    if sigmahq:
        sets.append(("SigmaHQ azure + m365", sigmahq, 5000))
    sets.append(("1,000 rules", variants(texts, 1000), 1000))
    return sets


def main() -> list[dict[str, Any]]:
    frame = events()
    texts = rule_texts()
    placeholders = yaml.safe_load(PLACEHOLDERS.read_text())
    results: list[dict[str, Any]] = []
    for name, chosen, sample in rule_sets(texts):
        ruleset = RuleSet.from_texts(chosen, placeholders=placeholders)
        if ruleset.errors and name == "1,000 rules":
            raise AssertionError(ruleset.errors[:3])
        result: dict[str, Any] = {"set": name, **measure(ruleset, frame, sample)}
        results.append(result)
        print(
            f"detection {name} ({result['rules']} rules), {result['events']:,} events: matching "
            f"{result['match_events_per_sec']:>9,} ev/s vs oracle "
            f"{result['oracle_events_per_sec']:>7,} ev/s = {result['ratio_match_to_oracle']}x "
            f"({result['ns_per_rule_event']} ns per rule per event); whole engine with "
            f"correlations and findings {result['engine_events_per_sec']:,} ev/s "
            f"({result['engine_matches']:,} rule matches)"
        )
    return results


if __name__ == "__main__":
    main()
