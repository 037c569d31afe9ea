"""One replica's delivery loop for tests/test_chaos.py, run as `python -m tests.chaos_worker URL API OWNER`.

It imports only what a replica runs, so three of them start quickly.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import func, select

from bot.config import Settings
from bot.pushes.delivery import DeliveryWorker
from bot.repo.campaigns import OPEN
from bot.storage.db import SessionMaker, open_database
from bot.storage.models import Delivery
from bot.wechat.client import build_client

APPID, SECRET = "wxchaosreplicas", "chaossecret"
LEASE = timedelta(seconds=1)


def now() -> datetime:
    return datetime.now(ZoneInfo("Asia/Shanghai"))


async def work(url: str, api: str, owner: str) -> None:
    """Recover and drain, as the server's delivery loop does, until the ledger holds nothing open."""
    settings = Settings(database_url=url, wechat_appid=APPID, wechat_secret=SECRET, wechat_api_base=api,
                        send_rate=1000.0)
    async with open_database(url) as sessionmaker, aiohttp.ClientSession() as http:
        worker = DeliveryWorker(sessionmaker, build_client(settings, sessionmaker, now, http, backoff=0.05), now,
                                batch=10, retry_after=timedelta(seconds=0.2), lease=LEASE, owner=owner)
        while await _open_rows(sessionmaker):
            await worker.recover()
            await worker.drain()
            await asyncio.sleep(0.1)


async def _open_rows(sessionmaker: SessionMaker) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Delivery)
                                        .where(Delivery.status.in_(OPEN))) or 0)


if __name__ == "__main__":
    asyncio.run(work(*sys.argv[1:4]))
