"""An aiosqlite-shaped connection that runs sqlite3 calls inline on the event loop.

aiosqlite hands every call to a worker thread; on a 2-core VM one hand-off costs ~130 µs while a
local WAL-mode statement costs a few µs, so a request of eight statements spent ~4.5 ms waiting on
thread wake-ups. SQLAlchemy's aiosqlite dialect accepts any connection with aiosqlite's awaitable
API (`async_creator`), so we give it this one. The trade-off: a statement waiting on another
*process's* write lock blocks the loop, for at most BUSY_TIMEOUT; within the process the single
pooled connection means no one waits on SQLite's lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Self

BUSY_TIMEOUT = 2.0


class InlineCursor:
    """The awaitable cursor API SQLAlchemy's adapter calls, over a plain sqlite3 cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, operation: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, seq: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(operation, seq)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The awaitable connection API SQLAlchemy's aiosqlite adapter calls."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        setattr(self._conn, "isolation_level", value)  # noqa: B010 -- typeshed omits the legacy "" level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    def execute_now(self, sql: str, parameters: Sequence[Any]) -> sqlite3.Cursor:
        """Run a statement at once, without the awaitable API (`bot.repo.lean`)."""
        return self._conn.execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._connection = None
        self._conn.close()

    def stop(self) -> None:
        self._connection = None
        self._conn.close()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)


def creator(path: str) -> Any:
    """An `async_creator` for create_async_engine opening `path` inline, without automatic checkpoints."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
        connection.execute("PRAGMA wal_autocheckpoint=0")
        return InlineConnection(connection)

    return connect


def checkpoint(path: str) -> None:
    """Copy the WAL back into the database on a connection of its own (call it from a worker thread).

    The serving connection never checkpoints, because a checkpoint's fsync would stall the event loop.
    A PASSIVE checkpoint here does the copying and the fsync without blocking the writer. Under steady
    writes it never catches up, and the WAL restarts only after a complete checkpoint (measured: 170 MB
    after a minute of `make bench`), so a short RESTART follows: it folds in the last few frames so the
    next write starts the file over, or gives up after 50 ms and leaves it to the next run.
    """
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT)
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        connection.execute("PRAGMA busy_timeout=50")
        connection.execute("PRAGMA wal_checkpoint(RESTART)")
    finally:
        connection.close()
