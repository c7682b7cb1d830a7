"""The Polars engine: a rule's condition tree compiled to one expression over a batch.

Every atom ends in ``fill_null(False)``, so a missing field is false and ``not`` of it is true
(DESIGN decision 6). Regexes run on Polars' Rust regex engine, which is linear-time.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from dataclasses import replace
from typing import Any

import polars as pl
from polars._typing import PolarsDataType

from tenantwatch.detect.atoms import And, Atom, Node, Not, Or
from tenantwatch.detect.fields import LOWER_RAW, FieldRef
from tenantwatch.errors import RuleError

__all__ = ["compile_polars"]


def compile_polars(node: Node) -> pl.Expr:
    """The boolean expression of a condition tree (true = the event matches)."""
    if isinstance(node, And):
        return functools.reduce(operator.and_, (compile_polars(n) for n in node.items))
    if isinstance(node, Or):
        return functools.reduce(operator.or_, _or_items(node))
    if isinstance(node, Not):
        return ~compile_polars(node.item)
    return _atom(node)


def _or_items(node: Or) -> list[pl.Expr]:
    """The alternatives of an ``or``, with value lists on one field folded into one test:
    ``eq`` values into ``is_in``, ``contains`` values and keywords into one Aho-Corasick
    ``contains_any`` (a rule listing 30 operation names is one expression, not 30)."""
    groups: dict[tuple[str, FieldRef | None, bool], list[Any]] = defaultdict(list)
    rest: list[pl.Expr] = []
    for item in node.items:
        if isinstance(item, Atom) and item.op in ("eq", "contains") and item.field is not None:
            groups[(item.op, item.field, item.cased)].append(item.value)
        elif isinstance(item, Atom) and item.op == "keyword" and item.extra != "glob":
            groups[("keyword", None, False)].append(item.value)
        else:
            rest.append(compile_polars(item))
    for (op, field, cased), values in groups.items():
        if len(values) == 1:
            rest.append(_atom(Atom(op, field, values[0], cased)))
        else:
            rest.append(_atom(Atom(f"{op}_any", field, tuple(dict.fromkeys(values)), cased)))
    return rest


def _atom(atom: Atom) -> pl.Expr:
    if atom.op in ("keyword", "keyword_any"):
        text = pl.col(LOWER_RAW)
        if atom.op == "keyword_any":
            return text.str.contains_any(list(atom.value)).fill_null(False)
        if atom.extra == "glob":
            return text.str.contains(atom.value).fill_null(False)
        return text.str.contains(atom.value, literal=True).fill_null(False)
    assert atom.field is not None
    if atom.field.kind == "any" and atom.op != "fieldref":
        return _any(atom)
    column = atom.field.expr()
    dtype = atom.field.dtype
    if atom.op == "null":
        return column.is_null()
    if atom.op == "exists":
        return column.is_not_null() if atom.value else column.is_null()
    if atom.op == "fieldref":
        other = atom.extra.expr()
        return column.cast(pl.String).eq(other.cast(pl.String)).fill_null(False)
    if isinstance(dtype, pl.List):
        element = _scalar(atom, pl.element(), pl.String() if dtype.inner is None else dtype.inner)
        return column.list.eval(element.fill_null(False)).list.any().fill_null(False)
    return _scalar(atom, column, dtype).fill_null(False)


def _any(atom: Atom) -> pl.Expr:
    """An atom on a field read from several places: it holds if it holds on any of them; the
    field is missing only if it is missing from all (so ``null`` and ``exists`` look at all).
    One comparison per place is much cheaper than comparing in a list of their values."""
    assert atom.field is not None
    alternatives = atom.field.alternatives
    present = pl.any_horizontal([alt.expr().is_not_null() for alt in alternatives])
    if atom.op == "null":
        return ~present
    if atom.op == "exists":
        return present if atom.value else ~present
    return pl.any_horizontal([_atom(replace(atom, field=alt)) for alt in alternatives])


def _scalar(atom: Atom, column: pl.Expr, dtype: PolarsDataType | None) -> pl.Expr:
    op, value = atom.op, atom.value
    if op == "time_part":
        parts = {
            "minute": column.dt.minute(),
            "hour": column.dt.hour(),
            "day": column.dt.day(),
            "week": column.dt.week(),
            "month": column.dt.month(),
            "year": column.dt.year(),
        }
        return parts[str(atom.extra)].eq(value)
    if op == "num_cmp":
        number = column.cast(pl.Float64, strict=False)
        bound = float(value)
        compare = {
            "lt": number.lt(bound),
            "lte": number.le(bound),
            "gt": number.gt(bound),
            "gte": number.ge(bound),
        }
        return compare[str(atom.extra)]
    if op == "num_eq":
        if dtype is not None and dtype.is_numeric():
            return column.eq(value)
        return column.cast(pl.String).eq(str(value))
    if op == "bool_eq":
        if dtype == pl.Boolean:
            return column.eq(value)
        return column.cast(pl.String).str.to_lowercase().eq("true" if value else "false")
    text = column.cast(pl.String)
    if not atom.cased:
        text = text.str.to_lowercase()
    if op == "eq":
        return text.eq(value)
    if op == "eq_any":
        return text.is_in(list(value))
    if op == "contains_any":
        return text.str.contains_any(list(value))
    if op == "startswith":
        return text.str.starts_with(value)
    if op == "endswith":
        return text.str.ends_with(value)
    if op == "contains":
        return text.str.contains(value, literal=True)
    if op in ("glob", "regex"):
        return text.str.contains(value)
    raise RuleError(f"internal: unknown atom {op}")
