"""The replay memory: a signed query carries one message, on every replica.

In plaintext WeChat signs only token, timestamp and nonce, never the body, so anyone who saw a query
(say, in a log) could send it again with a body of their choosing. The first message a query carries
is remembered for twice the freshness window (a timestamp may be that far either side of now); the
same query with another message is refused, while the same message again (WeChat's own retry) passes
on to the dedup table and gets the stored reply. Encrypted callbacks need no memory: their
msg_signature covers the body, so a query cannot carry another message.

Kept in the database (`used_queries`), or in Redis when `redis_url` is set.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Protocol, cast

from redis.asyncio import Redis
from sqlalchemy import Table, delete, select

from bot.repo import insert_ignoring_conflicts, rowcount, run
from bot.storage.db import SessionMaker, transaction
from bot.storage.models import UsedQuery

REDIS_PREFIX = "palmbot:query:"


def kept_for(max_age: float) -> timedelta:
    """How long a query is remembered: a timestamp may be `max_age` seconds either side of now."""
    return timedelta(seconds=2 * max_age)


def query_key(timestamp: str, nonce: str, signature: str) -> str:
    """A fixed-length key for the signed query (nonces have no length limit of their own)."""
    return hashlib.sha256(f"{timestamp}\n{nonce}\n{signature}".encode()).hexdigest()


class ReplayMemory(Protocol):
    async def admits(self, query: str, message: str, now: datetime) -> bool:
        """True the first time `query` is seen, and again for the same `message`; False for another message."""


class DatabaseMemory:
    """The replay memory in the `used_queries` table; `forget_before` runs with the hourly purge."""

    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker

    async def admits(self, query: str, message: str, now: datetime) -> bool:
        async with transaction(self._sessionmaker, grouped=True) as session:
            stmt = insert_ignoring_conflicts(_TABLE, session.get_bind().dialect.name)
            if (await run(session, stmt, {"query_key": query, "message_key": message, "seen_at": now})).first():
                return True
            first = await session.scalar(select(UsedQuery.message_key).where(UsedQuery.query_key == query))
        return first == message


class RedisMemory:
    """The replay memory in Redis: SET NX with an expiry, so Redis forgets by itself."""

    def __init__(self, redis: Redis, keep: timedelta) -> None:
        self._redis, self._keep = redis, keep

    async def admits(self, query: str, message: str, now: datetime) -> bool:
        key = REDIS_PREFIX + query
        if await self._redis.set(key, message, nx=True, ex=self._keep):
            return True
        first = await self._redis.get(key)
        return first is None or first.decode() == message  # None: it expired in between


async def forget_before(sessionmaker: SessionMaker, cutoff: datetime) -> int:
    """Drop remembered queries older than `cutoff` (twice the freshness window ago); how many went."""
    async with sessionmaker.begin() as session:
        return rowcount(await session.execute(delete(UsedQuery).where(UsedQuery.seen_at < cutoff)))


_TABLE = cast(Table, UsedQuery.__table__)
