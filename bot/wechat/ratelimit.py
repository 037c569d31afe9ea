"""A client-side send rate: so a big branch's notice cannot trip WeChat's frequency limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

CATCH_UP = 0.2  # seconds of slots a late sender may still use: the average holds, a busy moment is not lost


class RateLimiter:
    """At most `rate` acquisitions per second in this process on average, spaced evenly; a sender that fell
    behind its schedule (the process was busy) may use the slots it missed in the last `catch_up` seconds, so
    over any window longer than that, no more than `rate` per second go out (a token bucket of `rate × catch_up`).
    """

    def __init__(self, rate: float, *, catch_up: float = CATCH_UP, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._catch_up = catch_up
        self._next = 0.0
        self._now, self._sleep = now, sleep

    async def acquire(self) -> None:
        """Wait for this caller's slot; slots are handed out in call order."""
        now = self._now()
        slot = max(now - self._catch_up, self._next)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)
