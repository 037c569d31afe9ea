"""Calendar periods (months, quarters, years) in the account's local time."""

from __future__ import annotations

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


def parse_quarter(label: str) -> Period | None:
    """"2026Q4" → that quarter; None when the label is not a quarter."""
    year, q, number = label.upper().partition("Q")
    if not q or not year.isdigit() or number not in {"1", "2", "3", "4"}:
        return None
    return quarter_of(date(int(year), int(number) * 3, 1))
