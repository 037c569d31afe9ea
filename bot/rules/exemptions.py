"""Exemptions (`豁免 姓名 起 止 理由`): reading the request, and which days and quarters one covers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_DATE = r"(?:(?P<{0}y>\d{{4}})\s*[-/.年]\s*)?(?P<{0}m>\d{{1,2}})\s*[-/.月]\s*(?P<{0}d>\d{{1,2}})\s*[日号]?"
_ASKED = re.compile(r"\s*(?P<name>\S+)(?:\s+(?P<tail>\d{4})(?=\s))?\s*" + _DATE.format("a")
                    + r"\s*(?:至|到|-|—|–|~)?\s*" + _DATE.format("b") + r"\s*")


@dataclass(frozen=True, slots=True)
class Asked:
    """Whom (a name, and a phone's last four digits when two share it), from and to (both inclusive), and where
    the reason begins in the text read."""

    name: str
    tail: str
    starts_on: date
    ends_on: date
    reason_at: int


def parse(norm: str, today: date) -> Asked | None:
    """The request in `norm` (the normal form of the text after `豁免`, see `bot.conversation.grammar`), such as
    "王芳 2026-12-01 2027-02-28 转场放牧", "王芳 12 月 1 日 至 2 月 28 日 生病住院" or "王芳 0112 12.1-2.28 年老体弱";
    None when the name or either date cannot be read (or is no day, such as 2月30日).

    A start without a year is the one nearest `today`; an end without a year is the first on or after the start
    (12.1–2.28 runs into the next year)."""
    found = _ASKED.match(norm)
    if found is None:
        return None
    start = _dated(found, "a") or _nearest(found, "a", today)
    if start is None:
        return None
    end = _dated(found, "b") or _on_or_after(found, "b", start)
    if end is None:
        return None
    return Asked(found.group("name"), found.group("tail") or "", start, end, found.end())


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(found: re.Match[str], which: str) -> tuple[int, int]:
    return int(found.group(f"{which}m")), int(found.group(f"{which}d"))


def _dated(found: re.Match[str], which: str) -> date | None:
    year = found.group(f"{which}y")
    return _day(int(year), *_month_day(found, which)) if year else None


def _nearest(found: re.Match[str], which: str, today: date) -> date | None:
    days = [d for year in (today.year - 1, today.year, today.year + 1)
            if (d := _day(year, *_month_day(found, which))) is not None]
    return min(days, key=lambda d: abs(d - today)) if days else None


def _on_or_after(found: re.Match[str], which: str, start: date) -> date | None:
    month, day = _month_day(found, which)
    same = _day(start.year, month, day)
    return same if same is not None and same >= start else _day(start.year + 1, month, day)
