"""`palmbot backup` and `palmbot restore` on the suite's engine (SQLite, or PostgreSQL with pg_dump): a backup taken
while the server runs restores into a fresh database with every row of every table; an older backup is upgraded,
a newer one refused; a database holding rows is replaced only with --force."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from bot.ops.cli import main
from bot.roster.imports import apply_rows, read_rows
from bot.storage.backup import BackupError, Restored, backup, restore
from bot.storage.db import SessionMaker, make_engine, make_sessionmaker
from bot.storage.migrate import head, revision_of, upgrade
from bot.storage.models import ConsoleSession, Delivery, KeptMedia, Member, PointEntry
from scheduler import jobs
from scheduler.delivery_loop import deliver_due
from tests.conftest import ROOT, Clock, Scratch, Snapshot, services_of, snapshot
from tests.console import sign_in
from tests.phone import Phone


async def _read(url: str) -> tuple[Snapshot, str | None]:
    """Every table's rows, and the schema revision."""
    engine = make_engine(url)
    async with engine.connect() as conn:
        rows: Snapshot = await conn.run_sync(snapshot)
        revision = await conn.run_sync(revision_of)
    await engine.dispose()
    return rows, revision


async def _fill(live: TestClient, member: Callable[[str], Phone]) -> None:  # type: ignore[type-arg]
    """Rows in most tables, written as people write them: binding, a volunteer claim with its photo approved
    (points, audit), a notice delivered (campaign, deliveries, report), the photo kept, a console session."""
    secretary = await member("13800000001").bound("张建国")
    li = await member("13800000002").bound("李秀英")
    claim = await li.volunteer("2 社区环境整治")
    await li.photo("http://example.invalid/clean-up.jpg")
    assert "计 2 分" in (await secretary.send(f"通过 {claim}") or "")
    await secretary.send("通知 本周六上午9点开会")
    await secretary.send("确认")
    services = services_of(live)
    await deliver_due(services)
    await jobs.keep_photos(services)
    await (await sign_in(live, secretary)).close()


async def test_a_backup_taken_while_the_server_runs_restores_every_row_of_every_table(
        live: TestClient, member: Callable[[str], Phone], database_url: str, scratch: Scratch,  # type: ignore[type-arg]
        tmp_path: Path) -> None:
    await _fill(live, member)
    before, _ = await _read(database_url)
    for model in (Member, PointEntry, Delivery, ConsoleSession, KeptMedia):
        assert before[str(model.__tablename__)][1], f"nothing in {model.__tablename__} to back up"
    assert before["audit_trail"][1] and any(row["data"] for row in before["kept_media"][1])

    path = tmp_path / "palmbot.backup"
    assert await backup(database_url, path) == head()  # the server (`live`) still holds its connection
    target = await scratch("restored")
    assert await restore(target, path) == Restored(head())

    after, revision = await _read(target)
    assert revision == head()
    assert after.keys() == before.keys()
    for table, (columns, rows) in before.items():
        assert after[table] == (columns, rows), table


async def test_a_database_holding_rows_is_replaced_only_with_force(
        db: SessionMaker, roster: None, database_url: str, scratch: Scratch, tmp_path: Path) -> None:
    path = tmp_path / "roster.backup"
    await backup(database_url, path)
    target = await scratch("restored")
    await restore(target, path)
    engine = make_engine(target)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE members SET name = '改过的' WHERE phone = '13800000002'"))
    await engine.dispose()

    with pytest.raises(BackupError, match="already holds data.*--force"):
        await restore(target, path)
    assert await _name(target, "13800000002") == "改过的"  # untouched
    await restore(target, path, force=True)
    assert await _name(target, "13800000002") == "李秀英"
    assert (await _read(target))[0] == (await _read(database_url))[0]


async def _name(url: str, phone: str) -> str:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        name = str(await session.scalar(text("SELECT name FROM members WHERE phone = :p"), {"p": phone}))
    await engine.dispose()
    return name


async def test_an_older_backup_is_upgraded_after_restoring(scratch: Scratch, tmp_path: Path, clock: Clock) -> None:
    old = await scratch("old")
    await asyncio.to_thread(upgrade, old, "0012")  # before the kept photos
    engine = make_engine(old)
    async with make_sessionmaker(engine).begin() as session:
        await apply_rows(session, read_rows(ROOT / "deploy/demo/roster.csv"), clock())
    await engine.dispose()
    path = tmp_path / "old.backup"
    assert await backup(old, path) == "0012"

    target = await scratch("restored")
    assert await restore(target, path) == Restored("0012", head())
    rows, revision = await _read(target)
    assert revision == head()
    assert len(rows["members"][1]) == 22 and rows["kept_media"] == (rows["kept_media"][0], [])


async def test_a_backup_newer_than_the_code_is_refused_and_nothing_is_touched(
        scratch: Scratch, tmp_path: Path) -> None:
    newer = await scratch("newer")
    await asyncio.to_thread(upgrade, newer)
    engine = make_engine(newer)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))  # a later release's schema
    await engine.dispose()
    path = tmp_path / "newer.backup"
    await backup(newer, path)

    target = await scratch("restored")
    with pytest.raises(BackupError, match=f"revision 0099, newer than this code's {head()}"):
        await restore(target, path)
    assert await _read(target) == ({}, None)


async def test_files_that_are_not_backups_of_this_engine_are_refused(database_url: str, tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a backup")
    with pytest.raises(BackupError, match="neither an SQLite database nor a pg_dump archive"):
        await restore(database_url, text_file)
    with pytest.raises(BackupError, match="no backup at"):
        await restore(database_url, tmp_path / "missing.backup")
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
    with pytest.raises(BackupError, match="not a palmbot backup"):
        await restore(f"sqlite+aiosqlite:///{tmp_path}/x.db", other)
    with pytest.raises(BackupError, match="backup of a sqlite database; database_url names another engine"):
        await restore("postgresql+asyncpg://postgres@127.0.0.1:9/none", other)


async def test_without_the_postgresql_client_tools_the_error_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump not found: install PostgreSQL's client tools"):
        await backup("postgresql+asyncpg://postgres@127.0.0.1:9/none", tmp_path / "x.backup")
    assert not list(tmp_path.iterdir())  # no partial file left behind


def test_the_commands_back_up_and_restore_in_one_line_each(
        ops_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", "nightly.backup"]) == 0
    assert capsys.readouterr().out.startswith(f"nightly.backup: the database at schema revision {head()}, ")
    assert main(["restore", "nightly.backup"]) == 1
    assert capsys.readouterr().err == ("palmbot: the database already holds data; restoring replaces all of it: "
                                       "add --force to do so\n")
    monkeypatch.setenv("PALMBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/fresh/palmbot.db")
    assert main(["restore", "nightly.backup"]) == 0
    assert capsys.readouterr().out == f"nightly.backup: restored (schema revision {head()})\n"
    assert main(["members", "list"]) == 0
    assert "李秀英" in capsys.readouterr().out
