"""Group commit on SQLite (`bot.storage.sqlite_inline`): messages answered only once durable, each undone
alone.

The first tests drive the inline connection directly on a file of their own, and a second connection
stands for anyone else reading the database (another process, or the same one after a crash). The last
runs members' messages through the app on the engine under test.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.conversation.routing import Router
from bot.repo import inbound
from bot.storage import sqlite_inline
from bot.storage.db import SessionMaker, transaction
from bot.storage.models import InboundMessage, Organisation
from bot.storage.sqlite_inline import InlineDatabase, Lane
from tests.phone import Phone

Inline = tuple[InlineDatabase, sqlite3.Connection]


@pytest.fixture
async def inline(tmp_path: Path) -> AsyncIterator[Inline]:
    """The served database and an outsider's connection, on a file with a table of rows and a deferred foreign
    key."""
    path = str(tmp_path / "group.db")
    setup = sqlite3.connect(path)
    setup.executescript("""
        PRAGMA journal_mode=WAL;
        CREATE TABLE parents (id INTEGER PRIMARY KEY);
        CREATE TABLE rows (name TEXT PRIMARY KEY,
                           parent INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED);
        -- SQLite undoes a whole transaction, savepoints and all, on an I/O error or a full disk; so does this
        CREATE TRIGGER disk_gone BEFORE INSERT ON rows WHEN NEW.name = 'disk gone'
        BEGIN SELECT RAISE(ROLLBACK, 'disk gone'); END;
    """)
    setup.close()
    file = sqlite_inline.InlineFile(path)
    await file.connect()
    assert file.database is not None
    outsider = sqlite3.connect(path)
    yield file.database, outsider
    outsider.close()
    file.close()


async def insert(database: InlineDatabase, name: str, parent: int | None = None, *, message: bool = True) -> Lane:
    """A transaction writing one row: a member's message (which joins a waiting group), or anyone else's
    (`message=False`)."""
    tx = Lane(database, joining=message)
    await tx.hold()
    tx.execute_now("INSERT INTO rows (name, parent) VALUES (?, ?)", (name, parent))
    return tx


async def message(database: InlineDatabase, name: str, parent: int | None = None) -> asyncio.Future[None]:
    """A member's message that writes one row and commits into the group: the future of its COMMIT."""
    durable = (await insert(database, name, parent)).commit()
    assert durable is not None
    return durable


def seen(outsider: sqlite3.Connection) -> list[str]:
    return [name for (name,) in outsider.execute("SELECT name FROM rows ORDER BY name")]


async def test_messages_of_one_turn_become_durable_together_and_only_then_are_done(inline: Inline) -> None:
    database, outsider = inline
    first = await message(database, "a")
    second = await message(database, "b")
    assert seen(outsider) == []  # nothing is durable yet, so neither message may be answered
    assert not first.done() and not second.done()
    await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert seen(outsider) == ["a", "b"]


async def test_a_failed_message_in_a_group_undoes_only_its_own_writes(inline: Inline) -> None:
    database, outsider = inline
    durable = await message(database, "kept")
    (await insert(database, "undone")).rollback()
    later = await message(database, "also kept")
    await asyncio.gather(durable, later)
    assert seen(outsider) == ["also kept", "kept"]


async def test_any_other_transaction_makes_the_waiting_group_durable_before_its_first_statement(
        inline: Inline) -> None:
    database, outsider = inline
    durable = await message(database, "message")
    worker = await insert(database, "delivery worker", message=False)  # it reads and acts only on what is on disk
    assert seen(outsider) == ["message"]
    assert durable.done() and durable.exception() is None
    assert worker.commit() is None  # committed now, not deferred
    assert seen(outsider) == ["delivery worker", "message"]


async def test_the_group_waits_for_a_transaction_under_way_and_commits_as_it_ends(inline: Inline) -> None:
    database, outsider = inline
    durable = await message(database, "first")
    under_way = await insert(database, "under way")  # it holds the database across the loop's next turn
    await asyncio.sleep(0.01)
    assert not durable.done() and seen(outsider) == []
    under_way.rollback()
    await asyncio.wait_for(durable, 1)
    assert seen(outsider) == ["first"]


async def test_a_group_whose_commit_fails_fails_every_message_in_it(inline: Inline) -> None:
    database, outsider = inline
    innocent = await message(database, "innocent")
    orphan = await message(database, "orphan", parent=42)  # no such parent: the deferred key fails at COMMIT
    for durable in (innocent, orphan):
        with pytest.raises(sqlite3.IntegrityError):
            await asyncio.wait_for(durable, 1)
    assert seen(outsider) == []  # neither was answered as done, and neither is half there
    await asyncio.wait_for(await message(database, "next"), 1)
    assert seen(outsider) == ["next"]


