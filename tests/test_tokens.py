"""The access token is shared: every process (here, every TokenStore) uses one fetch, from the DB or Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.storage.db import SessionMaker
from bot.wechat.tokens import MARGIN, DatabaseTokens, RedisTokens, TokenCache, TokenStore
from tests.conftest import Clock

REDIS_URL = os.environ.get("PALMBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class WeChat:
    """Counts stable_token calls; each forced one issues a new token."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    async def fetch(self, force: bool) -> tuple[str, int]:
        self.calls.append(force)
        return f"token-{sum(self.calls)}", 7200


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture(params=["database", "redis"])
def caches(request: pytest.FixtureRequest, db: SessionMaker, redis: Redis) -> tuple[TokenCache, TokenCache]:
    """Two processes' views of the same shared place."""
    if request.param == "database":
        return DatabaseTokens(db, "wxapp"), DatabaseTokens(db, "wxapp")
    appid = f"wx-{uuid.uuid4().hex[:8]}"
    return RedisTokens(redis, appid), RedisTokens(redis, appid)


async def test_two_processes_share_one_token_and_refresh_before_it_expires(
        caches: tuple[TokenCache, TokenCache], clock: Clock) -> None:
    wechat = WeChat()
    first, second = (TokenStore(cache, wechat.fetch, clock) for cache in caches)
    assert await first.get() == await second.get() == "token-0"
    assert wechat.calls == [False]
    clock.advance(seconds=7200 - MARGIN.total_seconds() + 1)
    assert await second.get() == "token-0" and wechat.calls == [False, False]  # stable_token: same token again


async def test_a_refused_token_is_replaced_once_however_many_callers_saw_it_refused(
        caches: tuple[TokenCache, TokenCache], clock: Clock) -> None:
    wechat = WeChat()
    first, second = (TokenStore(cache, wechat.fetch, clock) for cache in caches)
    old = await first.get()
    new = await first.rejected(old)
    assert new != old and wechat.calls == [False, True]
    assert await second.rejected(old) == new  # the other process sees the new one, no second force
    assert wechat.calls == [False, True]
    clock.advance(minutes=1)
    assert await second.get() == new


async def test_the_send_rate_holds_on_average_and_a_late_sender_catches_up_only_what_it_missed() -> None:
    from bot.wechat.ratelimit import RateLimiter

    clock = [100.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(10, catch_up=0.2, now=lambda: clock[0], sleep=sleep)
    for _ in range(13):
        await limiter.acquire()
    assert clock[0] == pytest.approx(101.0)  # ten a second after the bucket's 0.2 s (two slots, and this one)
    clock[0] += 1.0  # the process was busy for a second: ten slots missed, only 0.2 s of them may be used
    for _ in range(3):
        await limiter.acquire()
    assert clock[0] == pytest.approx(102.0)  # those three went at once
    await limiter.acquire()
    assert clock[0] == pytest.approx(102.1)  # then evenly spaced again
