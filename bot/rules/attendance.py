"""The 学分卡 rule (seed 002 L400): late arrivals per absence, the yearly notice to the secretary, and whether
absences count against 自律星. Only unexcused absences count: leave and exemptions never do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Lapses:
    """A member's settled attendance over a period: meetings missed without leave, and late arrivals."""

    absent: int
    late: int


def absences(tally: Lapses, late_per_absence: int) -> int:
    """Unexcused absences: each absence, plus one for every `late_per_absence` late arrivals (迟到2次视为缺席1次);
    a remainder of late arrivals does not count yet."""
    return tally.absent + tally.late // late_per_absence


def needs_notice(unexcused: int, before_notice: int) -> bool:
    """Whether a year's unexcused absences are more than the secretary tolerates before being told
    (每年无故缺席2次以上: a third absence is the first the secretary hears of)."""
    return unexcused > before_notice


def conduct_deductions(unexcused: int, count_as_deductions: bool) -> int:
    """How many deductions a period's unexcused absences add to the `deductions` metric (自律星)."""
    return unexcused if count_as_deductions else 0
