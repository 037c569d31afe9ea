"""Core statements run straight on the inline SQLite connection, inside the session's transaction.

`bot.repo.run` sends the statements every message runs (the dedup claim and reply, the sender, the
ledger) here on SQLite. SQLAlchemy's execution of an already compiled statement (execution context,
parameter processing, cursor result, result metadata) cost more than SQLite's own work: measured
~0.1 ms a statement, two fifths of a `积分`'s CPU. This module compiles a statement once per set of
parameter names through SQLAlchemy's own compiler and type processors, so the SQL text, the bound
values and the values read back are SQLAlchemy's, and then only binds, runs and reads rows.
"""

from __future__ import annotations

import operator
import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from bot.storage.sqlite_inline import Holder

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class Rows:
    """What a statement returned, with the part of SQLAlchemy's Result API the repositories use."""

    rows: list[Any]
    rowcount: int

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def all(self) -> list[Any]:
        return self.rows


Slot = tuple[str | None, int | None, Any, Processor]


@dataclass(frozen=True, slots=True)
class Lean:
    """One statement's SQL for SQLite, where each positional parameter comes from, and how rows come back."""

    sql: str
    # per position: the caller's parameter (None: the statement's own value), the item of the list the caller
    # gave an `IN` (None: not a list), the statement's own value (already processed), the bind processor
    slots: tuple[Slot, ...]
    row: Any  # a named tuple class of the result columns; None when nothing comes back
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]  # the result columns SQLAlchemy converts, by index

    def execute(self, holder: Holder, params: Mapping[str, Any]) -> Rows:
        args = [value if name is None else (params[name] if item is None else params[name][item]) if bind is None
                else bind(params[name] if item is None else params[name][item])
                for name, item, value, bind in self.slots]
        fetched, rowcount = holder.execute_now(self.sql, args)
        return Rows(self._rows(fetched) if self.row is not None else [], rowcount)

    def _rows(self, fetched: list[tuple[Any, ...]]) -> list[Any]:
        make = self.row._make
        if not self.converted:
            return [make(raw) for raw in fetched]
        rows = []
        for raw in fetched:
            values = list(raw)
            for index, convert in self.converted:
                values[index] = convert(values[index])
            rows.append(make(values))
        return rows


def _plain(value: Any) -> Any:
    """A statement's own value as the builtin str or int with the same content, which sqlite3 binds at once; a
    subclass (a StrEnum, an IntEnum, a bool) goes through its adapter lookup on every execution first (~3,500
    instructions a value: the failed attribute lookups raise and clear an AttributeError)."""
    if isinstance(value, str) and type(value) is not str:
        return str.__str__(value)
    if isinstance(value, int) and type(value) is not int:
        return operator.index(value)
    return value


_LISTS = (list, tuple)  # the values bound to an `IN`; a tuple of types checks faster than a union (every statement)
Form = tuple[str | tuple[str, int], ...]  # the parameters' names as given; with lists, each with its length (-1: none)
_compiled: weakref.WeakKeyDictionary[ClauseElement, dict[Form, Lean | None]] = weakref.WeakKeyDictionary()


def compiled(stmt: Executable, params: dict[str, Any], dialect: Dialect) -> Lean | None:
    """The statement compiled for these parameter names and list lengths (cached; SQLAlchemy expands a
    list for an `IN` into one placeholder per item), or None when it cannot run here: many rows of values,
    or an empty list."""
    if not isinstance(stmt, ClauseElement) or not isinstance(params, dict):
        return None
    form: Form = tuple(params)
    for value in params.values():
        if isinstance(value, _LISTS):
            form = tuple((name, len(item) if isinstance(item, _LISTS) else -1) for name, item in params.items())
            break
    forms = _compiled.get(stmt)
    if forms is None:
        forms = _compiled[stmt] = {}
    if form not in forms:
        empty = any(isinstance(part, tuple) and part[1] == 0 for part in form)
        forms[form] = None if empty else _compile(stmt, params, dialect)
    return forms[form]


def _compile(stmt: ClauseElement, params: Mapping[str, Any], dialect: Dialect) -> Lean | None:
    sql = cast(SQLCompiler, stmt.compile(dialect=dialect, column_keys=sorted(params)))
    if sql.insert_prefetch or sql.update_prefetch:
        return None  # column defaults, which SQLAlchemy's execution computes per statement
    state = sql.construct_expanded_state(dict(params))
    if state.positiontup is None:
        return None
    processors: dict[str, Processor] = {key: bind.type.dialect_impl(dialect).bind_processor(dialect)
                                        for key, bind in sql.binds.items()}
    expanded = {position: (name, item) for name, positions in (state.parameter_expansion or {}).items()
                for item, position in enumerate(positions)}
    slots: list[Slot] = []
    for position in state.positiontup:
        name, item = expanded.get(position, (position, None))
        process = processors.get(name) or state.processors.get(position)
        if name in params:
            slots.append((name, item, None, process))
        else:
            value = state.parameters[position]
            slots.append((None, None, _plain(value if process is None else process(value)), None))
    columns: Sequence[Any] = list(getattr(stmt, "exported_columns", ()))
    row = namedtuple("Row", [str(getattr(c, "key", None) or f"c{i}") for i, c in enumerate(columns)],
                     rename=True) if columns else None
    results = (c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    converted = tuple((index, convert) for index, convert in enumerate(results) if convert is not None)
    return Lean(state.statement, tuple(slots), row, converted)