async def test_a_transaction_sqlite_undoes_whole_fails_the_waiting_group_and_the_connection_goes_on(
        inline: Inline) -> None:
    database, outsider = inline
    waiting = await message(database, "waiting")
    with pytest.raises(sqlite3.IntegrityError):
        await insert(database, "disk gone")
    lost = database.owner
    assert isinstance(lost, Lane)
    with pytest.raises(sqlite3.OperationalError):
        lost.execute_now("INSERT INTO rows (name) VALUES ('after the loss')", ())  # its earlier writes are gone
    lost.rollback()
    with pytest.raises(sqlite3.OperationalError):
        await asyncio.wait_for(waiting, 1)  # its writes were undone too: it gets the apology, not a success
    await asyncio.wait_for(await message(database, "next"), 1)
    assert seen(outsider) == ["next"]


async def behind(database: InlineDatabase, *names: str) -> tuple[Lane, list[asyncio.Task[Lane]]]:
    """A transaction under way (writing the first name) and others asking for their turn behind it, in order."""
    first = await insert(database, names[0], message=False)
    waiting = [asyncio.create_task(insert(database, name, message=False)) for name in names[1:]]
    await asyncio.sleep(0.01)
    return first, waiting


async def test_a_transaction_waits_its_turn_and_never_runs_inside_another(inline: Inline) -> None:
    database, outsider = inline
    first, (second, third) = await behind(database, "first", "second", "third")
    assert not second.done() and not third.done()  # they wait: their statements are not part of first's
    with pytest.raises(RuntimeError):
        Lane(database).execute_now("INSERT INTO rows (name) VALUES ('intruder')", ())
    first.rollback()
    holding = await second
    await asyncio.sleep(0.01)
    assert holding.holds() and not third.done()  # the turns go in the order they were asked for
    holding.commit()
    (await third).commit()
    assert seen(outsider) == ["second", "third"]
    assert database.owner is None


async def test_a_waiter_that_gives_up_does_not_stall_the_ones_after_it(inline: Inline) -> None:
    database, outsider = inline
    first, (cancelled, after) = await behind(database, "first", "cancelled", "after")
    cancelled.cancel()
    first.commit()
    (await asyncio.wait_for(after, 1)).commit()
    assert cancelled.cancelled()
    assert seen(outsider) == ["after", "first"]


async def test_a_transaction_that_waits_too_long_fails_and_the_next_still_gets_its_turn(
        inline: Inline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_inline, "HOLD_TIMEOUT", 0.05)
    database, outsider = inline
    first, (late,) = await behind(database, "first", "late")
    with pytest.raises(sqlite3.OperationalError):
        await late  # the message it belonged to gets the apology
    first.commit()
    (await insert(database, "next", message=False)).commit()
    assert seen(outsider) == ["first", "next"]
    assert database.owner is None


async def test_a_connection_carries_on_the_lane_it_adopts(inline: Inline) -> None:
    database, outsider = inline
    lane = await insert(database, "by the lane")
    connection = sqlite_inline.InlineConnection(database)
    connection.adopt(lane)  # the message's session needed the ORM
    assert connection.holds() and connection.joining and not lane.holds()
    cursor = connection.cursor()
    await cursor.execute("INSERT INTO rows (name) VALUES ('by the session')")
    await connection.commit()
    durable = connection.take_durable()
    assert durable is not None
    await asyncio.wait_for(durable, 1)
    assert seen(outsider) == ["by the lane", "by the session"]
    assert lane.commit() is None and database.owner is None  # the lane's own commit has nothing left to do


async def test_concurrent_messages_with_a_failing_handler_lose_no_one_elses_write(  # type: ignore[no-untyped-def]
        make_client, sim, clock, db, monkeypatch) -> None:
    groups: list[int] = []
    commit_group = InlineDatabase._commit_group

    def counting(self: InlineDatabase) -> None:
        groups.append(len(self._group))
        commit_group(self)

    monkeypatch.setattr(InlineDatabase, "_commit_group", counting)
    router = Router()

    @router.command("记")
    async def record(ctx):  # type: ignore[no-untyped-def]
        ctx.session.add(Organisation(name=f"记{ctx.args[0]}", kind="党支部", path=f"记{ctx.args[0]}"))
        return f"已记 {ctx.args[0]}"

    @router.command("坏")
    async def broken(ctx):  # type: ignore[no-untyped-def]
        ctx.session.add(Organisation(name=f"坏{ctx.args[0]}", kind="党支部", path=f"坏{ctx.args[0]}"))
        await ctx.session.flush()
        raise RuntimeError("boom")

    client = await make_client(router=router)
    words = [f"{'坏' if i % 4 == 3 else '记'} {i}" for i in range(24)]
    phones = [Phone(client, sim, clock, f"139000001{i:02d}") for i in range(len(words))]
    replies = await asyncio.gather(*(p.send(w) for p, w in zip(phones, words, strict=True)))
    for word, reply in zip(words, replies, strict=True):
        assert reply is not None
        assert reply.startswith("抱歉" if word.startswith("坏") else "已记"), (word, reply)
    async with db() as session:
        names = set((await session.scalars(select(Organisation.name))).all())
        answered = await session.scalar(select(func.count()).select_from(InboundMessage)
                                        .where(InboundMessage.reply.is_not(None)))
    assert names == {w.replace(" ", "") for w in words if w.startswith("记")}
    assert answered == len(words)  # each failure's apology is kept, so a retry is not run again
    if db.kw["bind"].dialect.name == "sqlite":
        assert max(groups) > 1, groups  # the messages did share commits: the test exercised a group


