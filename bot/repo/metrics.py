"""The numbers star criteria are judged on, gathered for one member and one period."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import activities, lessons, points
from bot.rules.periods import Period
from bot.rules.points import yearly_score


async def for_period(
    session: AsyncSession, *, member_id: int, period: Period, tz: ZoneInfo, monthly_cap: int
) -> dict[str, float]:
    """quiz_correct, checkins, points (capped per month), deductions and service_hours over the period."""
    start, end = period.bounds(tz)
    entries = await points.between(session, member_id=member_id, start=start, end=end)
    return {
        "quiz_correct": await lessons.correct_between(session, member_id=member_id, start=start, end=end),
        "checkins": await activities.count_between(session, member_id=member_id, start=start, end=end),
        "points": yearly_score(((e.occurred_at.astimezone(tz).date(), e.delta) for e in entries), monthly_cap),
        "deductions": sum(1 for e in entries if e.delta < 0),
        "service_hours": 0,
    }
