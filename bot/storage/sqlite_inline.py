"""An aiosqlite-shaped connection that runs sqlite3 calls inline on the event loop.

aiosqlite hands every call to a worker thread; on a 2-core VM one hand-off costs ~130 µs while a
local WAL-mode statement costs a few µs, so a request of eight statements spent ~4.5 ms waiting on
thread wake-ups. SQLAlchemy's aiosqlite dialect accepts any connection with aiosqlite's awaitable
API (`async_creator`), so we give it this one. The trade-off: a statement waiting on another
*process's* write lock blocks the loop, for at most BUSY_TIMEOUT; within the process the single
pooled connection means no one waits on SQLite's lock.

Group commit: a member's message commits with `joining` set
(`bot.storage.db.transaction(grouped=True)`), which keeps the transaction open and hands back a future
(`take_durable`) instead of committing. The messages whose work the loop runs before its next turn join that
open transaction, each in a savepoint of its own, so a failure undoes only its own writes; then one COMMIT
makes them all durable and resolves their futures, and only then is any of them answered. Any other
transaction (the delivery worker's, a job's, a console page's) commits the waiting group before its first
statement, so it never reads, nor acts on, work that is not yet durable. A group's COMMIT writes each
changed page once, where a COMMIT per message wrote the dedup table's pages again and again (measured in
`make bench`, README's benchmark section).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self

log = logging.getLogger(__name__)
BUSY_TIMEOUT = 2.0
GROUP_LIMIT = 64  # messages in one group commit at most: the first one waits for the last one's handler
_SAVEPOINT = "palmbot_message"
GroupObserver = Callable[[int], None]  # told the size of each group commit (`/metrics`)
_LOST = "SQLite rolled back the transaction that held this message's writes"


class InlineCursor:
    """The awaitable cursor API SQLAlchemy's adapter calls, over a plain sqlite3 cursor."""

    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner

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
        self._owner.enter()
        self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, seq: Iterable[Sequence[Any]]) -> InlineCursor:
        self._owner.enter()
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
    """The awaitable connection API SQLAlchemy's aiosqlite adapter calls, with group commit (module docstring)."""

    def __init__(self, connection: sqlite3.Connection, on_group: GroupObserver | None = None) -> None:
        self._conn = connection
        self._on_group = on_group
        self._connection: sqlite3.Connection | None = connection
        self._group: list[asyncio.Future[None]] = []  # deferred commits waiting for the group's COMMIT
        self._savepoint = False  # the transaction under way runs in a savepoint inside the open group
        self._flush_due = False  # the group's turn came while a transaction was under way
        self._durable: asyncio.Future[None] | None = None
        self._doomed = False  # SQLite rolled back the transaction under way: it can only end in a rollback
        self.joining = False  # the transaction under way is a member's message: it joins the group, commit deferred

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        setattr(self._conn, "isolation_level", value)  # noqa: B010 -- typeshed omits the legacy "" level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor(), self)

    def execute_now(self, sql: str, parameters: Sequence[Any]) -> sqlite3.Cursor:
        """Run a statement at once, without the awaitable API (`bot.repo.lean`)."""
        self.enter()
        return self._conn.execute(sql, parameters)

    def enter(self) -> None:
        """Before a statement: a message that starts while a group waits joins it in a savepoint of its own;
        any other transaction first commits the group."""
        self._notice_loss()
        if self._doomed:
            raise sqlite3.OperationalError(_LOST)
        if self._group and not self._savepoint:
            if not self.joining:
                self._commit_group()
                return
            self._conn.execute(f"SAVEPOINT {_SAVEPOINT}")
            self._savepoint = True

    def take_durable(self) -> asyncio.Future[None] | None:
        """The future of the last commit when it was deferred: done once the group's COMMIT is."""
        durable, self._durable = self._durable, None
        return durable

    async def commit(self) -> None:
        deferring, self.joining = self.joining, False
        self._notice_loss()
        if self._doomed:
            self._doomed = False
            raise sqlite3.OperationalError(_LOST)
        if self._savepoint:
            self._conn.execute(f"RELEASE {_SAVEPOINT}")
            self._savepoint = False
        if deferring and self._conn.in_transaction and not self._flush_due and len(self._group) < GROUP_LIMIT:
            self._durable = asyncio.get_running_loop().create_future()
            self._group.append(self._durable)
            if len(self._group) == 1:
                asyncio.get_running_loop().call_soon(self._flush)
            return
        self._commit_group()

    async def rollback(self) -> None:
        self.joining = False
        self._notice_loss()
        if self._doomed:
            self._doomed = False  # SQLite has already undone it, and the group with it
            return
        if self._savepoint:
            self._conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            self._conn.execute(f"RELEASE {_SAVEPOINT}")
            self._savepoint = False
            if self._flush_due:
                self._commit_group()
        elif not self._group:
            self._conn.rollback()
        # else: the group's work is not this caller's to undo (its own transaction already ended)

    def _notice_loss(self) -> None:
        """SQLite rolls a whole transaction back by itself on some errors (I/O, a full disk, a trigger's
        `RAISE(ROLLBACK)`), savepoints and all: then every message waiting in the group has lost its writes,
        and so has the transaction under way. Their futures fail (each message gets the apology) and the
        connection starts afresh."""
        if self._conn.in_transaction or not (self._group or self._savepoint):
            return
        group, self._group, self._flush_due = self._group, [], False
        for durable in group:
            if not durable.done():
                durable.set_exception(sqlite3.OperationalError(_LOST))
        if self._savepoint:
            self._savepoint, self._doomed = False, True

    def _flush(self) -> None:
        """The loop's next turn: commit the group, or as soon as the transaction under way ends."""
        self._notice_loss()
        if not self._group:
            return  # an earlier commit took the group along (or the connection closed)
        if self._savepoint:
            self._flush_due = True
            return
        size = len(self._group)
        try:
            self._commit_group()
        except sqlite3.Error:
            log.exception("a group commit of %d messages failed; each of them is answered with an apology", size)

    def _commit_group(self) -> None:
        """COMMIT (the group, and whatever the caller did), then tell every deferred commit how it went."""
        group, self._group, self._flush_due = self._group, [], False
        try:
            self._conn.commit()
        except sqlite3.Error as exc:
            self._conn.rollback()
            for durable in group:
                if not durable.done():
                    durable.set_exception(exc)
            raise
        for durable in group:
            if not durable.done():
                durable.set_result(None)
        if group and self._on_group is not None:
            self._on_group(len(group))

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close, after committing a waiting group (without the unfinished work of a transaction under way)."""
        self._notice_loss()
        try:
            if self._savepoint:
                self._conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                self._savepoint = False
            if self._group:
                self._commit_group()
        except sqlite3.Error:
            log.exception("could not commit the waiting messages while closing the database")
        finally:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)


def creator(path: str, on_group: GroupObserver | None = None) -> Any:
    """An `async_creator` for create_async_engine opening `path` inline, without automatic checkpoints;
    `on_group` hears how many messages each group commit made durable."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
        connection.execute("PRAGMA wal_autocheckpoint=0")
        return InlineConnection(connection, on_group)

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
