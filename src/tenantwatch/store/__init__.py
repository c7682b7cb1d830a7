"""Stage 4: storage (DuckDB event store)."""

from tenantwatch.store.duckdb_store import DuckDBStore as DuckDBStore

__all__ = ["DuckDBStore"]
