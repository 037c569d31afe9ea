"""The access token, kept where every process and replica sees it: the database, or Redis if configured.

WeChat's `stable_token` returns the same token to every caller while it is valid, so two replicas
refreshing at once do not invalidate each other; within a process one caller refreshes at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update

from bot.pushes.outbound import Clock
from bot.repo import insert_once
from bot.storage.db import SessionMaker
from bot.storage.models import AccessToken

MARGIN = timedelta(minutes=5)  # refresh this long before WeChat says the token expires

Fetch = Callable[[bool], Awaitable[tuple[str, int]]]  # force_refresh -> (token, expires_in seconds)
Refreshed = Callable[[str], None]  # told "due" or "rejected" after each token fetched (`/metrics` counts them)


class TokenCache(Protocol):
    """Where the shared token lives between calls."""

    async def load(self) -> tuple[str, datetime] | None: ...

    async def save(self, token: str, expires_at: datetime, lifetime: timedelta) -> None: ...


class DatabaseTokens:
    """The token in the `access_tokens` table, one row per AppID."""

    def __init__(self, sessionmaker: SessionMaker, appid: str) -> None:
        self._sessionmaker, self._appid = sessionmaker, appid

    async def load(self) -> tuple[str, datetime] | None:
        async with self._sessionmaker() as session:
            row = await session.scalar(select(AccessToken).where(AccessToken.appid == self._appid))
        return (row.token, row.expires_at) if row else None

    async def save(self, token: str, expires_at: datetime, lifetime: timedelta) -> None:
        async with self._sessionmaker.begin() as session:
            if not await insert_once(session, AccessToken, appid=self._appid, token=token, expires_at=expires_at):
                await session.execute(update(AccessToken).where(AccessToken.appid == self._appid)
                                      .values(token=token, expires_at=expires_at))


class RedisTokens:
    """The token in Redis (`PALMBOT_REDIS_URL`), as "token expiry-timestamp", expiring with it."""

    def __init__(self, redis: Any, appid: str) -> None:
        self._redis, self._key = redis, f"palmbot:access_token:{appid}"

    async def load(self) -> tuple[str, datetime] | None:
        value = await self._redis.get(self._key)
        if not value:
            return None
        token, _, expiry = (value.decode() if isinstance(value, bytes) else str(value)).rpartition(" ")
        return token, datetime.fromtimestamp(float(expiry), UTC)

    async def save(self, token: str, expires_at: datetime, lifetime: timedelta) -> None:
        seconds = max(1, int(lifetime.total_seconds()))
        await self._redis.set(self._key, f"{token} {expires_at.timestamp()}", ex=seconds)


class TokenStore:
    """Read the shared token, refreshing it shortly before it expires or after WeChat rejected it.

    The process remembers the token it last read: if another process replaced it, WeChat refuses the
    old one and `rejected` reads the shared place again before fetching anything.
    """

    def __init__(self, cache: TokenCache, fetch: Fetch, clock: Clock, refreshed: Refreshed | None = None) -> None:
        self._cache, self._fetch, self._clock = cache, fetch, clock
        self._refreshed = refreshed
        self._lock = asyncio.Lock()
        self._memo: tuple[str, datetime] | None = None

    async def get(self) -> str:
        token = self._fresh(self._memo) or await self._stored()
        if token is not None:
            return token
        async with self._lock:
            return await self._stored() or await self._refresh(force=False)

    async def rejected(self, token: str) -> str:
        """WeChat refused `token` (40001/40014/42001): fetch a new one unless another caller already did."""
        async with self._lock:
            current = await self._stored()
            if current is not None and current != token:
                return current
            return await self._refresh(force=True)

    async def _stored(self) -> str | None:
        self._memo = await self._cache.load()
        return self._fresh(self._memo)

    def _fresh(self, found: tuple[str, datetime] | None) -> str | None:
        if found is None or found[1] - MARGIN <= self._clock():
            return None
        return found[0]

    async def _refresh(self, *, force: bool) -> str:
        token, expires_in = await self._fetch(force)
        lifetime = timedelta(seconds=expires_in)
        expires_at = self._clock() + lifetime
        self._memo = (token, expires_at)
        await self._cache.save(token, expires_at, lifetime)
        if self._refreshed is not None:
            self._refreshed("rejected" if force else "due")
        return token
