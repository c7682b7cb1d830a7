"""JSON records to Arrow with an explicit schema, isolating records that do not fit.

``pyarrow.json`` parses a whole block at C++ speed, but one odd record (an object where a string
was expected, a truncated line) fails the block. Then, and only then, records are parsed one by
one to find the culprits; they are returned with the reader's message, the rest are parsed
together. Keys absent from the schema are ignored here (``raw_data`` keeps them).

A record whose only fault is a value of another JSON type than the schema expects (a number
where Microsoft usually writes a string, one object where a list is expected) is coerced to the
schema in Python (:func:`coerce`) and read again; ``raw_data`` keeps the original. Only what
still fails is quarantined.

Only text that starts with ``{`` and ends with ``}`` reaches the reader: pyarrow 26 crashes the
process (segmentation fault) on a bare ``null`` line, so anything that is not an object is
quarantined before parsing.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
import pyarrow.json as pj

__all__ = ["coerce", "read_records"]

_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def _read(buffer: bytes, schema: pa.Schema) -> pa.Table:
    return pj.read_json(
        pa.BufferReader(buffer),
        read_options=pj.ReadOptions(use_threads=True, block_size=1 << 20),
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
    except _ERRORS:
        pass
    kept: list[int] = []
    for i in candidates:
        try:
            one = _read(lines[i] + b"\n", schema)
        except _ERRORS as exc:
            fixed = _coerced_line(lines[i], schema)
            if fixed is None:
                failed.append((i, f"does not fit the expected schema: {_short(exc)}"))
                continue
            lines[i] = fixed
            one = _read(fixed + b"\n", schema)
        if one.num_rows != 1:
            failed.append((i, "record is not exactly one JSON object"))
            continue
        kept.append(i)
    good = _read(b"\n".join(lines[i] for i in kept) + b"\n", schema) if kept else None
    failed.sort()
    return (good if good is not None else schema.empty_table()), kept, failed


def _coerced_line(line: bytes, schema: pa.Schema) -> bytes | None:
    """The record coerced to ``schema``, if it parses and then fits; else None."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    fixed = orjson.dumps(coerce(value, pa.struct(list(schema))))
    try:
        _read(fixed + b"\n", schema)
    except _ERRORS:
        return None
    return fixed


def coerce(value: Any, arrow_type: pa.DataType) -> Any:
    """``value`` converted to what ``arrow_type`` expects, or None where that makes no sense.

    Strings take numbers and booleans as their JSON text (an object or array where a string is
    expected is dropped: ``raw_data`` keeps it); integers take numeric
    strings and integral floats; booleans take ``"true"``/``"false"`` in any case; lists take a
    single object as a one-element list; keys absent from a struct type are dropped.
    """
    if value is None:
        return None
    if pa.types.is_struct(arrow_type):
        if not isinstance(value, dict):
            return None
        return {f.name: coerce(value[f.name], f.type) for f in arrow_type if f.name in value}
    if pa.types.is_list(arrow_type):
        items = value if isinstance(value, list) else [value] if isinstance(value, dict) else None
        if items is None:
            return None
        return [coerce(v, arrow_type.value_type) for v in items]
    if pa.types.is_string(arrow_type):
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return orjson.dumps(value).decode()
        return None
    if pa.types.is_integer(arrow_type):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value if -(2**63) <= value < 2**63 else None
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            number = int(value.strip())
            return number if -(2**63) <= number < 2**63 else None
        return None
    if pa.types.is_floating(arrow_type):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        try:
            return float(value) if isinstance(value, str) else None
        except ValueError:
            return None
    if pa.types.is_boolean(arrow_type):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        return None
    return value


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]
