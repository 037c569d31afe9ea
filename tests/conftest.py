"""Fixtures: a migrated database (SQLite, or PostgreSQL when PALMBOT_TEST_DATABASE_URL is set), a clock,
the app behind a test client, and phones that talk to it exactly as WeChat would."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import SERVER_OPTIONS, create_app
from bot.config import Settings
from bot.conversation.routing import Router
from bot.keys import SERVICES
from bot.ops.cli import main
from bot.ops.simulator import Simulator
from bot.roster.imports import apply_rows, read_rows
from bot.services import Services
from bot.storage.db import SessionMaker, make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import Base
from bot.wechat.client import WeChatClient, build_client
from bot.wechat.fake import FakeWeChat
from tests.console import Console
from tests.phone import Phone

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "palmbottest"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
APPID = "wx5823bf96d3bd56c7"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate a fresh database once per run; PostgreSQL's schema is dropped first."""
    url = os.environ.get("PALMBOT_TEST_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/palmbot-test.db"
    )
    if url.startswith("postgresql"):
        asyncio.run(_reset_postgres(url))
    upgrade(url)
    return url


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[SessionMaker]:
    """A session factory on an emptied database, for arranging and asserting."""
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, content_dir=ROOT / "content", timezone=TZ,
        wechat_token=TOKEN, wechat_aes_key=AES_KEY, wechat_appid=APPID,
    )


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A copy of `content/` a test may edit (and reload)."""
    folder = tmp_path / "content"
    shutil.copytree(ROOT / "content", folder)
    return folder


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 16, 9, 0, tzinfo=TZ))


@pytest.fixture
async def roster(db: SessionMaker, clock: Clock) -> None:
    """The demo roster: two branches of ten, 张建国 and 孙卫东 their secretaries."""
    async with db.begin() as session:
        await apply_rows(session, read_rows(ROOT / "deploy/demo/roster.csv"), clock())


AppMaker = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


@pytest.fixture
def make_client(aiohttp_client, settings: Settings, clock: Clock, db: SessionMaker) -> AppMaker:  # type: ignore[no-untyped-def]
    """Start the app with optional overrides (settings fields, a router) and return its test client.

    The scheduler and the delivery loop do not run by themselves: tests run jobs and deliveries by hand.
    """

    async def make(router: Router | None = None, **overrides: object) -> TestClient:  # type: ignore[type-arg]
        server = TestServer(create_app(replace(settings, **overrides), clock=clock, router=router, background=False))
        await server.start_server(**SERVER_OPTIONS)  # the access log as `palmbot serve` writes it
        return await aiohttp_client(server)

    return make


@pytest.fixture
async def client(make_client: AppMaker) -> TestClient:  # type: ignore[type-arg]
    return await make_client()


@pytest.fixture
def sim(settings: Settings, clock: Clock) -> Simulator:
    """WeChat's side: signs (and encrypts) requests, its timestamps from the test's clock."""
    return Simulator.speaking_to(settings, clock=lambda: clock().timestamp())


@pytest.fixture
def phone(client: TestClient, sim: Simulator, clock: Clock) -> Callable[[str], Phone]:  # type: ignore[type-arg]
    """phone("13800000002") is that roster member's WeChat, not yet bound."""
    return lambda number: Phone(client, sim, clock, number)


SECRET = "palmbottestsecret"


@pytest.fixture
async def wechat(aiohttp_server, clock: Clock) -> FakeWeChat:  # type: ignore[no-untyped-def]
    """The fake WeChat API on a local port; `wechat.base` is its address."""
    fake = FakeWeChat(appid=APPID, secret=SECRET, clock=clock, templates={"TPL_NOTICE"})
    server = await aiohttp_server(fake.app())
    fake.base = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def wechat_settings(settings: Settings, wechat: FakeWeChat) -> Settings:
    """Settings for an account with a secret, talking to the fake API."""
    return replace(settings, wechat_secret=SECRET, wechat_api_base=wechat.base, send_rate=10_000.0)


@pytest.fixture
def wechat_client(wechat_settings: Settings, db: SessionMaker, clock: Clock,
                  http: aiohttp.ClientSession) -> WeChatClient:
    return build_client(wechat_settings, db, clock, http, backoff=0.001)


@pytest.fixture
async def live(make_client: AppMaker, wechat: FakeWeChat, roster: None) -> TestClient:  # type: ignore[type-arg]
    """The bot with an AppSecret, sending through the fake WeChat API, with the demo roster."""
    return await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base, send_rate=10_000.0)


@pytest.fixture
def member(live: TestClient, sim: Simulator, clock: Clock, wechat: FakeWeChat) -> Callable[[str], Phone]:  # type: ignore[type-arg]
    """A phone of the roster member with this number, talking to `live`."""
    return lambda number: Phone(live, sim, clock, number, wechat)


def services_of(client: TestClient) -> Services:  # type: ignore[type-arg]
    return client.app[SERVICES]


@pytest.fixture
def ops_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite database with the demo roster, as the operator's settings name it."""
    url = f"sqlite+aiosqlite:///{tmp_path}/ops.db"
    upgrade(url)
    monkeypatch.setenv("PALMBOT_DATABASE_URL", url)
    monkeypatch.setenv("PALMBOT_CONTENT_DIR", str(ROOT / "content"))
    monkeypatch.chdir(tmp_path)
    assert main(["members", "import", str(ROOT / "deploy/demo/roster.csv")]) == 0
    return url


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`palmbot …` commands run by `main` use the test's database and content."""
    monkeypatch.setenv("PALMBOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PALMBOT_CONTENT_DIR", str(settings.content_dir))
    monkeypatch.delenv("PALMBOT_CONFIG", raising=False)


@pytest.fixture
async def consoles() -> AsyncIterator[list[Console]]:
    """Console browsers (tests/console.py) a test opened, closed after it."""
    opened: list[Console] = []
    yield opened
    for console in opened:
        await console.close()


@pytest.fixture
def browsers(live: TestClient, consoles: list[Console]) -> Callable[[], Console]:  # type: ignore[type-arg]
    """browsers(): a fresh cookie-keeping browser against `live`, closed after the test."""

    def make() -> Console:
        consoles.append(Console(live, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))))
        return consoles[-1]

    return make
Scratch = Callable[[str], Awaitable[str]]


@pytest.fixture
async def scratch(database_url: str, tmp_path: Path) -> AsyncIterator[Scratch]:
    """`await scratch("old")`: the URL of an empty database of the suite's engine, apart from the suite's own
    (a file under tmp_path, or a PostgreSQL database created here and dropped afterwards)."""
    if not database_url.startswith("postgresql"):
        async def file(name: str) -> str:
            return f"sqlite+aiosqlite:///{tmp_path}/{name}.db"

        yield file
        return
    base, _, suite = database_url.rpartition("/")
    admin = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    async def database(name: str) -> str:
        made.append(f"{suite}_{name}")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{made[-1]}"'))
            await conn.execute(text(f'CREATE DATABASE "{made[-1]}"'))
        return f"{base}/{made[-1]}"

    yield database
    async with admin.connect() as conn:
        for name in made:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


Snapshot = dict[str, tuple[list[str], list[dict[str, Any]]]]


def snapshot(conn: Connection) -> Snapshot:
    """Every table's columns and rows (reflected, so any schema reads), rows ordered by all their values."""
    tables = MetaData()
    tables.reflect(conn)
    return {name: (sorted(table.columns.keys()),
                   sorted(({c: row._mapping[c] for c in sorted(row._mapping.keys())}
                           for row in conn.execute(table.select())), key=repr))
            for name, table in tables.tables.items() if name != "alembic_version"}
