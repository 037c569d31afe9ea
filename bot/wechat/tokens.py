"""The access token, kept in the database so every process and replica uses the same one.

WeChat's `stable_token` returns the same token to every caller while it is valid, so two replicas
refreshing at once do not invalidate each other; within a process one caller refreshes at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.db import SessionMaker
from bot.models import AccessToken
from bot.outbound import Clock
from bot.repo import insert_once

MARGIN = timedelta(minutes=5)  # refresh this long before WeChat says the token expires

Fetch = Callable[[bool], Awaitable[tuple[str, int]]]  # force_refresh -> (token, expires_in seconds)


class TokenStore:
    """Read the shared token, refreshing it shortly before it expires or after WeChat rejected it."""

    def __init__(self, sessionmaker: SessionMaker, appid: str, fetch: Fetch, clock: Clock) -> None:
        self._sessionmaker, self._appid, self._fetch, self._clock = sessionmaker, appid, fetch, clock
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        token = await self._stored()
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
        async with self._sessionmaker() as session:
            row = await session.scalar(select(AccessToken).where(AccessToken.appid == self._appid))
        if row is None or row.expires_at - MARGIN <= self._clock():
            return None
        return row.token

    async def _refresh(self, *, force: bool) -> str:
        token, expires_in = await self._fetch(force)
        expires_at: datetime = self._clock() + timedelta(seconds=expires_in)
        async with self._sessionmaker.begin() as session:
            if not await insert_once(session, AccessToken, appid=self._appid, token=token, expires_at=expires_at):
                await session.execute(update(AccessToken).where(AccessToken.appid == self._appid)
                                      .values(token=token, expires_at=expires_at))
        return token
