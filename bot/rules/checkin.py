"""Check-in windows: how long they stay open and the short code members type."""

from __future__ import annotations

from collections.abc import Callable, Collection

DEFAULT_MINUTES = 120
MIN_MINUTES = 5
MAX_MINUTES = 24 * 60


def window_minutes(arg: str | None) -> int | None:
    """Minutes a check-in stays open: the default when not given, None when out of range or not a number."""
    if arg is None:
        return DEFAULT_MINUTES
    if not arg.isdigit():
        return None
    minutes = int(arg)
    return minutes if MIN_MINUTES <= minutes <= MAX_MINUTES else None


def new_code(taken: Collection[str], randbelow: Callable[[int], int]) -> str:
    """A four-digit code not used by another open check-in of the same branch."""
    if len(taken) >= 9000:
        raise ValueError("no free check-in code")
    while True:
        code = f"{1000 + randbelow(9000)}"
        if code not in taken:
            return code
