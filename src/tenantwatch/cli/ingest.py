"""``tenantwatch ingest``: exported files into the store, through the whole pipeline."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from tenantwatch.detect import DetectionEngine, RuleSet
from tenantwatch.detect.builtin import builtin_rules_path
from tenantwatch.model.clock import SystemClock
from tenantwatch.pipeline import Pipeline
from tenantwatch.sinks import JsonlSink
from tenantwatch.sources.file import FileSource
from tenantwatch.store import DuckDBStore

__all__ = ["ingest_files"]


def ingest_files(
    files: list[Path], *, data_dir: Path, tenant: str, fmt: str, console: Console
) -> None:
    store = DuckDBStore(data_dir / "tenantwatch.duckdb")
    clock = SystemClock()
    sources = [
        FileSource(source_id=f"ingest:{path.name}", path=path, clock=clock, tenant=tenant, fmt=fmt)
        for path in files
    ]
    pipeline = Pipeline(
        sources=list(sources),
        store=store,
        engine=DetectionEngine(RuleSet.from_paths([builtin_rules_path()])),
        sinks=[JsonlSink(data_dir / "findings.jsonl")],
        clock=clock,
    )
    try:
        pipeline.recover()
        checkpoints = store.checkpoints()
        for source in sources:
            positions = {
                stream: cp
                for (t, sid, stream), cp in checkpoints.items()
                if sid == source.id and t == tenant
            }
            for batch in source.poll(positions):
                pipeline.process(batch)
    finally:
        store.close()
    s = pipeline.stats
    console.print(
        f"ingested {s.received} records: {s.stored} stored, {s.duplicates} already stored, "
        f"{s.quarantined} quarantined, {s.findings} findings → {data_dir}"
    )
