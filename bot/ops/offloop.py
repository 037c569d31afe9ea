"""Long database work (the quarter's star review, reports) on a worker thread, never on the serving loop.

The thread runs its own event loop with its own engine: on SQLite the statements are synchronous
under the hood, so inline on the serving loop they would stall every member's message meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.storage.db import SessionMaker, open_database

T = TypeVar("T")


async def in_thread(database_url: str, work: Callable[[SessionMaker], Awaitable[T]]) -> T:
    """Run `work` with a session factory of its own on a worker thread; its result."""
    return await asyncio.to_thread(asyncio.run, _with_database(database_url, work))


async def _with_database(database_url: str, work: Callable[[SessionMaker], Awaitable[T]]) -> T:
    async with open_database(database_url) as sessionmaker:
        return await work(sessionmaker)
