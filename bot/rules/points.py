"""Points arithmetic over ledger entries: monthly cap, yearly total, the yearly line."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class PointsPolicy:
    """The numbers from rules.toml that turn ledger entries into an assessment."""

    monthly_cap: int
    yearly_line: int
    flag_below: int


@dataclass(frozen=True, slots=True)
class Standing:
    """A member's assessment for one month and the year to date."""

    month: int
    year: int
    month_raw: int
    capped: bool
    below_line: bool
    flagged: bool


def monthly_score(deltas: Iterable[int], cap: int) -> int:
    """A month counts its entries' sum, clamped to [0, cap]."""
    return max(0, min(cap, sum(deltas)))


def yearly_score(entries: Iterable[tuple[date, int]], cap: int) -> int:
    """A year is the sum of its capped months."""
    by_month: dict[tuple[int, int], list[int]] = defaultdict(list)
    for day, delta in entries:
        by_month[(day.year, day.month)].append(delta)
    return sum(monthly_score(deltas, cap) for deltas in by_month.values())


def standing(entries: Iterable[tuple[date, int]], today: date, policy: PointsPolicy) -> Standing:
    """Where a member stands this month and this year, from the year's ledger entries."""
    year_entries = [(d, delta) for d, delta in entries if d.year == today.year and d <= today]
    month_deltas = [delta for d, delta in year_entries if d.month == today.month]
    month = monthly_score(month_deltas, policy.monthly_cap)
    year = yearly_score(year_entries, policy.monthly_cap)
    return Standing(
        month=month,
        year=year,
        month_raw=sum(month_deltas),
        capped=sum(month_deltas) > policy.monthly_cap,
        below_line=year < policy.yearly_line,
        flagged=year < policy.flag_below,
    )
