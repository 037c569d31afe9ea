"""Scheduled jobs: module-level coroutines taking the app's services, each safe to run twice."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.message import media, replay
from bot.repo import inbound
from bot.services import Services
from bot.storage import sqlite_inline
from bot.storage.db import sqlite_path

log = logging.getLogger(__name__)

DEDUP_KEEP = timedelta(days=2)  # also the 48-hour window: the delivery worker reads it from these keys


async def purge_inbound(services: Services) -> None:
    """Drop dedup keys long past WeChat's retry window, and queries past the freshness window."""
    async with services.sessionmaker.begin() as session:
        gone = await inbound.purge_before(session, cutoff=services.clock() - DEDUP_KEEP)
    queries = await replay.forget_before(services.sessionmaker, services.clock() - replay.kept_for(
        services.settings.request_max_age))
    log.info("purged %d old inbound message keys and %d used queries", gone, queries)


async def checkpoint_sqlite(services: Services) -> None:
    """Fold SQLite's write-ahead log into the database from a worker thread, off the event loop."""
    path = sqlite_path(services.settings.database_url)
    if path:
        await asyncio.to_thread(sqlite_inline.checkpoint, path)


async def keep_photos(services: Services) -> None:
    """Fetch the photos members sent that are not kept yet, before WeChat forgets them
    (`bot.message.media`)."""
    if services.wechat is not None:
        await media.keep_due(services.sessionmaker, services.wechat, services.clock)
