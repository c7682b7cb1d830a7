"""Column histograms agree with prometheus_client's own; the endpoint needs its token."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import polars as pl
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tenantwatch.monitor.metrics import LATENCY_BUCKETS, ColumnHistogram, PipelineMetrics
from tenantwatch.monitor.server import MetricsServer

TOKEN = "metrics-test-token"


def _samples(registry: CollectorRegistry, name: str) -> dict[tuple[str, str], float]:
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        if family.name != name:
            continue
        for sample in family.samples:
            out[(sample.name, sample.labels.get("le", ""))] = sample.value
    return out


def test_a_column_histogram_counts_like_observing_one_value_at_a_time() -> None:
    rng = random.Random(7)
    values = [rng.choice([0.0, 0.05, 1.0, 7200.0]) for _ in range(50)]  # values on the bounds
    values += [rng.expovariate(1 / 30) for _ in range(5000)]
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    column = ColumnHistogram("lat_seconds", "x", ["stage"], registry=ours)
    single = Histogram("lat_seconds", "x", ["stage"], buckets=LATENCY_BUCKETS, registry=theirs)
    column.observe_many(["fetch"], pl.Series(values[:2000]))
    column.observe_many(["fetch"], values[2000:])
    for v in values:
        single.labels("fetch").observe(v)
    a, b = _samples(ours, "lat_seconds"), _samples(theirs, "lat_seconds")
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key]), key


def test_nulls_and_clock_steps_are_not_latencies() -> None:
    h = ColumnHistogram("x_seconds", "x", ["stage"])
    h.observe_many(["s"], pl.Series([None, -3.0, float("nan"), 2.0]))
    assert h.percentile(["s"], 1.0) == 2.0
    assert h.percentile(["other"], 0.5) is None


def test_percentiles_merge_series_with_a_wildcard() -> None:
    h = ColumnHistogram("x_seconds", "x", ["stage", "sink"])
    h.observe_many(["end_to_end", "a"], [0.2] * 99)
    h.observe_many(["end_to_end", "b"], [20.0])
    assert h.percentile(["end_to_end", "*"], 0.5) == 0.25
    assert h.percentile(["end_to_end", "*"], 1.0) == 30


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    metrics = PipelineMetrics()
    metrics.records.labels("activity", "activity/Audit.Exchange", "stored").inc(5)
    metrics.latency.observe_many(("fetch", "activity"), [0.3, 0.4])
    s = MetricsServer(metrics.registry, token=TOKEN, port=0).start()
    yield s
    s.close()


def test_the_endpoint_binds_to_loopback_and_needs_the_token(server: MetricsServer) -> None:
    assert server.host == "127.0.0.1"
    base = f"http://127.0.0.1:{server.port}"
    with httpx.Client(trust_env=False) as http:
        assert http.get(f"{base}/healthz").status_code == 200  # open
        assert http.get(f"{base}/metrics").status_code == 401
        wrong = http.get(f"{base}/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert http.get(f"{base}/metrics", headers={"Authorization": TOKEN}).status_code == 401
        ok = http.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert http.get(f"{base}/other").status_code == 404
    assert ok.status_code == 200
    assert TOKEN not in ok.text
    assert TOKEN not in repr(server)
    families = {f.name: f for f in text_string_to_metric_families(ok.text)}
    assert families["tenantwatch_records"].samples[0].value == 5
    fetch = [
        s
        for s in families["tenantwatch_stage_latency_seconds"].samples
        if s.name.endswith("_count")
    ]
    assert fetch[0].labels == {"stage": "fetch", "source": "activity"}
    assert fetch[0].value == 2


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError, match="token"):
        MetricsServer(PipelineMetrics().registry, token="", port=0)
