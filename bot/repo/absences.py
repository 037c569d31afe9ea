"""Settled attendance as the 学分卡 rule reads it: each member's meetings missed without leave, and late arrivals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules.attendance import Lapses
from bot.storage.models import Attendance, AttendanceStatus, Meeting


async def tallies(session: AsyncSession, *, start: datetime, end: datetime, scope: Callable[[Any], ColumnElement[bool]] | None = None) -> dict[int, Lapses]:
    """Each member's tally over the meetings starting in [start, end) (members of `scope` only, when given) who
    missed one or came late; leave and exemptions are neither. `scope` keeps members by a condition on the
    member column (`bot.repo.metrics`)."""
    stmt = (select(Attendance.member_id, func.sum(_counts(AttendanceStatus.ABSENT)),
                   func.sum(_counts(AttendanceStatus.LATE)))
            .join(Meeting, Meeting.id == Attendance.meeting_id)
            .where(Meeting.starts_at >= start, Meeting.starts_at < end,
                   Attendance.status.in_([AttendanceStatus.ABSENT, AttendanceStatus.LATE]))
            .group_by(Attendance.member_id))
    if scope is not None:
        stmt = stmt.where(scope(Attendance.member_id))
    return {member_id: Lapses(int(absent), int(late)) for member_id, absent, late in await session.execute(stmt)}


def _counts(status: AttendanceStatus) -> ColumnElement[int]:
    return case((Attendance.status == status, 1), else_=0)
