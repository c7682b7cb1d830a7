"""Where a rule's field name points: an event column, a key path in the raw record, or several
of those at once.

Both engines resolve fields through :class:`FieldRef`, so they agree on what a field is: the
Polars engine reads it as an expression over the batch, the Python oracle reads it from one
event. Kinds:

- ``column``: an attribute of the OCSF event (``src_endpoint.ip``), typed;
- ``raw`` / ``unmapped``: a key path in the original record or in the ``unmapped`` JSON, as text
  (objects and lists as compact JSON);
- ``raw_list``: a key path that crosses lists (``targetResources[].modifiedProperties[].
  displayName``): every value found, as a list of text;
- the Polars engine reads raw-record and ``unmapped`` fields from columns prepared once per
  batch with DuckDB's JSON functions (:func:`prepare`); the oracle walks the parsed JSON itself;
- ``any``: several of the above (a field Microsoft spells differently per record shape, or an
  OCSF attribute plus the raw value it came from): the list of every value present.

A field with no value in an event is ``None`` in both engines, and never matches. Multi-valued
fields (``raw_list``, ``any``, OCSF lists) match when any value does.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import duckdb
import orjson
import polars as pl

from tenantwatch.model.schema import EVENT_SCHEMA
from tenantwatch.normalize.columns import event_dtype

__all__ = [
    "LOWER_RAW",
    "EventView",
    "FieldRef",
    "any_field",
    "column_field",
    "is_event_path",
    "prepare",
    "raw_field",
]

TEXT_LIST = pl.List(pl.String)


@cache
def is_event_path(path: str) -> bool:
    """True if ``path`` (``src_endpoint.ip``) names an attribute of the event schema."""
    head, *rest = path.split(".")
    if head not in EVENT_SCHEMA.names:
        return False
    arrow_type = EVENT_SCHEMA.field(head).type
    for name in rest:
        try:
            arrow_type = arrow_type.field(name).type
        except (AttributeError, KeyError):
            return False
    return True


def _duckdb_path(keys: tuple[str, ...]) -> str:
    out = "$"
    for key in keys:
        name = key.removesuffix("[]")
        out += f".{name}" if name.isidentifier() else '."' + name.replace('"', '\\"') + '"'
        if key.endswith("[]"):
            out += "[*]"
    return out


@dataclass(frozen=True)
class FieldRef:
    """A resolved field (see the module docstring for the kinds)."""

    name: str
    kind: str
    path: tuple[str, ...] = ()
    alternatives: tuple[FieldRef, ...] = ()

    @property
    def dtype(self) -> pl.DataType:
        if self.kind == "column":
            return event_dtype(".".join(self.path))
        if self.kind in ("raw_list", "any"):
            return TEXT_LIST
        return pl.String()

    @property
    def column_name(self) -> str:
        """The prepared column of a raw-record or ``unmapped`` field (see :func:`prepare`)."""
        digest = hashlib.sha1("/".join(self.path).encode()).hexdigest()[:16]  # noqa: S324
        return f"__tw_{self.kind}_{digest}"

    def expr(self) -> pl.Expr:
        if self.kind == "column":
            head, *rest = self.path
            e = pl.col(head)
            for name in rest:
                e = e.struct.field(name)
            return e
        if self.kind in ("raw", "raw_list", "unmapped"):
            return pl.col(self.column_name)
        if self.kind == "any":
            parts = []
            for alt in self.alternatives:
                if isinstance(alt.dtype, pl.List):
                    parts.append(alt.expr().cast(TEXT_LIST).fill_null(pl.lit([], dtype=TEXT_LIST)))
                else:
                    parts.append(alt.expr().cast(pl.String))
            values = pl.concat_list(parts).list.drop_nulls()
            return pl.when(values.list.len() > 0).then(values).otherwise(None)
        raise ValueError(f"unknown field kind {self.kind}")

    def get(self, event: EventView) -> Any:
        if self.kind == "column":
            value: Any = event.row
            for key in self.path:
                if not isinstance(value, dict):
                    return None
                value = value.get(key)
            return value
        if self.kind == "any":
            found: list[str] = []
            for alt in self.alternatives:
                v = alt.get(event)
                if v is None:
                    continue
                if isinstance(v, list):
                    found.extend(_text(item) for item in v if item is not None)
                else:
                    found.append(_text(v))
            return found or None
        document = event.raw if self.kind in ("raw", "raw_list") else event.unmapped
        if self.kind == "raw_list":
            values = [_json_text(v) for v in _walk(document, self.path) if v is not None]
            return values or None
        value = document
        for key in self.path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return None if value is None else _json_text(value)

    def raws(self) -> list[FieldRef]:
        """The JSON-document fields this one reads (they need :func:`prepare`)."""
        if self.kind in ("raw", "raw_list", "unmapped"):
            return [self]
        return [r for alt in self.alternatives for r in alt.raws()]


def _walk(value: Any, path: tuple[str, ...]) -> Iterable[Any]:
    """Every value at ``path``; a ``[]`` segment fans out over a list."""
    if not path:
        yield value
        return
    key, rest = path[0], path[1:]
    if not isinstance(value, dict):
        return
    child = value.get(key.removesuffix("[]"))
    if key.endswith("[]"):
        if isinstance(child, list):
            for item in child:
                yield from _walk(item, rest)
        return
    yield from _walk(child, rest)


def _json_text(value: Any) -> str:
    """A JSON value as text, the way Polars' ``json_path_match`` and DuckDB render it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return orjson.dumps(value).decode()


