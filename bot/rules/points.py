"""Points arithmetic over ledger entries: monthly cap, yearly total, the yearly line."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class PointsPolicy:
    """The numbers from rules.toml that turn ledger entries into an assessment."""

    monthly_cap: int
    yearly_line: int
    flag_below: int
    follow_up_years: int = 3  # this many complete years running under flag_below is its own follow-up flag


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


def scores_by_month(entries: Iterable[tuple[date, int]], cap: int) -> dict[tuple[int, int], int]:
    """{(year, month): that month's score} of the months with entries (each `monthly_score`)."""
    by_month: dict[tuple[int, int], list[int]] = defaultdict(list)
    for day, delta in entries:
        by_month[(day.year, day.month)].append(delta)
    return {month: monthly_score(deltas, cap) for month, deltas in by_month.items()}


def yearly_score(entries: Iterable[tuple[date, int]], cap: int) -> int:
    """A year is the sum of its capped months."""
    return sum(scores_by_month(entries, cap).values())


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


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Why a member is on their secretary's follow-up list (待关注); never shown to the member."""

    behind_this_year: bool  # this year's points are under the flag line pro-rated to the months gone by
    years_below: int  # complete years running, up to last year, under the flag line

    def listed(self) -> bool:
        return self.behind_this_year or self.years_below > 0


def follow_up(year_scores: Mapping[int, int], today: date, policy: PointsPolicy, since_year: int) -> FollowUp:
    """The follow-up flags from yearly scores; years before `since_year` (joining, or the bot's start) don't count."""
    done_months = today.month - 1
    behind = today.year >= since_year and done_months > 0 and year_scores.get(today.year, 0) * 12 < policy.flag_below * done_months
    years = 0
    for year in range(today.year - 1, since_year - 1, -1):
        if year_scores.get(year, 0) >= policy.flag_below:
            break
        years += 1
    return FollowUp(behind, years)


def first_full_year(since: date) -> int:
    """The first calendar year a member was on the roster for the whole of."""
    return since.year if (since.month, since.day) == (1, 1) else since.year + 1


def scores_by_year(entries: Iterable[tuple[date, int]], cap: int) -> dict[int, int]:
    """Each year's score (the sum of its capped months)."""
    by_year: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for day, delta in entries:
        by_year[day.year].append((day, delta))
    return {year: yearly_score(rows, cap) for year, rows in by_year.items()}
