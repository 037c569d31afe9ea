"""`make bench`, part two: a lesson fanned out to 100,000 members through the fake WeChat API at 500/s.

Three processes: the fake API; the sender (what the server's delivery loop runs, here on its own
so its peak memory is the sender's alone); and this one, which seeds the database and reads the
fake's totals afterwards. Prints the achieved rate, the sender's peak memory and the duplicates.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import insert, select

from bot.config import Settings
from bot.pushes.delivery import DeliveryWorker
from bot.repo import campaigns
from bot.storage import sqlite_inline
from bot.storage.db import open_database, sqlite_path
from bot.storage.migrate import upgrade_async
from bot.storage.models import InboundMessage, Member, Organisation
from bot.wechat.client import build_client
from scheduler.delivery_loop import TASKS

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = int(os.environ.get("BENCH_FANOUT_MEMBERS", "100000"))
RATE = 500.0
APPID, SECRET = "wx5823bf96d3bd56c7", "benchsecret"
CHUNK = 5_000
CHECKPOINT_SECONDS = 10  # as scheduler/setup.py runs it


async def seed(url: str) -> None:
    """100,000 bound members who all wrote to the account an hour ago, and one lesson campaign."""
    now = datetime.now().astimezone()
    async with open_database(url) as sessionmaker:
        async with sessionmaker.begin() as session:
            org = Organisation(name="基准党委", kind="党委", path="基准党委")
            session.add(org)
            await session.flush()
            org_id = org.id
        for start in range(0, MEMBERS, CHUNK):
            async with sessionmaker.begin() as session:
                ids = range(start, min(start + CHUNK, MEMBERS))
                await session.execute(insert(Member), [
                    {"name": f"党员{i}", "phone": f"136{i:08d}", "org_id": org_id, "openid": f"o-bench-{i:06d}",
                     "created_at": now} for i in ids])
                await session.execute(insert(InboundMessage), [
                    {"key": f"msg:{i}", "openid": f"o-bench-{i:06d}", "received_at": now - timedelta(hours=1)}
                    for i in ids])
        async with sessionmaker.begin() as session:
            await campaigns.create(session, key="lesson:bench", kind="lesson", title="微党课", body="今天的微党课……",
                                   audience=select(Member.id), at=now, now=now)


async def send(url: str, api: str) -> None:
    """The sender: TASKS workers draining the ledger through the rate-limited client, as the server does."""
    settings = Settings(database_url=url, wechat_appid=APPID, wechat_secret=SECRET, wechat_api_base=api,
                        send_rate=RATE)
    clock = lambda: datetime.now().astimezone()
    async with open_database(url) as sessionmaker, aiohttp.ClientSession() as http:
        worker = DeliveryWorker(sessionmaker, build_client(settings, sessionmaker, clock, http), clock, batch=100)
        checkpoints = asyncio.create_task(_checkpoint_every(CHECKPOINT_SECONDS, url))
        start = time.perf_counter()
        handled = sum(await asyncio.gather(*(worker.drain() for _ in range(TASKS))))
        elapsed = time.perf_counter() - start
        checkpoints.cancel()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"handled": handled, "seconds": elapsed, "peak_mb": usage.ru_maxrss / 1024,
                      "cpu": usage.ru_utime + usage.ru_stime}))


async def _checkpoint_every(seconds: float, url: str) -> None:
    """The server's WAL checkpoint job (scheduler/jobs.py), which keeps the WAL from growing without end."""
    path = sqlite_path(url)
    assert path is not None
    while True:
        await asyncio.sleep(seconds)
        await asyncio.to_thread(sqlite_inline.checkpoint, path)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _stats(api: str) -> dict[str, int]:
    async with aiohttp.ClientSession() as http, http.get(f"{api}/_stats") as resp:
        return dict(await resp.json())


async def _wait_for(api: str) -> None:
    for _ in range(200):
        try:
            await _stats(api)
            return
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    raise SystemExit("fake WeChat API did not start")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/fanout.db"
        asyncio.run(upgrade_async(url))
        asyncio.run(seed(url))
        port = _free_port()
        api = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PALMBOT_WECHAT_APPID": APPID, "PALMBOT_WECHAT_SECRET": SECRET,
               "PALMBOT_CONFIG": str(ROOT / "tests/bench/empty.toml")}
        fake = subprocess.Popen([sys.executable, "-m", "bot", "--log-level", "WARNING", "fake-wechat",
                                 "--port", str(port), "--open-windows"], env=env)
        try:
            asyncio.run(_wait_for(api))
            sender = subprocess.run([sys.executable, __file__, "send", url, api], capture_output=True, text=True,
                                    check=True)
            result = json.loads(sender.stdout.strip().splitlines()[-1])
            stats = asyncio.run(_stats(api))
        finally:
            fake.terminate()
            fake.wait(timeout=10)
    rate = result["handled"] / result["seconds"]
    print(f"fan-out: {MEMBERS:,} members through the fake WeChat API, configured {RATE:.0f}/s, {TASKS} senders")
    print(f"  achieved {rate:,.0f} messages/s ({result['seconds']:.0f} s); sender peak memory "
          f"{result['peak_mb']:.0f} MB; accepted {stats['sent']:,} to {stats['recipients']:,} members; "
          f"duplicates {stats['duplicates']} (must be 0)")
    print(f"  {rate / RATE:.0%} of the configured rate (target ≥ 95%); sender CPU "
          f"{1000 * result['cpu'] / result['handled']:.2f} ms per message (start-up included)")
    return 0 if stats["duplicates"] == 0 and stats["recipients"] == MEMBERS else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "send":
        asyncio.run(send(sys.argv[2], sys.argv[3]))
    else:
        raise SystemExit(main())
