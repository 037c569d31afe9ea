"""SQLite run inline on the event loop: one connection per file, held by one transaction at a time.

aiosqlite hands every call to a worker thread; on a 2-core VM one hand-off costs ~130 µs while a
local WAL-mode statement costs a few µs, so a request of eight statements spent ~4.5 ms waiting on
thread wake-ups. SQLAlchemy's aiosqlite dialect accepts any connection with aiosqlite's awaitable
API (`async_creator`), so we give it `InlineConnection`. The trade-off: a statement waiting on another
*process's* write lock blocks the loop, for at most BUSY_TIMEOUT; within the process no one waits on
SQLite's lock, because one connection serves everyone.

One transaction at a time (`InlineDatabase.acquire`): a transaction holds the database from its first
statement to its commit or rollback, and any other waits its turn, in order. A transaction is run by a
holder: a pooled `InlineConnection` (SQLAlchemy's sessions and connections; the pool hands out as many of
them as are asked for, all over the one file's connection) or a `Lane`, which runs a member's message
straight on the database without SQLAlchemy's session (`bot.storage.db.transaction`): measured ~0.3 ms of
CPU a message, a third of its cost, in `make bench`. When a lane's message then needs the ORM, the
session's connection adopts the lane's transaction and carries it on (`InlineConnection.adopt`).

Group commit: a member's message commits with `joining` set, which keeps the transaction open and hands
back a future (`Lane.commit`, `InlineConnection.take_durable`) instead of committing. The messages whose work the loop runs before its
next turn join that open transaction, each in a savepoint of its own, so a failure undoes only its own
writes; then one COMMIT makes them all durable and resolves their futures, and only then is any of them
answered. Any other transaction (the delivery worker's, a job's, a console page's) commits the waiting
group before its first statement, so it never reads, nor acts on, work that is not yet durable. A group's
COMMIT writes each changed page once, where a COMMIT per message wrote the dedup table's pages again and
again (measured in `make bench`, README's benchmark section).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self

log = logging.getLogger(__name__)
BUSY_TIMEOUT = 2.0
HOLD_TIMEOUT = 30.0  # seconds a transaction waits for its turn before failing (as SQLAlchemy's pool would)
GROUP_LIMIT = 64  # messages in one group commit at most: the first one waits for the last one's handler
_SAVEPOINT, _RELEASE = "SAVEPOINT palmbot_message", "RELEASE palmbot_message"
_ROLLBACK_TO = "ROLLBACK TO palmbot_message"
GroupObserver = Callable[[int], None]  # told the size of each group commit (`/metrics`)
_LOST = "SQLite rolled back the transaction that held this message's writes"
PRAGMAS = (
    "PRAGMA journal_mode=WAL",  # readers never wait for the writer
    "PRAGMA synchronous=NORMAL",  # safe in WAL: a crash loses no committed transaction, a power cut the last few
    "PRAGMA foreign_keys=ON",
    "PRAGMA cache_size=-32000",  # 32 MB of pages: the hot tables stay in memory
    "PRAGMA wal_autocheckpoint=0",  # the checkpoint job does it off the loop (`checkpoint`)
)


class Holder:
    """Whoever runs a transaction on the database: a `Lane` or an `InlineConnection`.

    `joining`: the transaction is a member's message, whose commit joins the group (module docstring).
    """

    def __init__(self, database: InlineDatabase, *, joining: bool = False) -> None:
        self.database = database
        self.joining = joining

    def holds(self) -> bool:
        """Whether this holder's transaction is the one under way."""
        return self.database.owner is self

    async def hold(self) -> None:
        """Wait for this holder's turn (at once when the database is free or already its own)."""
        await self.database.acquire(self)

    def execute_now(self, sql: str, parameters: Sequence[Any]) -> tuple[list[Any], int]:
        """Run a statement at once (`bot.repo.lean`): its rows and rowcount; the holder must hold the database."""
        return self.database.execute_now(self, sql, parameters)


class Lane(Holder):
    """One member's message run straight on the database, without SQLAlchemy's session."""

    def commit(self) -> asyncio.Future[None] | None:
        """End the transaction: the future of the group's COMMIT when it joined one, else None (done)."""
        return self.database.commit(self)

    def rollback(self) -> None:
        self.database.rollback(self)


