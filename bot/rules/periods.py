"""Calendar periods (months, quarters, years) in the account's local time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open local date range [start, end)."""

    start: date
    end: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware datetimes at local midnight, for database queries."""
        return datetime.combine(self.start, time(), tz), datetime.combine(self.end, time(), tz)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def quarter_of(day: date) -> Period:
    """The calendar quarter containing `day` (Q1 = January to March)."""
    first_month = (day.month - 1) // 3 * 3 + 1
    start = date(day.year, first_month, 1)
    end = date(day.year + (first_month + 3 > 12), (first_month + 2) % 12 + 1, 1)
    return Period(start, end)


def year_of(day: date) -> Period:
    """The calendar year containing `day`."""
    return Period(date(day.year, 1, 1), date(day.year + 1, 1, 1))


def quarter_label(day: date) -> str:
    """A quarter's short name, such as 2026Q4."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def is_year(period: Period) -> bool:
    """Whether the period is one whole calendar year."""
    return period == year_of(period.start)


def period_label(period: Period) -> str:
    """A report's period as people name it: `2026Q4` for a calendar quarter, `2026年` for a calendar year;
    ValueError for any other period."""
    if is_year(period):
        return f"{period.start.year}年"
    if period == quarter_of(period.start):
        return quarter_label(period.start)
    raise ValueError(f"{period} is neither a calendar quarter nor a calendar year")


def month_of(day: date) -> Period:
    """The calendar month containing `day`."""
    start = day.replace(day=1)
    return Period(start, (start + timedelta(days=32)).replace(day=1))


def months_in(period: Period) -> list[Period]:
    """The calendar months a period spans, in order."""
    months, day = [], period.start
    while day < period.end:
        months.append(month_of(day))
        day = months[-1].end
    return months


def previous_quarter(day: date) -> Period:
    """The quarter before the one containing `day`: the one a review on `day` judges."""
    return quarter_of(quarter_of(day).start - timedelta(days=1))


YEARS = range(2000, 2101)  # the years a person may name (a report, a 台账, a month): others are typing slips


def _year(text: str | None, default: int) -> int | None:
    """A named year inside YEARS, `default` when none is named; None for one outside (`0001`, `9999`)."""
    year = int(text) if text else default
    return year if year in YEARS else None


_QUARTER = re.compile(r"(?:(\d{4})年?)?(?:第?([1-4一二三四])季度|q([1-4]))")
_CHINESE_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}


def parse_quarter(text: str, today: date | None = None) -> Period | None:
    """A quarter as a person writes it: `2026Q3`, `2026 q3`, `2026年第三季度`, and given `today` also `Q3` or
    `三季度` (this year); None when the text names no quarter (the caller refuses it rather than ignore it)."""
    found = _QUARTER.fullmatch(text.replace(" ", "").casefold())
    if found is None or (found.group(1) is None and today is None):
        return None
    year, number = _year(found.group(1), today.year if today else 0), found.group(2) or found.group(3)
    if year is None:
        return None
    number = _CHINESE_DIGITS.get(number, number)
    return quarter_of(date(year, (int(number) - 1) * 3 + 1, 1))


_YEAR = re.compile(r"(\d{4})年?(?:全年|年度)?")


def parse_year(text: str) -> Period | None:
    """A calendar year as a person writes it: `2026`, `2026年`, `2026年度`; None when the text names none."""
    found = _YEAR.fullmatch(text.replace(" ", ""))
    year = _year(found.group(1), 0) if found else None
    return year_of(date(year, 1, 1)) if year else None


def report_period(text: str, today: date) -> Period | None:
    """The calendar quarter or year a report is asked for (`2026Q3`, `三季度`, `2026`, `2026年`; this quarter when
    `text` is empty); None when it names neither or one not yet begun (the caller refuses it, never replaces it)."""
    period = (parse_quarter(text, today) or parse_year(text)) if text.strip() else quarter_of(today)
    return None if period is None or period.start > today else period


_PERIOD_WORD = re.compile(r"\d{4}年?|\d{1,2}月|[上下前]个?月|去年|前年|明年|上季度|第?[1-4一二三四]季度|q[1-4]|\d{1,2}号")


def names_period(text: str) -> bool:
    """Whether `text` (words after a command, normal form) asks for a period: `2025`, `上月`, `10月`, `2026Q3`…

    Commands that show only the current period refuse such a request rather than silently ignore it."""
    return bool(_PERIOD_WORD.search(text.lower()))


_MONTH = re.compile(r"(?:(\d{4})(?:年|-|/|\.)?)?(\d{1,2})月?")
_RELATIVE_MONTHS = {"本月": 0, "这个月": 0, "上月": 1, "上个月": 1}


def parse_month(text: str, today: date) -> Period | None:
    """A month as a person writes it: `11月`, `2026年11月`, `2026-11`, `本月`, `上月`; without a year, next month
    when it is the coming one (`12月` on 30 November: the plans 督办 checks by the 25th), else the latest such
    month not after `today`. None when the text names no month (the caller refuses it)."""
    text = text.replace(" ", "")
    if text in _RELATIVE_MONTHS:
        start = month_of(today).start
        for _ in range(_RELATIVE_MONTHS[text]):
            start = month_of(start - timedelta(days=1)).start
        return month_of(start)
    found = _MONTH.fullmatch(text)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        return None
    number = int(found.group(2))
    if found.group(1):
        year = _year(found.group(1), 0)
        return month_of(date(year, number, 1)) if year else None
    coming = month_of(month_of(today).end)  # the month after today's
    if coming.start.month == number:
        return coming
    return month_of(date(today.year - (number > today.month), number, 1))


def reachable_month(text: str, today: date) -> Period | None:
    """The month `text` names (`parse_month`; this month when `text` is empty), unless it names none or one after
    next month (None): what 台账 and 督办 may show, in chat and in the console alike."""
    month = parse_month(text, today) if text else month_of(today)
    return None if month is None or month.start > month_of(today).end else month
