"""Sigma conditions reduced to a small tree both engines evaluate.

pySigma parses a rule and applies its modifiers; this module turns the parsed condition into
nodes (``And``, ``Or``, ``Not``, :class:`Atom`) whose meaning is fixed here, once:

- string matching is case-insensitive unless the value is ``|cased``; ``*`` and ``?`` are
  wildcards (escaped ones are literal); a pattern becomes ``eq``, ``startswith``, ``endswith``,
  ``contains`` or an anchored ``glob`` regex;
- ``|re`` is a regular expression in the RE2 dialect (linear time, no look-around or
  backreferences), case-sensitive unless flagged ``i``;
- a field that is missing (null) never matches any atom, so ``not`` over it is true; the
  exceptions are ``null`` (true when missing) and ``|exists: false``;
- on a list-valued attribute an atom holds when any element matches.

Anything that cannot be evaluated faithfully raises :class:`~tenantwatch.errors.RuleError`
with the reason, so coverage reports say exactly what is unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
    TimestampPart,
)

from tenantwatch.detect.fields import FieldRef
from tenantwatch.errors import RuleError

__all__ = ["And", "Atom", "Node", "Not", "Or", "build_tree", "referenced_fields"]


@dataclass(frozen=True)
class Atom:
    """One comparison. ``op`` is one of: eq, startswith, endswith, contains, glob, regex,
    num_eq, num_cmp, bool_eq, null, exists, fieldref, time_part, keyword."""

    op: str
    field: FieldRef | None
    value: Any = None
    cased: bool = False
    extra: Any = None  # regex flags, compare operator, time part, or the referenced field


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Atom | And | Or | Not

TIME_PARTS = {
    TimestampPart.MINUTE: "minute",
    TimestampPart.HOUR: "hour",
    TimestampPart.DAY: "day",
    TimestampPart.WEEK: "week",
    TimestampPart.MONTH: "month",
    TimestampPart.YEAR: "year",
}


def build_tree(condition: ConditionItem | Any, resolve: Callable[[str], FieldRef]) -> Node:
    """Translate a parsed pySigma condition into evaluation nodes."""
    if isinstance(condition, ConditionAND):
        return And(tuple(build_tree(a, resolve) for a in condition.args))
    if isinstance(condition, ConditionOR):
        return Or(tuple(build_tree(a, resolve) for a in condition.args))
    if isinstance(condition, ConditionNOT):
        return Not(build_tree(condition.args[0], resolve))
    if isinstance(condition, ConditionFieldEqualsValueExpression):
        return _field_atom(resolve(condition.field), condition.value, resolve)
    if isinstance(condition, ConditionValueExpression):
        return _keyword_atom(condition.value)
    raise RuleError(f"unsupported condition element {type(condition).__name__}")


def _field_atom(field: FieldRef, value: Any, resolve: Callable[[str], FieldRef]) -> Node:
    dtype = field.dtype
    if isinstance(dtype, pl.Datetime) and not isinstance(
        value, SigmaTimestampPart | SigmaNull | SigmaExists
    ):
        raise RuleError(
            f"field {field.name!r} is a timestamp; match it with |minute, |hour, |day, |week, "
            "|month or |year"
        )
    if isinstance(value, SigmaExpansion):
        return Or(tuple(_field_atom(field, v, resolve) for v in value.values))
    if isinstance(value, SigmaTimestampPart):
        if not isinstance(dtype, pl.Datetime):
            raise RuleError(
                f"|{TIME_PARTS[value.timestamp_part]} needs a timestamp field, "
                f"{field.name!r} is not one"
            )
        return Atom("time_part", field, int(value.number), extra=TIME_PARTS[value.timestamp_part])
    if isinstance(value, SigmaCasedString):
        return _string_atom(field, value, cased=True)
    if isinstance(value, SigmaString):
        return _string_atom(field, value, cased=False)
    if isinstance(value, SigmaBool):
        return Atom("bool_eq", field, bool(value.boolean))
    if isinstance(value, SigmaNumber):
        return Atom("num_eq", field, value.number)
    if isinstance(value, SigmaNull):
        return Atom("null", field)
    if isinstance(value, SigmaExists):
        return Atom("exists", field, bool(value.exists))
    if isinstance(value, SigmaRegularExpression):
        return _regex_atom(field, value)
    if isinstance(value, SigmaCIDRExpression):
        patterns = value.expand(wildcard="*")
        return Or(tuple(_string_atom(field, SigmaString(p), cased=False) for p in patterns))
    if isinstance(value, SigmaCompareExpression):
        ops = {
            CompareOperators.LT: "lt",
            CompareOperators.LTE: "lte",
            CompareOperators.GT: "gt",
            CompareOperators.GTE: "gte",
        }
        return Atom("num_cmp", field, value.number.number, extra=ops[value.op])
    if isinstance(value, SigmaFieldReference):
        if value.starts_with or value.ends_with:
            raise RuleError("|fieldref combined with startswith/endswith is not supported")
        other = resolve(value.field)
        if any(isinstance(f.dtype, pl.List) for f in (field, other)):
            raise RuleError(
                f"|fieldref between {field.name!r} and {other.name!r}: one of them has several "
                "values (a list, or a field read from several places); compare single values"
            )
        return Atom("fieldref", field, extra=other)
    raise RuleError(f"value type {type(value).__name__} is not supported (field {field.name!r})")


def _parts(value: SigmaString) -> list[str | SpecialChars]:
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise RuleError(
                f"placeholder %{part.name}% has no value; give it values under `placeholders:` "
                "of the detection in the pipeline file (or `--placeholders FILE`)"
            )
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        else:
            parts.append(part)
    return parts


def _string_atom(field: FieldRef | None, value: SigmaString, *, cased: bool) -> Atom:
    parts = _parts(value)
    fold: Callable[[str], str] = (lambda s: s) if cased else str.lower
    multi = SpecialChars.WILDCARD_MULTI
    if not parts:
        return Atom("eq", field, "", cased)
    if all(isinstance(p, str) for p in parts):
        return Atom("eq", field, fold("".join(parts)), cased)  # type: ignore[arg-type]
    inner = parts[1:-1]
    if not any(p == SpecialChars.WILDCARD_SINGLE for p in parts) and not any(
        isinstance(p, SpecialChars) for p in inner
    ):
        first, last = parts[0], parts[-1]
        if first == multi and last == multi and len(parts) == 3 and isinstance(parts[1], str):
            return Atom("contains", field, fold(parts[1]), cased)
        if first == multi and len(parts) == 2 and isinstance(last, str):
            return Atom("endswith", field, fold(last), cased)
        if last == multi and len(parts) == 2 and isinstance(first, str):
            return Atom("startswith", field, fold(first), cased)
        if parts == [multi]:
            return Atom("exists", field, True)
    pattern = "".join(
        ".*"
        if p == multi
        else "."
        if p == SpecialChars.WILDCARD_SINGLE
        else re.escape(fold(str(p)))
        for p in parts
    )
    return Atom("glob", field, f"(?s)^{pattern}$", cased)


def _regex_atom(field: FieldRef, value: SigmaRegularExpression) -> Atom:
    pattern = str(value.regexp)
    flags = ""
    for flag, letter in (
        (SigmaRegularExpressionFlag.IGNORECASE, "i"),
        (SigmaRegularExpressionFlag.MULTILINE, "m"),
        (SigmaRegularExpressionFlag.DOTALL, "s"),
    ):
        if flag in value.flags:
            flags += letter
    full = f"(?{flags}){pattern}" if flags else pattern
    _check_regex(full)
    return Atom("regex", field, full, cased=True)


def _check_regex(pattern: str) -> None:
    """Reject what the linear-time engines cannot run (look-around, backreferences)."""
    try:
        pl.select(pl.lit("").str.contains(pattern)).item()
    except pl.exceptions.ComputeError as exc:
        reason = str(exc).splitlines()
        detail = next((line.strip() for line in reason if line.strip().startswith("error:")), "")
        raise RuleError(
            f"regular expression {pattern!r} is not supported by the linear-time regex engine "
            f"({detail or 'invalid'})"
        ) from None


def _keyword_atom(value: Any) -> Node:
    if isinstance(value, SigmaString):
        atom = _string_atom(None, value, cased=False)
        if atom.op == "eq":  # keywords match anywhere in the record
            return Atom("keyword", None, atom.value)
        if atom.op in ("startswith", "endswith", "contains"):
            return Atom("keyword", None, atom.value)
        unanchored = "(?s)" + str(atom.value).removeprefix("(?s)^").removesuffix("$")
        return Atom("keyword", None, unanchored, extra="glob")
    if isinstance(value, SigmaNumber):
        return Atom("keyword", None, str(value.number))
    raise RuleError(f"keyword of type {type(value).__name__} is not supported")


def referenced_fields(node: Node) -> list[FieldRef]:
    """Every field a tree reads (used to report and to prepare columns)."""
    if isinstance(node, Atom):
        found = [node.field] if node.field is not None else []
        if node.op == "fieldref":
            found.append(node.extra)
        return found
    if isinstance(node, Not):
        return referenced_fields(node.item)
    return [f for item in node.items for f in referenced_fields(item)]
