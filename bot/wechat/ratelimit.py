"""A client-side send rate: so a big branch's notice cannot trip WeChat's frequency limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """At most `rate` acquisitions per second in this process, spaced evenly (no bursts)."""

    def __init__(self, rate: float, *, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._next = 0.0
        self._now, self._sleep = now, sleep

    async def acquire(self) -> None:
        """Wait for this caller's slot; slots are handed out in call order."""
        now = self._now()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)
