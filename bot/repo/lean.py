"""Core statements run straight on the inline SQLite connection, inside the session's transaction.

`bot.repo.run` sends the statements every message runs (the dedup claim and reply, the sender, the
ledger) here on SQLite. SQLAlchemy's execution of an already compiled statement (execution context,
parameter processing, cursor result, result metadata) cost more than SQLite's own work: measured
~0.1 ms a statement, two fifths of a `积分`'s CPU. This module compiles a statement once per set of
parameter names through SQLAlchemy's own compiler and type processors, so the SQL text, the bound
values and the values read back are SQLAlchemy's, and then only binds, runs and reads rows.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Lean:
    """One statement's SQL for SQLite, where each positional parameter comes from, and how rows come back."""

    sql: str
    names: tuple[str | None, ...]  # the caller's parameter for each position, None for the statement's own
    items: tuple[int | None, ...]  # for a list the caller gave an `IN`: the item's index at this position
    values: tuple[Any, ...]  # the statement's own values (already processed), where `names` says None
    binds: tuple[Processor, ...]
    row: Callable[..., Any] | None  # a named tuple of the result columns; None when nothing comes back
    results: tuple[Processor, ...]

    def execute(self, connection: Holder, params: Mapping[str, Any]) -> Rows:
        args = [value if name is None else _bound(params[name] if item is None else params[name][item], bind)
                for name, item, value, bind in zip(self.names, self.items, self.values, self.binds, strict=True)]
        cursor = connection.execute_now(self.sql, args)
        try:
            if self.row is None:
                return Rows([], cursor.rowcount)
            make, results = self.row, self.results
            rows = [make(*(value if convert is None else convert(value) for value, convert in zip(
                raw, results, strict=True))) for raw in cursor.fetchall()]
            return Rows(rows, cursor.rowcount)
        finally:
            cursor.close()


def _bound(value: Any, bind: Processor) -> Any:
    return value if bind is None else bind(value)


Form = tuple[tuple[str, int], ...]  # the parameters' names, each with its list's length (-1: not a list)
_compiled: weakref.WeakKeyDictionary[ClauseElement, dict[Form, Lean | None]] = weakref.WeakKeyDictionary()


def compiled(stmt: Executable, params: Mapping[str, Any], dialect: Dialect) -> Lean | None:
    """The statement compiled for these parameter names and list lengths (cached; SQLAlchemy expands a
    list for an `IN` into one placeholder per item), or None when it cannot run here: many rows of values,
    or an empty list."""
    if not isinstance(stmt, ClauseElement) or not isinstance(params, Mapping):
        return None
    form = tuple(sorted((name, len(value) if isinstance(value, list | tuple) else -1)
                        for name, value in params.items()))
    forms = _compiled.setdefault(stmt, {})
    if form not in forms:
        forms[form] = None if any(size == 0 for _, size in form) else _compile(stmt, params, dialect)
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
    names: list[str | None] = []
    items: list[int | None] = []
    values: list[Any] = []
    binds: list[Processor] = []
    for position in state.positiontup:
        name, item = expanded.get(position, (position, None))
        process = processors.get(name) or state.processors.get(position)
        mine = name in params
        names.append(name if mine else None)
        items.append(item)
        value = None if mine else state.parameters[position]
        values.append(value if mine or process is None else process(value))
        binds.append(process if mine else None)
    columns: Sequence[Any] = list(getattr(stmt, "exported_columns", ()))
    row = namedtuple("Row", [str(getattr(c, "key", None) or f"c{i}") for i, c in enumerate(columns)],
                     rename=True) if columns else None
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return Lean(state.statement, tuple(names), tuple(items), tuple(values), tuple(binds), row, results)