def _text(value: Any) -> str:
    """A value as text, the way Polars casts it to a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(pl.Series([value]).cast(pl.String)[0])
    return str(value)


def column_field(name: str, path: str) -> FieldRef:
    return FieldRef(name, "column", tuple(path.split(".")))


def raw_field(name: str, path: str | tuple[str, ...]) -> FieldRef:
    """A key path of the raw record; segments ending ``[]`` are lists (``raw_list``)."""
    keys = tuple(path.split(".")) if isinstance(path, str) else path
    crosses = any(k.endswith("[]") for k in keys[:-1])
    if not crosses:
        keys = tuple(k.removesuffix("[]") for k in keys)
    return FieldRef(name, "raw_list" if crosses else "raw", keys)


def any_field(name: str, alternatives: Iterable[FieldRef]) -> FieldRef:
    """One field read from several places; a single alternative is returned as it is."""
    unique: dict[tuple[str, tuple[str, ...]], FieldRef] = {}
    for alt in alternatives:
        for a in alt.alternatives if alt.kind == "any" else (alt,):
            unique.setdefault((a.kind, a.path), a)
    if len(unique) == 1:
        (only,) = unique.values()
        return FieldRef(name, only.kind, only.path)
    return FieldRef(name, "any", (), tuple(unique.values()))


_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB (kept: a new one pays JSON set-up on its first query)."""
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
    return con


LOWER_RAW = "__tw_raw_lower"


def prepare(
    events: pl.DataFrame, fields: Iterable[FieldRef], *, lower_raw: bool = False
) -> pl.DataFrame:
    """``events`` with a column for every field the rules read from a JSON document (the raw
    record, or ``unmapped``), and, with ``lower_raw``, the raw record in lower case (keywords).

    DuckDB reads them: robust to records whose shape differs from the path (Polars' JSON
    decoding fails the batch), and able to expand the ``[]`` of list-crossing paths. Each
    document is parsed once, for every key path at the same time; a list-crossing path first
    takes its outermost list out of the record (in that same pass), then walks the small list.
    A document that is not valid JSON reads as missing."""
    wanted = {f.column_name: f for ref in fields for f in ref.raws()}
    todo = {name: f for name, f in wanted.items() if name not in events.columns}
    extra: list[pl.Series] = []
    if lower_raw and LOWER_RAW not in events.columns:
        extra.append(events["raw_data"].str.to_lowercase().alias(LOWER_RAW))
    if events.is_empty():
        return events.with_columns(
            *extra, *(pl.lit(None, dtype=f.dtype).alias(n) for n, f in todo.items())
        )
    for source, kinds in (("raw_data", ("raw", "raw_list")), ("unmapped", ("unmapped",))):
        chosen = {n: f for n, f in todo.items() if f.kind in kinds}
        if chosen:
            extra.extend(_extract(events[source], chosen))
    return events.hstack(extra) if extra else events


def _extract(documents: pl.Series, todo: dict[str, FieldRef]) -> list[pl.Series]:
    scalars = [(n, f) for n, f in todo.items() if f.kind != "raw_list"]
    lists = [(n, f) for n, f in todo.items() if f.kind == "raw_list"]
    # pass 1: every scalar path, and the outermost list of every list-crossing path
    containers: dict[tuple[str, ...], int] = {}
    paths = [_duckdb_path(f.path) for _, f in scalars]
    for _, f in lists:
        head = _list_head(f.path)
        if head not in containers:
            containers[head] = len(paths)
            paths.append(_duckdb_path(tuple(k.removesuffix("[]") for k in head)))
    con = _connection()
    con.register("tw_documents", pl.DataFrame([documents.alias("d")]).to_arrow())
    try:
        table = con.sql(
            "SELECT json_extract_string(d, $paths) AS v FROM (SELECT CASE WHEN "
            "json_valid(d) THEN d END AS d FROM tw_documents)",
            params={"paths": paths},
        ).to_arrow_table()
    finally:
        con.unregister("tw_documents")
    values = pl.DataFrame(pl.from_arrow(table))["v"]
    out = [values.list.get(i, null_on_oob=True).alias(name) for i, (name, _) in enumerate(scalars)]
    # pass 2: walk each list-crossing path inside its (small) outermost list
    for name, f in lists:
        head = _list_head(f.path)
        lists_text = values.list.get(containers[head], null_on_oob=True).alias("c")
        rest = "$[*]" + _duckdb_path(f.path[len(head) :])[1:]
        con.register("tw_lists", pl.DataFrame([lists_text]).to_arrow())
        try:
            found = con.sql(
                "SELECT CASE WHEN json_valid(c) THEN json_extract_string(c, $rest) END AS v "
                "FROM tw_lists",
                params={"rest": rest},
            ).to_arrow_table()
        finally:
            con.unregister("tw_lists")
        column = pl.DataFrame(pl.from_arrow(found))["v"].list.drop_nulls()
        out.append(
            pl.select(pl.when(column.list.len() > 0).then(column).otherwise(None).cast(TEXT_LIST))
            .to_series()
            .alias(name)
        )
    return out


def _list_head(path: tuple[str, ...]) -> tuple[str, ...]:
    """The path up to its first list (``("properties", "targetResources[]")``)."""
    for i, key in enumerate(path):
        if key.endswith("[]"):
            return path[: i + 1]
    return path


class EventView:
    """One event as the Python oracle sees it: the row, plus its raw record parsed on demand."""

    __slots__ = ("_raw", "_unmapped", "row")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self._raw: Any = _UNSET
        self._unmapped: Any = _UNSET

    @property
    def raw(self) -> Any:
        if self._raw is _UNSET:
            self._raw = _loads(self.row.get("raw_data"))
        return self._raw

    @property
    def unmapped(self) -> Any:
        if self._unmapped is _UNSET:
            self._unmapped = _loads(self.row.get("unmapped"))
        return self._unmapped


_UNSET = object()


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
