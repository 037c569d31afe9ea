"""`content/calendar.toml`: when the recurring pushes go out (lessons, 主题党日, 政治生日, star review)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from bot.content.files import ContentError, get, line_of


@dataclass(frozen=True, slots=True)
class ThemeMonth:
    theme: str
    place: str


@dataclass(frozen=True, slots=True)
class ThemeDay:
    """主题党日: the day of the month, the reminder the evening before, the notice and check-in on the day."""

    day: int
    reminder: time
    notice: time
    checkin_minutes: int
    months: dict[int, ThemeMonth]


@dataclass(frozen=True, slots=True)
class RecurringDay:
    """Another monthly day (such as 三务公开日 on the 25th) with the message everyone gets that morning."""

    id: str
    name: str
    day: int
    time: time
    message: str


@dataclass(frozen=True, slots=True)
class Calendar:
    lessons_start: date
    lesson_time: time
    theme_day: ThemeDay
    birthdays: bool
    birthday_time: time
    star_review_time: time
    service_star_time: time
    recurring: tuple[RecurringDay, ...] = ()


def parse_calendar(data: dict[str, Any], path: Path) -> Calendar:
    """The calendar, every value checked; a problem raises ContentError at its line."""
    theme = get(data, path, "theme_day", kind=dict)
    day = get(data, path, "theme_day", "day", kind=int)
    if not 1 <= day <= 28:
        raise ContentError(path, line_of(path, "day ="), f"`theme_day.day` is {day} but must be 1 to 28",
                           "every month has days 1 to 28; pick one of them")
    return Calendar(
        lessons_start=get(data, path, "lessons", "start", kind=date),
        lesson_time=clock_time(data, path, "lessons", "time"),
        theme_day=ThemeDay(
            day=day,
            reminder=clock_time(data, path, "theme_day", "reminder"),
            notice=clock_time(data, path, "theme_day", "notice"),
            checkin_minutes=get(data, path, "theme_day", "checkin_minutes", kind=int),
            months=_months(theme.get("months", {}), path),
        ),
        birthdays=get(data, path, "birthdays", "enabled", kind=bool),
        birthday_time=clock_time(data, path, "birthdays", "time"),
        star_review_time=clock_time(data, path, "star_review", "time"),
        service_star_time=clock_time(data, path, "service_star", "time"),
        recurring=tuple(_recurring(spec, path) for spec in data.get("recurring", [])),
    )


def _recurring(spec: dict[str, Any], path: Path) -> RecurringDay:
    day_id = get(spec, path, "id")
    if not day_id.isidentifier() or not day_id.isascii():
        raise ContentError(path, line_of(path, day_id), f"recurring day id `{day_id}` is not a plain name",
                           "use letters, digits and _ such as three_affairs")
    day = get(spec, path, "day", kind=int)
    if not 1 <= day <= 28:
        raise ContentError(path, line_of(path, f"day = {day}"), f"recurring day `{day_id}` falls on day {day}",
                           "use a day 1 to 28, which every month has")
    return RecurringDay(day_id, get(spec, path, "name"), day, clock_time(spec, path, "time"), get(spec, path, "message"))


def clock_time(data: dict[str, Any], path: Path, *keys: str) -> time:
    text = get(data, path, *keys)
    try:
        hour, minute = (int(part) for part in text.split(":"))
        return time(hour, minute)
    except ValueError:
        raise ContentError(path, line_of(path, f"{keys[-1]} ="),
                           f"`{'.'.join(keys)}` must be a time like \"08:00\", not {text!r}",
                           "write hours and minutes in quotes, 24-hour clock") from None


def _months(spec: dict[str, Any], path: Path) -> dict[int, ThemeMonth]:
    months = {}
    for key, value in spec.items():
        if not (key.isdigit() and 1 <= int(key) <= 12) or not isinstance(value, dict):
            raise ContentError(path, line_of(path, f"{key} ="), f"theme_day.months: `{key}` is not a month",
                               "write `1 = { theme = \"…\", place = \"…\" }` for months 1 to 12")
        months[int(key)] = ThemeMonth(theme=get(value, path, "theme"), place=get(value, path, "place"))
    return months
