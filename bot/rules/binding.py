"""Slowing down guesses at the binding command."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=30)
FREE_TRIES = 3


def retry_after(failures: Sequence[datetime], now: datetime) -> timedelta | None:
    """How long the sender must wait before another try, or None when they may try now.

    Three wrong tries in half an hour are free; after that each further try waits twice as long
    as the one before (1, 2, 4 … minutes, at most 30), counted from the latest failure.
    """
    recent = sorted(t for t in failures if now - t < WINDOW)
    extra = len(recent) - FREE_TRIES
    if extra < 0:
        return None
    wait = min(timedelta(minutes=2**extra), WINDOW)
    remaining = recent[-1] + wait - now
    return remaining if remaining > timedelta(0) else None
