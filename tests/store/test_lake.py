"""The Parquet lake: the Security Lake custom-source layout, zstd, sorted by time, and read back
by DuckDB and by pyarrow to exactly the stored events; exporting again duplicates nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tenantwatch.cli.app import app
from tenantwatch.store import DuckDBStore
from tenantwatch.store.lake import OCSF_COLUMNS, export_lake
from tests.detect.events import emulator_events


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("lake-store")
    store = DuckDBStore(data / "tenantwatch.duckdb")
    try:
        events = emulator_events(users=60, hours=30)
        for offset in range(0, events.height, 2000):
            store.insert_events(events.slice(offset, 2000))
    finally:
        store.close()
    return data


def _store_events(data: Path) -> pl.DataFrame:
    store = DuckDBStore(data / "tenantwatch.duckdb", read_only=True)
    try:
        columns = ", ".join(f'"{c}"' for c in OCSF_COLUMNS)
        return store.sql(f"SELECT {columns} FROM events")
    finally:
        store.close()


def _rows(frame: pl.DataFrame) -> list[str]:
    """Every row as JSON, sorted: equal lists are equal multisets of events."""
    return sorted(frame.select(pl.struct(OCSF_COLUMNS).struct.json_encode()).to_series().to_list())


def test_the_lake_reads_back_as_the_stored_events(stored: Path, tmp_path: Path) -> None:
    store = DuckDBStore(stored / "tenantwatch.duckdb", read_only=True)
    try:
        report = export_lake(store, tmp_path, region="eu-west-1", account_id="123456789012")
    finally:
        store.close()
    expected = _store_events(stored)
    assert report.events == expected.height > 5000
    files = sorted((tmp_path / "ext").rglob("*.parquet"))
    assert files
    for f in files:
        parts = f.relative_to(tmp_path).parts
        assert parts[0] == "ext"
        assert parts[1].startswith("tenantwatch-")
        assert parts[2] == "region=eu-west-1"
        assert parts[3] == "accountId=123456789012"
        assert parts[4].startswith("eventDay=")
        assert len(parts[4]) == len("eventDay=20260112")
        meta = pq.ParquetFile(f).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
        times = pq.read_table(f, columns=["time"])["time"].to_pylist()
        assert times == sorted(times)
        day = parts[4].removeprefix("eventDay=")
        assert {t.strftime("%Y%m%d") for t in times} == {day}
    # one class per custom source
    for source in (tmp_path / "ext").iterdir():
        classes = duckdb.sql(
            f"SELECT DISTINCT class_uid FROM read_parquet('{source}/**/*.parquet')"
        ).fetchall()
        assert len(classes) == 1
    # pyarrow, with the hive partitions
    dataset = ds.dataset(tmp_path / "ext", format="parquet", partitioning="hive")
    by_arrow = pl.DataFrame(pl.from_arrow(dataset.to_table(columns=OCSF_COLUMNS)))
    assert _rows(by_arrow) == _rows(expected.cast(by_arrow.schema))
    # DuckDB
    by_duckdb = pl.DataFrame(
        pl.from_arrow(
            duckdb.sql(
                f"SELECT {', '.join(chr(34) + c + chr(34) for c in OCSF_COLUMNS)} "
                f"FROM read_parquet('{tmp_path}/ext/**/*.parquet', hive_partitioning = true)"
            ).to_arrow_table()
        )
    )
    assert _rows(by_duckdb.cast(by_arrow.schema)) == _rows(expected.cast(by_arrow.schema))


def test_exporting_again_or_in_parts_duplicates_nothing(stored: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["export", "lake", "--out", str(tmp_path), "--data-dir", str(stored)]
    assert runner.invoke(app, args).exit_code == 0
    first = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/ext/**/*.parquet')"
    ).fetchall()
    result = runner.invoke(app, [*args, "--since", "2026-01-12T20:00:00", "--until", "2026-01-12"])
    assert result.exit_code == 0, result.output
    again = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/ext/**/*.parquet')"
    ).fetchall()
    assert again == first
    assert "events/s" in result.output
