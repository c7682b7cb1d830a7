"""The Python oracle: the same condition trees evaluated one event at a time.

Slow on purpose-free grounds (plain Python per event), and independent of Polars: differential
tests assert it agrees with :mod:`.vectorized` on every rule. Regexes run on RE2 (``google-re2``,
linear-time like Polars' engine), never on Python's backtracking ``re``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

import polars as pl
import re2

from tenantwatch.detect.atoms import And, Atom, Node, Not, Or
from tenantwatch.detect.fields import EventView

__all__ = ["compile_python"]

Predicate = Callable[[EventView], bool]


@cache
def _regex(pattern: str) -> Any:
    return re2.compile(pattern)


def compile_python(node: Node) -> Predicate:
    """A predicate over one :class:`EventView` with the semantics of :mod:`.atoms`."""
    if isinstance(node, And):
        parts = [compile_python(n) for n in node.items]
        return lambda e: all(p(e) for p in parts)
    if isinstance(node, Or):
        parts = [compile_python(n) for n in node.items]
        return lambda e: any(p(e) for p in parts)
    if isinstance(node, Not):
        inner = compile_python(node.item)
        return lambda e: not inner(e)
    return _atom(node)


def _text(value: Any) -> str:
    """A value as text, the way Polars casts it to a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(pl.Series([value]).cast(pl.String)[0])
    return str(value)


def _atom(atom: Atom) -> Predicate:
    op, value = atom.op, atom.value
    if op == "keyword":
        if atom.extra == "glob":
            rx = _regex(value)
            return lambda e: (
                isinstance(e.row.get("raw_data"), str)
                and bool(rx.search(e.row["raw_data"].lower()))
            )
        return lambda e: (
            isinstance(e.row.get("raw_data"), str) and value in e.row["raw_data"].lower()
        )
    field = atom.field
    assert field is not None
    if op == "null":
        return lambda e: field.get(e) is None
    if op == "exists":
        return lambda e: (field.get(e) is not None) == bool(value)
    if op == "fieldref":
        other = atom.extra

        def fieldref(e: EventView) -> bool:
            a, b = field.get(e), other.get(e)
            return a is not None and b is not None and _text(a) == _text(b)

        return fieldref
    test = _scalar(atom)

    def check(e: EventView) -> bool:
        v = field.get(e)
        if v is None:
            return False
        if isinstance(v, list):
            return any(item is not None and test(item) for item in v)
        return test(v)

    return check


def _scalar(atom: Atom) -> Callable[[Any], bool]:
    op, value = atom.op, atom.value
    if op == "time_part":
        part = str(atom.extra)

        def time_part(v: Any) -> bool:
            if not isinstance(v, datetime):
                return False
            parts = {
                "minute": v.minute,
                "hour": v.hour,
                "day": v.day,
                "week": v.isocalendar().week,
                "month": v.month,
                "year": v.year,
            }
            return bool(parts[part] == value)

        return time_part
    if op == "num_cmp":
        compare: Callable[[float], bool] = {
            "lt": lambda a: a < value,
            "lte": lambda a: a <= value,
            "gt": lambda a: a > value,
            "gte": lambda a: a >= value,
        }[str(atom.extra)]

        def num_cmp(v: Any) -> bool:
            try:
                number = float(v)
            except (TypeError, ValueError):
                return False
            return bool(compare(number))

        return num_cmp
    if op == "num_eq":

        def num_eq(v: Any) -> bool:
            if isinstance(v, int | float) and not isinstance(v, bool):
                return bool(v == value)
            return _text(v) == str(value)

        return num_eq
    if op == "bool_eq":

        def bool_eq(v: Any) -> bool:
            if isinstance(v, bool):
                return v is value
            return _text(v).lower() == ("true" if value else "false")

        return bool_eq
    fold: Callable[[str], str] = (lambda s: s) if atom.cased else str.lower
    if op == "eq":
        return lambda v: fold(_text(v)) == value
    if op == "startswith":
        return lambda v: fold(_text(v)).startswith(value)
    if op == "endswith":
        return lambda v: fold(_text(v)).endswith(value)
    if op == "contains":
        return lambda v: value in fold(_text(v))
    if op in ("glob", "regex"):
        rx = _regex(value)
        return lambda v: rx.search(fold(_text(v))) is not None
    raise ValueError(f"unknown atom {op}")
