"""The numbers star criteria are judged on, for one member or for everyone, over one period.

Each metric is one grouped query over the period, so the quarter-end review of 100,000 members
costs a handful of scans, and `星级` for one member runs the same queries filtered to them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.rules import LifePolicy
from bot.repo import absences
from bot.rules.attendance import absences as unexcused
from bot.rules.attendance import conduct_deductions
from bot.rules.periods import Period, months_in
from bot.rules.points import monthly_score
from bot.storage.models import CheckIn, ClaimStatus, Member, PointEntry, QuizAnswer, VolunteerClaim

NAMES = ("quiz_correct", "checkins", "points", "deductions", "service_hours")
CORRECTION = "correction"  # a secretary's correction is not a deduction for conduct
DEDUCTION = "deduction"  # a secretary's `扣分` is

Metrics = dict[str, float]


def zeros() -> Metrics:
    return dict.fromkeys(NAMES, 0.0)


async def for_members(session: AsyncSession, *, period: Period, tz: ZoneInfo, monthly_cap: int, life: LifePolicy,
                      member_id: int | None = None, org_ids: Sequence[int] | None = None) -> dict[int, Metrics]:
    """Every member's metrics over the period (those with nothing recorded are left out): of everyone, of
    these organisations' members, or of one member. `deductions` counts `扣分` entries and, when the rules
    say so, unexcused absences from meetings held in the period (the 学分卡 rule)."""
    start, end = period.bounds(tz)
    scope = _scope(member_id, org_ids)
    found: defaultdict[int, Metrics] = defaultdict(zeros)
    for month in months_in(period):
        lo, hi = month.bounds(tz)
        stmt = _grouped(PointEntry.member_id, [func.sum(PointEntry.delta), func.sum(_deduction)],
                        PointEntry.occurred_at, max(lo, start), min(hi, end), scope)
        for who, total, deductions in await session.execute(stmt):
            found[who]["points"] += monthly_score([int(total)], monthly_cap)
            found[who]["deductions"] += int(deductions)
    for name, stmt in (
        ("checkins", _grouped(CheckIn.member_id, [func.count()], CheckIn.at, start, end, scope)),
        ("quiz_correct", _grouped(QuizAnswer.member_id, [func.count()], QuizAnswer.at, start, end, scope,
                                  QuizAnswer.correct.is_(True))),
        ("service_hours", _grouped(VolunteerClaim.member_id, [func.sum(VolunteerClaim.minutes) / 60.0],
                                   VolunteerClaim.decided_at, start, end, scope,
                                   VolunteerClaim.status == ClaimStatus.APPROVED)),
    ):
        for who, value in await session.execute(stmt):
            found[who][name] = float(value)
    for who, tally in (await absences.tallies(session, start=start, end=end, scope=scope)).items():
        found[who]["deductions"] += conduct_deductions(unexcused(tally, life.late_per_absence),
                                                       life.absences_count_as_deductions)
    return dict(found)


async def for_member(session: AsyncSession, *, member_id: int, period: Period, tz: ZoneInfo,
                     monthly_cap: int, life: LifePolicy) -> Metrics:
    found = await for_members(session, period=period, tz=tz, monthly_cap=monthly_cap, life=life, member_id=member_id)
    return found.get(member_id) or zeros()


_deduction = case((PointEntry.action == DEDUCTION, 1), else_=0)


Scope = Callable[[Any], ColumnElement[bool]] | None


def _scope(member_id: int | None, org_ids: Sequence[int] | None) -> Scope:
    """Which members a query keeps, as a condition on its member column (None: everyone)."""
    if member_id is not None:
        return lambda key: key == member_id
    if org_ids is not None:
        return lambda key: key.in_(select(Member.id).where(Member.org_id.in_(org_ids)))
    return None


def _grouped(key: Any, values: list[Any], at: Any, start: Any, end: Any, scope: Scope,
             *conditions: ColumnElement[bool]) -> Select[Any]:
    """SELECT key, values… WHERE start <= at < end (and the scope, and conditions) GROUP BY key."""
    stmt = select(key, *values).where(at >= start, at < end, *conditions).group_by(key)
    return stmt.where(scope(key)) if scope is not None else stmt
