"""Volunteer claims: reading `志愿 2 社区环境整治`, and what confirmed hours are worth."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MAX_HOURS = 24  # one claim is one day's service at most
STEP_MINUTES = 30  # hours are counted in half hours


@dataclass(frozen=True, slots=True)
class Claim:
    minutes: int
    description: str


def parse_claim(text: str) -> Claim | None:
    """"2 社区环境整治" or "1.5小时 帮老人买药" → the claim; None when the hours or the description are missing."""
    words = text.replace("小时", " ", 1).split(maxsplit=1)
    if len(words) < 2:
        return None
    try:
        hours = Decimal(words[0])
    except InvalidOperation:
        return None
    minutes = hours * 60
    description = words[1].strip()
    if not 0 < hours <= MAX_HOURS or minutes % STEP_MINUTES or not description:
        return None
    return Claim(int(minutes), description)


def hours_of(minutes: int) -> float:
    return minutes / 60


def points_for(minutes: int, points_per_hour: int) -> int:
    """Points for confirmed service: whole points, counted down (1.5 h at 1 point an hour is 1 point)."""
    return minutes * points_per_hour // 60