class InlineDatabase:
    """One SQLite file's only connection: whose transaction is under way, who waits, and the group commit."""

    def __init__(self, connection: sqlite3.Connection, on_group: GroupObserver | None = None) -> None:
        self.conn = connection
        self._cursor = connection.cursor()  # the lean statements' (`execute_now`): no cursor made per statement
        self.closed = False
        self.owner: Holder | None = None
        self._on_group = on_group
        self._waiting: deque[tuple[Holder, asyncio.Future[None]]] = deque()
        self._group: list[asyncio.Future[None]] = []  # deferred commits waiting for the group's COMMIT
        self._savepoint = False  # the transaction under way runs in a savepoint inside the open group
        self._flush_due = False  # the group's turn came while a transaction was under way
        self._doomed = False  # SQLite rolled back the transaction under way: it can only end in a rollback

    async def acquire(self, holder: Holder) -> None:
        """Make `holder`'s transaction the one under way, after those that asked before it (first come, first
        served); sqlite3.OperationalError after HOLD_TIMEOUT seconds of waiting."""
        if self.owner is holder:
            return
        if self.owner is None and not self._waiting:
            self.owner = holder
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append((holder, turn))
        try:
            async with asyncio.timeout(HOLD_TIMEOUT):
                await turn
        except TimeoutError:
            self._give_up(holder, turn)
            raise sqlite3.OperationalError(f"no turn on the database within {HOLD_TIMEOUT:.0f} s") from None
        except BaseException:
            self._give_up(holder, turn)
            raise

    def _give_up(self, holder: Holder, turn: asyncio.Future[None]) -> None:
        """A waiting holder stopped waiting (cancelled, timed out or the database closed)."""
        if self.owner is holder:
            self._release()  # its turn came as it gave up
        elif (holder, turn) in self._waiting:
            self._waiting.remove((holder, turn))

    def _release(self) -> None:
        """The transaction under way ended: the next waiting holder's turn."""
        self.owner = None
        while self._waiting:
            holder, turn = self._waiting.popleft()
            if not turn.done():
                self.owner = holder
                turn.set_result(None)
                return

    def execute_now(self, holder: Holder, sql: str, parameters: Sequence[Any]) -> tuple[list[Any], int]:
        """Run a statement of `holder`'s transaction on the one cursor kept for it: its rows and rowcount."""
        self.enter(holder)
        cursor = self._cursor.execute(sql, parameters)
        return cursor.fetchall(), cursor.rowcount

    def enter(self, holder: Holder) -> None:
        """Before a statement of `holder`'s transaction: a message that starts while a group waits joins it in a
        savepoint of its own; any other transaction first commits the group."""
        if self.owner is not holder:
            raise RuntimeError("a statement outside the transaction under way")  # a bug, never interleaved
        self._notice_loss()
        if self._doomed:
            raise sqlite3.OperationalError(_LOST)
        if self._group and not self._savepoint:
            if not holder.joining:
                self._commit_group()
                return
            self.conn.execute(_SAVEPOINT)
            self._savepoint = True

    def commit(self, holder: Holder) -> asyncio.Future[None] | None:
        """End `holder`'s transaction with a commit: deferred into the group for a joining one, whose future
        is returned (done once the group's COMMIT is), else now (None). Nothing, when another transaction is
        the one under way."""
        if self.owner is not holder:
            return None
        try:
            self._notice_loss()
            if self._doomed:
                self._doomed = False
                raise sqlite3.OperationalError(_LOST)
            if self._savepoint:
                self.conn.execute(_RELEASE)
                self._savepoint = False
            if holder.joining and self.conn.in_transaction and not self._flush_due and len(
                    self._group) < GROUP_LIMIT:
                durable = asyncio.get_running_loop().create_future()
                self._group.append(durable)
                if len(self._group) == 1:
                    asyncio.get_running_loop().call_soon(self._flush)
                return durable
            self._commit_group()
            return None
        finally:
            self._release()

    def rollback(self, holder: Holder) -> None:
        """Undo `holder`'s transaction (only its own savepoint when it joined a group); nothing, when another
        transaction is the one under way."""
        if self.owner is not holder:
            return
        try:
            self._notice_loss()
            if self._doomed:
                self._doomed = False  # SQLite has already undone it, and the group with it
                return
            if self._savepoint:
                self.conn.execute(_ROLLBACK_TO)
                self.conn.execute(_RELEASE)
                self._savepoint = False
                if self._flush_due:
                    self._commit_group()
            elif not self._group:
                self.conn.rollback()
            # else: it wrote nothing, and the group's work is not its to undo
        finally:
            self._release()

    def _notice_loss(self) -> None:
        """SQLite rolls a whole transaction back by itself on some errors (I/O, a full disk, a trigger's
        `RAISE(ROLLBACK)`), savepoints and all: then every message waiting in the group has lost its writes,
        and so has the transaction under way. Their futures fail (each message gets the apology) and the
        connection starts afresh."""
        if self.conn.in_transaction or not (self._group or self._savepoint):
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
            self.conn.commit()
        except sqlite3.Error as exc:
            self.conn.rollback()
            for durable in group:
                if not durable.done():
                    durable.set_exception(exc)
            raise
        for durable in group:
            if not durable.done():
                durable.set_result(None)
        if group and self._on_group is not None:
            self._on_group(len(group))

    def stop(self) -> None:
        """Close, after committing a waiting group (without the unfinished work of a transaction under way);
        anyone still waiting for a turn gets sqlite3.ProgrammingError."""
        if self.closed:
            return
        self._notice_loss()
        try:
            if self._savepoint:
                self.conn.execute(_ROLLBACK_TO)
                self._savepoint = False
            if self._group:
                self._commit_group()
        except sqlite3.Error:
            log.exception("could not commit the waiting messages while closing the database")
        finally:
            self.closed, self.owner = True, None
            self.conn.close()
            waiting, self._waiting = self._waiting, deque()
            for _holder, turn in waiting:
                if not turn.done():
                    turn.set_exception(sqlite3.ProgrammingError("the database was closed"))


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
        await self._enter()
        self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, seq: Iterable[Sequence[Any]]) -> InlineCursor:
        await self._enter()
        self._cursor.executemany(operation, seq)
        return self

    async def _enter(self) -> None:
        """Before a statement: the connection's turn on the database, then the group's savepoint or commit."""
        await self._owner.hold()
        self._owner.database.enter(self._owner)

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection(Holder):
    """The awaitable connection API SQLAlchemy's aiosqlite adapter calls: one per pooled connection, all over
    the file's one `InlineDatabase`. Its transaction holds the database from its first statement."""

    def __init__(self, database: InlineDatabase) -> None:
        super().__init__(database)
        self._connection: InlineDatabase | None = database  # the adapter checks it before commit and rollback
        self._durable: asyncio.Future[None] | None = None

    @property
    def isolation_level(self) -> str | None:
        return self.database.conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        setattr(self.database.conn, "isolation_level", value)  # noqa: B010 -- typeshed omits the legacy "" level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self.database.conn.cursor(), self)

    def adopt(self, lane: Lane) -> None:
        """Carry on `lane`'s transaction, if it is the one under way: its session now needs the ORM."""
        if lane.holds():
            self.database.owner = self
            self.joining = lane.joining

    async def commit(self) -> None:
        """SQLAlchemy's commit; for a joining transaction, the group's future is kept for `take_durable`."""
        try:
            self._durable = self.database.commit(self)
        finally:
            self.joining = False  # set again for the next grouped session (`bot.storage.db`)

    async def rollback(self) -> None:
        try:
            self.database.rollback(self)
        finally:
            self.joining = False

    def take_durable(self) -> asyncio.Future[None] | None:
        """The future of the last commit when it was deferred: done once the group's COMMIT is."""
        durable, self._durable = self._durable, None
        return durable

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Back from the pool for good: a transaction it still holds is undone."""
        if self._connection is not None and not self.database.closed:
            self.database.rollback(self)
        self._connection = None

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self.database.conn.create_function(*args, **kw)


class InlineFile:
    """An engine's SQLite file: opened on the pool's first connection (`connect`, an `async_creator`) and
    closed when the engine is disposed (`close`); `database` is None while it is not open.

    `on_group` hears how many messages each group commit made durable.
    """

    def __init__(self, path: str, on_group: GroupObserver | None = None) -> None:
        self.path = path
        self.database: InlineDatabase | None = None
        self._on_group = on_group

    async def connect(self) -> InlineConnection:
        if self.database is None or self.database.closed:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False)
            for pragma in PRAGMAS:
                connection.execute(pragma)
            self.database = InlineDatabase(connection, self._on_group)
        return InlineConnection(self.database)

    def close(self, *_engine: object) -> None:
        database, self.database = self.database, None
        if database is not None:
            database.stop()


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
