"""Engine and session factory: one code path for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, DateTime, Engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.types import TypeDecorator

from bot.storage import sqlite_inline

SessionMaker = async_sessionmaker[AsyncSession]
GROUPED = "bot.storage.grouped"  # Session.info: the session's transaction is a member's message (group commit)
_LANE = "bot.storage.lane"  # Session.info: (its Lane, the dialect) while the session has no connection of its own
_HELD = "bot.storage.held"  # Session.info: (the transaction, its InlineConnection, the dialect)
POOLED = 8  # SQLite: inline connections kept in the pool; more are made when asked for (all share one file)
_FILES: weakref.WeakKeyDictionary[Engine, sqlite_inline.InlineFile] = weakref.WeakKeyDictionary()
Holding = tuple[sqlite_inline.Holder, Dialect]


def make_engine(url: str, *, on_group: sqlite_inline.GroupObserver | None = None) -> AsyncEngine:
    """Create the engine; SQLite gets WAL and one inline connection to the file, taken by one transaction at a
    time, so writers queue in-process, never spin (`on_group` hears the size of each group commit there)."""
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    file = sqlite_inline.InlineFile(_ensure_sqlite_dir(url), on_group)
    engine = create_async_engine(url, pool_size=POOLED, max_overflow=-1, async_creator=file.connect)
    event.listen(engine.sync_engine, "engine_disposed", file.close)
    _FILES[engine.sync_engine] = file
    return engine


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    """Sessions that keep loaded values after commit (no implicit IO in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessionmaker: SessionMaker, *, grouped: bool = False) -> AsyncIterator[AsyncSession]:
    """A session whose block is one transaction, committed as the block ends; closing rolls back a failure.

    `grouped` (a member's message): on SQLite the commit joins a group commit (`bot.storage.sqlite_inline`),
    and the block's exit returns once the group's COMMIT is done, or raises SQLAlchemy's OperationalError
    when the group's writes were undone. Its lean statements (`bot.repo.run`) run on a `Lane`, straight on
    the database, until the session needs a connection of its own, which then carries the lane's transaction
    on; a block that never needed one commits without SQLAlchemy's session machinery at all.

    Unlike `sessionmaker.begin()`, whose exit SQLAlchemy runs in a task of its own, the commit happens
    at once: the database is not held with its transaction open across a turn of the event loop while
    other requests wait their turn (measured: ~1,070 → ~1,400 messages/s). The commit and the close
    (which returns the connection to the pool) run in one hop into SQLAlchemy's greenlet.
    """
    session = sessionmaker()
    lane = _lane(session) if grouped else None
    if grouped:
        session.info[GROUPED] = True
    try:
        yield session
    except BaseException:
        try:
            if lane is not None:
                lane.rollback()
        finally:
            await session.close()
        raise
    sync = session.sync_session
    try:
        if lane is not None and lane.holds() and not pending(sync):
            try:
                durable = lane.commit()  # every statement ran on the lane: the session never had a connection
            finally:
                if sync.get_transaction() is not None:
                    sync.close()  # it began (`session.add` of an object later expunged) but holds nothing
        else:
            durable = await session.run_sync(_commit_and_close)  # the flush's connection adopts the lane
        if durable is not None:
            await durable
    except sqlite3.Error as exc:
        raise OperationalError("COMMIT", None, exc) from exc  # as SQLAlchemy reports a failed COMMIT


def _lane(session: AsyncSession) -> sqlite_inline.Lane | None:
    """A lane for a member's message on an SQLite file already open, kept in the session for `lean_target`."""
    bind = session.sync_session.bind
    if not isinstance(bind, Engine) or (file := _FILES.get(bind)) is None or file.database is None:
        return None  # PostgreSQL, or before the pool's first connection (which sets the dialect up)
    lane = sqlite_inline.Lane(file.database, joining=True)
    session.info[_LANE] = (lane, bind.dialect)
    return lane


def pending(session: Session) -> bool:
    """Whether the session holds objects not yet flushed (its next statement flushes them first): the same as
    `bool(session.new or session.dirty or session.deleted)`, read from the sets those properties are built from,
    because building them cost ~2 µs a call, five calls a message (`tests/test_db.py` checks they agree)."""
    return bool(session._new or session._deleted or session.identity_map._modified)


