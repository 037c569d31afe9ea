"""Volunteer claims: reading `志愿 2 社区环境整治`, and what confirmed hours are worth."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.conversation.grammar import read, without_full_stop

MAX_HOURS = 24  # one claim is one day's service at most
STEP_MINUTES = 30  # hours are counted in half hours


@dataclass(frozen=True, slots=True)
class Claim:
    minutes: int
    description: str


def parse_claim(text: str) -> Claim | None:
    """"2 社区环境整治", "1.5小时 帮老人买药", "2社区环境整治" or "2，社区环境整治" → the claim; None when the hours
    (a positive number of half hours, at most a day) or the description are missing. The hours may be typed
    full-width ("１．５　帮五保户打扫卫生"): they are read in NFKC, the description is kept as typed."""
    found = _CLAIM.fullmatch(_hours_in_nfkc(text.strip()))
    if found is None:
        return None
    try:
        hours = Decimal(found.group(1))
    except InvalidOperation:
        return None
    minutes = hours * 60
    # speech recognition ends a sentence with 。, which the replies then doubled; over its limit, the text is
    # refused by name (bot/storage/limits.py)
    description = without_full_stop(found.group(2))
    if not 0 < hours <= MAX_HOURS or minutes % STEP_MINUTES or not description:
        return None
    return Claim(int(minutes), description)


def same_service(one: str, other: str) -> bool:
    """Whether two descriptions say the same, as a member types it again: spaces, punctuation, full-width
    characters and case aside (`打扫 卫生` is `打扫卫生。`; a field trial)."""
    return read(one).norm.replace(" ", "") == read(other).norm.replace(" ", "")


def _hours_in_nfkc(text: str) -> str:
    """The text with its leading number and unit in NFKC (full-width `１．５ｈ` → `1.5h`), the rest as typed."""
    head = _HEAD.match(text)
    return unicodedata.normalize("NFKC", head.group()) + text[head.end():] if head else text


_HEAD = re.compile(r"[+\-＋－]?[\d．.]+\s*(?:个?小时|[hｈＨ](?![a-zａ-ｚ]))?", re.IGNORECASE)
_CLAIM = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(?:个?小时|h\b)?[\s,，、:：]*(\S.*)", re.DOTALL)


def hours_of(minutes: int) -> float:
    return minutes / 60


def points_for(minutes: int, points_per_hour: int) -> int:
    """Points for confirmed service: whole points, counted down (1.5 h at 1 point an hour is 1 point)."""
    return minutes * points_per_hour // 60