async def test_a_write_sqlite_undoes_whole_mid_burst_leaves_every_reply_true_and_the_server_answering(  # type: ignore[no-untyped-def]
        make_client, sim, clock, db) -> None:
    if db.kw["bind"].dialect.name != "sqlite":
        pytest.skip("SQLite undoes whole transactions by itself; PostgreSQL has no group commit")
    async with db.begin() as session:
        await session.execute(text(
            "CREATE TRIGGER disk_gone BEFORE INSERT ON organisations WHEN NEW.name = '记7' "
            "BEGIN SELECT RAISE(ROLLBACK, 'disk gone'); END"))
    try:
        router = Router()

        @router.command("记")
        async def record(ctx):  # type: ignore[no-untyped-def]
            ctx.session.add(Organisation(name=f"记{ctx.args[0]}", kind="党支部", path=f"记{ctx.args[0]}"))
            return f"已记 {ctx.args[0]}"

        client = await make_client(router=router)
        phones = [Phone(client, sim, clock, f"139000002{i:02d}") for i in range(24)]
        replies = await asyncio.wait_for(asyncio.gather(*(p.send(f"记 {i}") for i, p in enumerate(phones))), 10)
        async with db() as session:
            names = set((await session.scalars(select(Organisation.name))).all())
        for i, reply in enumerate(replies):
            assert reply is not None and reply.startswith(("已记", "抱歉")), reply
            assert reply.startswith("已记") == (f"记{i}" in names), (i, reply)  # answered done exactly when it is
        assert replies[7].startswith("抱歉")
        assert (await phones[7].send("记 70")) == "已记 70"  # the server goes on answering
        assert (await client.get("/readyz")).status == 200
    finally:
        async with db.begin() as session:
            await session.execute(text("DROP TRIGGER disk_gone"))


NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def keys(db: SessionMaker) -> dict[str, str | None]:
    async with db() as session:
        return {key: reply for key, reply in await session.execute(select(InboundMessage.key, InboundMessage.reply))}


async def test_a_message_that_fails_after_its_lean_writes_leaves_nothing(db: SessionMaker) -> None:
    with pytest.raises(RuntimeError):
        async with transaction(db, grouped=True) as session:
            assert await inbound.claim(session, key="msg:o1:1", openid="o1", now=NOW)
            await inbound.set_reply(session, key="msg:o1:1", reply="好")
            raise RuntimeError("the handler failed")
    assert await keys(db) == {}


async def test_a_message_that_needs_the_orm_after_lean_writes_commits_them_together(db: SessionMaker) -> None:
    async with transaction(db, grouped=True) as session:
        assert await inbound.claim(session, key="msg:o1:1", openid="o1", now=NOW)  # on the lane (SQLite)
        session.add(Organisation(name="一支部", kind="党支部", path="一支部"))
        await session.flush()  # the session's connection carries the lane's transaction on
        await inbound.set_reply(session, key="msg:o1:1", reply="已记")
    assert await keys(db) == {"msg:o1:1": "已记"}
    async with db() as session:
        assert (await session.scalars(select(Organisation.name))).all() == ["一支部"]
    with pytest.raises(RuntimeError):
        async with transaction(db, grouped=True) as session:
            assert await inbound.claim(session, key="msg:o1:2", openid="o1", now=NOW)
            session.add(Organisation(name="二支部", kind="党支部", path="二支部"))
            await session.flush()
            raise RuntimeError("the handler failed after its ORM write")
    assert await keys(db) == {"msg:o1:1": "已记"}  # neither the lean claim nor the ORM row of the failure stayed
    async with db() as session:
        assert (await session.scalars(select(Organisation.name))).all() == ["一支部"]


async def test_a_message_waits_for_a_transaction_under_way_and_never_writes_inside_it(db: SessionMaker) -> None:
    if db.kw["bind"].dialect.name != "sqlite":
        pytest.skip("on PostgreSQL each session has a connection and a transaction of its own")
    order: list[str] = []
    under_way = asyncio.Event()

    async def worker() -> None:
        async with db() as session:
            session.add(Organisation(name="工作", kind="党支部", path="工作"))
            await session.flush()  # it holds the database from here to its rollback
            under_way.set()
            await asyncio.sleep(0.05)
            order.append("worker done")
            await session.rollback()

    async def message() -> None:
        await under_way.wait()
        async with transaction(db, grouped=True) as session:
            await inbound.claim(session, key="msg:o1:1", openid="o1", now=NOW)
            order.append("message wrote")

    await asyncio.wait_for(asyncio.gather(worker(), message()), 5)
    assert order == ["worker done", "message wrote"]
    assert await keys(db) == {"msg:o1:1": None}  # the worker's rollback did not take the message's write along
    async with db() as session:
        assert (await session.scalars(select(Organisation.name))).all() == []