def lean_target(session: Session) -> Holding | None:
    """Where a lean statement of this session runs now without SQLAlchemy (`bot.repo.lean`), with the dialect
    that compiles it: the session's inline connection, or, while it has none, its lane; None when neither
    (PostgreSQL, a session outside `transaction(grouped=True)` before its first statement, a failed one)."""
    held, current = session.info.get(_HELD), session.get_transaction()
    if held is not None and held[0] is current:
        return (held[1], held[2]) if current is not None and current.is_active else None
    return cast(Holding | None, session.info.get(_LANE))


@event.listens_for(Session, "after_begin")
def _began(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    """A session took an inline connection: remember it (`lean_target`), let it carry on the lane's transaction,
    and mark a member's message as joining the group commit."""
    driver = connection.connection.driver_connection
    if not isinstance(driver, sqlite_inline.InlineConnection):
        return
    session.info[_HELD] = (session.get_transaction(), driver, connection.dialect)
    if session.info.get(GROUPED):
        driver.joining = True
    if (lane := session.info.get(_LANE)) is not None:
        driver.adopt(lane[0])


def _commit_and_close(session: Session) -> asyncio.Future[None] | None:
    """Commit and close; for a member's message on SQLite, the future of its group's COMMIT."""
    driver = _inline_driver(session) if session.info.get(GROUPED) else None
    try:
        session.commit()
        return driver.take_durable() if driver is not None else None
    finally:
        session.close()


def _inline_driver(session: Session) -> sqlite_inline.InlineConnection | None:
    """The inline SQLite connection the session's transaction holds, if it holds one."""
    if session.get_transaction() is None or session.get_bind().dialect.name != "sqlite":
        return None
    driver = session.connection().connection.driver_connection
    return driver if isinstance(driver, sqlite_inline.InlineConnection) else None


def sqlite_path(url: str) -> str | None:
    """The file behind an SQLite URL, or None for other databases."""
    return url.split("///", 1)[-1].split("?", 1)[0] if url.startswith("sqlite") else None


class NoDatabase(Exception):
    """An SQLite file that is not there: a command run from another folder, or before `palmbot db upgrade`."""


@asynccontextmanager
async def open_database(url: str) -> AsyncIterator[SessionMaker]:
    """A session factory for a short-lived command, its engine disposed on the way out.

    Raises NoDatabase for a missing SQLite file rather than creating an empty one.
    """
    require_file(url)
    engine = make_engine(url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def require_file(url: str) -> None:
    """Raise NoDatabase when `url` names an SQLite file that is not there (other databases pass)."""
    path = sqlite_path(url)
    if path and path != ":memory:" and not Path(path).is_file():
        raise NoDatabase(f"no database at {Path(path).resolve()}; run palmbot in the folder that holds it "
                         "(or set database_url), or create it with `palmbot db upgrade`")


def _ensure_sqlite_dir(url: str) -> str:
    """The database file's path, its folder created so a fresh checkout just works."""
    path = sqlite_path(url) or ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC on every backend (SQLite keeps no offset of its own).

    On SQLite the text is SQLAlchemy's own format (`YYYY-MM-DD HH:MM:SS.ffffff`, so stored values keep
    comparing in order), written by one `%` format and read by `fromisoformat` in one step each: SQLAlchemy's
    two-stage processors (this decorator's, then its regular-expression parser) cost more than the
    statement on the rows `积分` reads (`make bench`).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        return _sqlite_text if dialect.name == "sqlite" else super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], datetime | None] | None:
        return _sqlite_value if dialect.name == "sqlite" else super().result_processor(dialect, coltype)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database")
    utc = value.astimezone(UTC)
    # `%` rather than isoformat, whose C code formats through sprintf, or an f-string: a third less time
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond)


def _sqlite_value(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value + "+00:00")  # as `_sqlite_text` wrote it: UTC, without an offset
    except ValueError:
        read = datetime.fromisoformat(value)  # a text with an offset of its own, or a date alone
        return read.replace(tzinfo=UTC) if read.tzinfo is None else read.astimezone(UTC)
