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


def obj(path: str, /, **fields: Any) -> pl.Expr:
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


_PARTS = r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?"


def parse_time(text: pl.Expr) -> pl.Expr:
    """Microsoft's timestamps to UTC datetimes: with or without ``Z`` / offset, 0-7 fractional
    digits, ``T`` or space between date and time. Naive values are UTC (the Activity API's
    ``CreationTime`` has no ``Z``). Seconds past 59, seen in real records
    (``2023-10-10T17:08:65``), roll over into the next minute. Unparseable values are null."""
    s = text.str.strip_chars().str.replace(" ", "T", literal=True)
    with_zone = s.str.to_datetime(
        format="%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="ms", time_zone="UTC", strict=False
    )
    naive = s.str.to_datetime(format="%Y-%m-%dT%H:%M:%S%.f", time_unit="ms", strict=False)
    part = [s.str.extract(_PARTS, i).cast(pl.Int32, strict=False) for i in range(1, 7)]
    minute_start = pl.datetime(part[0], part[1], part[2], part[3], part[4], time_unit="ms")
    overflow = (
        pl.when(part[5].is_between(60, 99))
        .then(minute_start + pl.duration(seconds=part[5]))
        .otherwise(None)
    )
    return pl.coalesce(
        with_zone, naive.dt.replace_time_zone("UTC"), overflow.dt.replace_time_zone("UTC")
    )


@cache
def _empty() -> pl.DataFrame:
    frame = pl.from_arrow(EVENT_SCHEMA.empty_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def empty_events() -> pl.DataFrame:
    """A frame with the event schema and no rows."""
    return _empty().clear()


def conform(frame: pl.DataFrame, *, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """``frame`` with exactly the event schema's columns, order and dtypes (missing → null),
    plus the working columns named in ``keep`` (when present)."""
    target = _empty().schema
    exprs = [pl.col(name) for name in keep if name in frame.columns]
    for name, dtype in target.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)


def json_text(value: pl.Expr) -> pl.Expr:
    """A string as a JSON string literal, escaped (null stays null)."""
    return pl.struct(v=value).struct.json_encode().str.strip_prefix('{"v":').str.strip_suffix("}")


def json_object(pairs: pl.Expr, key: str, value: str) -> pl.Expr:
    """A list of structs ``[{key: k, value: v}]`` as a JSON object text ``{"k": "v", ...}``.

    Keys have ``.`` replaced by ``_`` so that rule fields can address them
    (``unmapped.modified_properties.AppRole_Value``).
    """
    entry = pl.concat_str(
        [
            json_text(pl.element().struct.field(key).str.replace_all(".", "_", literal=True)),
            pl.lit(":"),
            json_text(pl.element().struct.field(value)).fill_null("null"),
        ]
    )
    return pl.concat_str([pl.lit("{"), pairs.list.eval(entry).list.join(","), pl.lit("}")])
