"""JSON records to Arrow with an explicit schema, isolating records that do not fit.

``pyarrow.json`` parses a whole block at C++ speed, but one odd record (an object where a string
was expected, a truncated line) fails the block. Then, and only then, records are parsed one by
one to find the culprits; they are returned with the reader's message, the rest are parsed
together. Keys absent from the schema are ignored here (``raw_data`` keeps them).

Only text that starts with ``{`` and ends with ``}`` reaches the reader: pyarrow 26 crashes the
process (segmentation fault) on a bare ``null`` line, so anything that is not an object is
quarantined before parsing.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.json as pj

__all__ = ["read_records"]


def _read(buffer: bytes, schema: pa.Schema) -> pa.Table:
    return pj.read_json(
        pa.BufferReader(buffer),
        read_options=pj.ReadOptions(use_threads=False, block_size=max(1 << 20, len(buffer) + 1)),
        parse_options=pj.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="ignore", newlines_in_values=False
        ),
    )


def read_records(
    records: list[bytes], schema: pa.Schema
) -> tuple[pa.Table, list[int], list[tuple[int, str]]]:
    """Parse ``records`` (one JSON object each).

    Returns the table of the good records, the indices of those records in ``records`` (table
    row i is ``records[kept[i]]``), and ``(index, reason)`` for each record that failed.
    """
    failed: list[tuple[int, str]] = []
    candidates: list[int] = []
    lines: list[bytes] = []
    for i, record in enumerate(records):
        line = record.replace(b"\n", b" ").replace(b"\r", b" ").strip()
        lines.append(line)
        if line.startswith(b"{") and line.endswith(b"}"):
            candidates.append(i)
        else:
            failed.append((i, "record is not a complete JSON object"))
    if not candidates:
        return schema.empty_table(), [], failed
    try:
        table = _read(b"\n".join(lines[i] for i in candidates) + b"\n", schema)
        if table.num_rows == len(candidates):
            return table, candidates, failed
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    kept: list[int] = []
    for i in candidates:
        stripped = lines[i]
        try:
            one = _read(stripped + b"\n", schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            failed.append((i, f"does not fit the expected schema: {_short(exc)}"))
            continue
        if one.num_rows != 1:
            failed.append((i, "record is not exactly one JSON object"))
            continue
        kept.append(i)
    good = _read(b"\n".join(lines[i] for i in kept) + b"\n", schema) if kept else None
    failed.sort()
    return (good if good is not None else schema.empty_table()), kept, failed


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]
