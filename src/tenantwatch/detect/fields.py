"""Where a rule's field name points: an event column, or a key of the raw record.

Both engines resolve fields through :class:`FieldRef`, so they agree on what a field is:
the Polars engine reads it as an expression over the batch, the Python oracle reads it from one
event. A field that does not exist in an event is ``None`` in both, and never matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
import polars as pl

from tenantwatch.model.schema import EVENT_SCHEMA
from tenantwatch.normalize.columns import event_dtype

__all__ = ["EventView", "FieldRef", "column_field", "is_event_path", "raw_field"]


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


def _json_path(keys: tuple[str, ...]) -> str:
    return "$" + "".join(f"['{k}']" if not k.isidentifier() else f".{k}" for k in keys)


@dataclass(frozen=True)
class FieldRef:
    """A resolved field: ``kind`` is ``column`` (an event attribute path), ``raw`` (a key path
    in the original record) or ``unmapped`` (a key in the ``unmapped`` JSON)."""

    name: str
    kind: str
    path: tuple[str, ...]

    @property
    def dtype(self) -> pl.DataType:
        if self.kind == "column":
            return event_dtype(".".join(self.path))
        return pl.String()

    def expr(self) -> pl.Expr:
        if self.kind == "column":
            head, *rest = self.path
            e = pl.col(head)
            for name in rest:
                e = e.struct.field(name)
            return e
        source = "raw_data" if self.kind == "raw" else "unmapped"
        return pl.col(source).str.json_path_match(_json_path(self.path))

    def get(self, event: EventView) -> Any:
        if self.kind == "column":
            value: Any = event.row
        else:
            value = event.raw if self.kind == "raw" else event.unmapped
        for key in self.path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        if self.kind != "column" and isinstance(value, dict | list):
            return orjson.dumps(value).decode()
        if self.kind != "column" and value is not None and not isinstance(value, str):
            return _json_scalar(value)
        return value


def _json_scalar(value: Any) -> str:
    """A JSON scalar as Polars' ``json_path_match`` renders it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return orjson.dumps(value).decode()


def column_field(name: str, path: str) -> FieldRef:
    return FieldRef(name, "column", tuple(path.split(".")))


def raw_field(name: str, path: str | tuple[str, ...]) -> FieldRef:
    keys = tuple(path.split(".")) if isinstance(path, str) else path
    return FieldRef(name, "raw", keys)


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
