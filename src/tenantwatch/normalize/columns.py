"""Building OCSF columns with Polars: typed structs, time parsing, schema conformance."""

from __future__ import annotations

from functools import cache
from typing import Any

import polars as pl
import pyarrow as pa

from tenantwatch.model.schema import EVENT_SCHEMA

__all__ = ["conform", "empty_events", "event_dtype", "obj", "parse_time"]


@cache
def _dtype_of(arrow_type: pa.DataType) -> pl.DataType:
    series = pl.from_arrow(pa.array([], type=arrow_type))
    assert isinstance(series, pl.Series)
    return series.dtype


def event_dtype(path: str) -> pl.DataType:
    """The Polars dtype of an event attribute, by OCSF path (``src_endpoint.location``)."""
    return _dtype_of(_arrow_type(path))


def _arrow_type(path: str) -> pa.DataType:
    head, *rest = path.split(".")
    arrow_type: pa.DataType = EVENT_SCHEMA.field(head).type
    for name in rest:
        arrow_type = arrow_type.field(name).type
    return arrow_type


def obj(path: str, **fields: Any) -> pl.Expr:
    """An OCSF object column at ``path`` with every schema field present.

    Fields given as keywords (a ``pl.Expr``, or a ``dict`` for a nested object) are set; the rest
    are typed nulls, so every mapper produces exactly the schema's struct type. Python keywords
    that clash (``from``) can be passed with a trailing underscore (``from_``).
    """
    arrow_type = _arrow_type(path)
    parts = []
    for field in arrow_type:
        value = fields.get(field.name, fields.get(field.name + "_"))
        sub = f"{path}.{field.name}"
        if isinstance(value, dict):
            expr = obj(sub, **value)
        elif value is None:
            expr = pl.lit(None, dtype=_dtype_of(field.type))
        else:
            expr = value.cast(_dtype_of(field.type), strict=False)
        parts.append(expr.alias(field.name))
    return pl.struct(parts)


def parse_time(text: pl.Expr) -> pl.Expr:
    """Microsoft's timestamps to UTC datetimes: with or without ``Z`` / offset, 0-7 fractional
    digits, ``T`` or space between date and time. Naive values are UTC (the Activity API's
    ``CreationTime`` has no ``Z``). Unparseable values become null."""
    s = text.str.strip_chars().str.replace(" ", "T", literal=True)
    with_zone = s.str.to_datetime(
        format="%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="ms", time_zone="UTC", strict=False
    )
    naive = s.str.to_datetime(format="%Y-%m-%dT%H:%M:%S%.f", time_unit="ms", strict=False)
    return pl.coalesce(with_zone, naive.dt.replace_time_zone("UTC"))


@cache
def _empty() -> pl.DataFrame:
    frame = pl.from_arrow(EVENT_SCHEMA.empty_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def empty_events() -> pl.DataFrame:
    """A frame with the event schema and no rows."""
    return _empty().clear()


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with exactly the event schema's columns, order and dtypes (missing → null)."""
    target = _empty().schema
    exprs = []
    for name, dtype in target.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)
