"""The store at a million events: insert rate (with the signed ledger), lake export rate, the
lake read back by DuckDB and pyarrow (count and a checksum of ids), and verification time.

Baselines in the same process: a plain DuckDB bulk load of the same Arrow batches (no primary
key, no ledger) for inserts, and one unpartitioned Parquet COPY for the export.
Run: ``python -m benchmarks.store_bench [events]`` (default 1,000,000).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.dataset as ds
from tests.detect.events import emulator_events

from tenantwatch.store import DuckDBStore
from tenantwatch.store.lake import export_lake
from tenantwatch.store.ledger import verify

BATCH = 10_000


def synthetic(n: int) -> pl.DataFrame:
    """``n`` distinct events: a simulated tenant's day repeated with new ids, a day apart."""
    base = emulator_events(users=200, hours=24)
    base = base.unique(subset=["tw_tenant", "tw_uid"])
    copies = []
    i = 0
    while sum(c.height for c in copies) < n:
        suffix = f"-{i}"
        copies.append(
            base.with_columns(
                (pl.col("tw_uid") + suffix).alias("tw_uid"),
                pl.col("metadata").struct.with_fields(pl.field("uid") + suffix),
                (pl.col("time") + pl.duration(days=i)).alias("time"),
            )
        )
        i += 1
    return pl.concat(copies).head(n)


def _checksum(ids: list[str]) -> str:
    h = hashlib.sha256()
    for uid in sorted(ids):
        h.update(uid.encode() + b"\n")
    return h.hexdigest()[:16]


def main(n: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="tw-store-bench-"))
    try:
        events = synthetic(n)
        batches = [events.slice(o, BATCH) for o in range(0, events.height, BATCH)]
        # baseline: DuckDB bulk load of the same Arrow batches, no key, no ledger
        con = duckdb.connect(str(work / "baseline.duckdb"))
        first = batches[0].to_arrow()  # noqa: F841 - read by DuckDB
        con.execute("CREATE TABLE e AS SELECT * FROM first LIMIT 0")
        t0 = time.perf_counter()
        for b in batches:
            arrow = b.to_arrow()  # noqa: F841
            con.execute("INSERT INTO e SELECT * FROM arrow")
        baseline_insert = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        con.execute(f"COPY e TO '{work}/baseline.parquet' (FORMAT parquet, COMPRESSION zstd)")
        baseline_export = n / (time.perf_counter() - t0)
        con.close()

        store = DuckDBStore(work / "data" / "tenantwatch.duckdb")
        t0 = time.perf_counter()
        for b in batches:
            store.insert_events(b)
        insert_secs = time.perf_counter() - t0
        report = export_lake(store, work / "lake")
        stored_ids = store.sql("SELECT metadata.uid AS u FROM events")["u"].to_list()
        t0 = time.perf_counter()
        verified = verify(store, store.public_key())
        verify_secs = time.perf_counter() - t0
        store.close()

        lake_duckdb = (
            duckdb.sql(
                f"SELECT metadata.uid AS u FROM read_parquet('{work}/lake/ext/**/*.parquet', "
                "hive_partitioning = true)"
            )
            .to_arrow_table()["u"]
            .to_pylist()
        )
        lake_arrow = (
            ds.dataset(work / "lake" / "ext", format="parquet", partitioning="hive")
            .to_table(columns=["metadata"])["metadata"]
            .combine_chunks()
            .field("uid")
            .to_pylist()
        )
        results = {
            "events": n,
            "insert_events_per_sec": round(n / insert_secs),
            "baseline_bulk_insert_per_sec": round(baseline_insert),
            "insert_ratio": round(n / insert_secs / baseline_insert, 2),
            "export_events_per_sec": round(report.events_per_sec),
            "baseline_copy_per_sec": round(baseline_export),
            "export_ratio": round(report.events_per_sec / baseline_export, 2),
            "lake_files": report.files,
            "lake_mb": round(report.bytes / 1e6, 1),
            "verify_events_per_sec": round(verified.events / verify_secs),
            "verified": verified.ok,
            "store_checksum": _checksum(stored_ids),
            "lake_checksum_duckdb": _checksum(lake_duckdb),
            "lake_checksum_pyarrow": _checksum(lake_arrow),
            "counts_equal": len(stored_ids) == len(lake_duckdb) == len(lake_arrow) == n,
        }
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    figures = main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    for k, v in figures.items():
        print(f"{k}: {v}")
