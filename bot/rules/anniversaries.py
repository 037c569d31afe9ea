"""Political birthdays (政治生日): the anniversary of the day a member joined the Party."""

from __future__ import annotations

import calendar
from datetime import date


def is_political_birthday(joined_on: date, today: date) -> bool:
    """True on the anniversary; someone who joined on 29 February celebrates on 28 February in other years."""
    if today.year <= joined_on.year:
        return False
    if (joined_on.month, joined_on.day) == (2, 29) and not calendar.isleap(today.year):
        return (today.month, today.day) == (2, 28)
    return (today.month, today.day) == (joined_on.month, joined_on.day)


def party_years(joined_on: date, today: date) -> int:
    """Whole years of Party membership on `today`."""
    before_anniversary = (today.month, today.day) < (joined_on.month, joined_on.day)
    years = today.year - joined_on.year - before_anniversary
    if (joined_on.month, joined_on.day) == (2, 29) and is_political_birthday(joined_on, today):
        years = today.year - joined_on.year
    return years


def anniversary_days(today: date) -> list[tuple[int, int]]:
    """The (month, day) joining dates whose anniversary falls on `today`."""
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append((2, 29))
    return days
