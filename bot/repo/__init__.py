"""Repositories: keyword-only async queries, no rules.

Hot statements are built once with bind parameters: SQLAlchemy then reuses their cache key and
compiled form instead of rebuilding both on every message. The statements every message runs
(dedup, the sender, the ledger) return plain rows through `run`, which skips the ORM's per-statement
work: measured ~45 µs a statement, a tenth of a message's cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Executable, Insert, Result, Table, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Session

from bot.repo.lean import Rows, compiled
from bot.storage.db import lean_target, pending

T = TypeVar("T")
Key = TypeVar("Key", str, int)


IN_AT_ONCE = 500  # values in one `IN (…)`: bound parameters well within SQLite's and PostgreSQL's limits


def chunks(values: Iterable[Key]) -> Iterator[list[Key]]:
    """The distinct values, sorted, IN_AT_ONCE at a time: for `column.in_(chunk)` over a whole file's worth."""
    wanted = sorted(set(values))
    for start in range(0, len(wanted), IN_AT_ONCE):
        yield wanted[start:start + IN_AT_ONCE]


async def run(session: AsyncSession, stmt: Executable, params: dict[str, Any]) -> Result[Any] | Rows:
    """Execute a Core statement on the session's connection and transaction, after flushing pending objects.

    On SQLite the statement runs straight on the database (`bot.repo.lean`): on the session's inline
    connection, or, in a member's message before the session needs one, on its lane
    (`bot.storage.db.transaction`), with no hop into SQLAlchemy's greenlet. Otherwise one hop does the flush,
    the connection lookup and the statement.
    """
    sync = session.sync_session
    target = None if pending(sync) else lean_target(sync)
    if target is not None and (lean := compiled(stmt, params, target[1])):
        await target[0].hold()
        return lean.execute(target[0], params)
    return await session.run_sync(_run, stmt, params)


def _run(session: Session, stmt: Executable, params: dict[str, Any]) -> Result[Any] | Rows:
    connection = session.connection()  # a lane's transaction goes on through it (`bot.storage.db`)
    if pending(session):
        session.flush()
    target = lean_target(session)
    if target is not None and target[0].holds() and (lean := compiled(stmt, params, target[1])):
        return lean.execute(target[0], params)
    return connection.execute(stmt, params)


async def insert_once(session: AsyncSession, model: type[DeclarativeBase], **values: Any) -> bool:
    """Insert a row unless a unique key already holds one; True when this call inserted it."""
    stmt = insert_ignoring_conflicts(inspect(model).local_table, session.get_bind().dialect.name)
    return (await run(session, stmt, values)).first() is not None


def upsert_insert(table: Table, dialect: str) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can take ON CONFLICT clauses, for this database (PostgreSQL or SQLite)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@cache
def insert_ignoring_conflicts(table: Table, dialect: str) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the key, for this table and database."""
    return upsert_insert(table, dialect).on_conflict_do_nothing().returning(*table.primary_key)


ID_MAX = 2**31 - 1  # the largest value an integer key holds on PostgreSQL (and past 2**63 SQLite overflows)


async def by_id(session: AsyncSession, model: type[T], row_id: int) -> T | None:
    """The row with this primary key, or None, for any number a person typed (`会议 99999999999999999999`)."""
    return await session.get(model, row_id) if 0 < row_id <= ID_MAX else None


def rowcount(result: object) -> int:
    """Rows an UPDATE or DELETE touched (the async Result type does not declare it)."""
    return int(getattr(result, "rowcount", 0) or 0)
