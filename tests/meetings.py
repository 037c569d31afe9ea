"""Closed meetings for tests of what reads attendance (part A's close writes these rows in production)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.storage.db import SessionMaker
from bot.storage.models import Attendance, AttendanceStatus, Meeting, MeetingKind, Member


async def settled(db: SessionMaker, *, starts_at: datetime, statuses: Mapping[str, AttendanceStatus],
                  kind: MeetingKind = MeetingKind.GENERAL) -> int:
    """A meeting that started at `starts_at` and closed, with the attendance of these members (by phone), held by
    the first member's organisation; its id."""
    async with db.begin() as session:
        ids = {phone: (id_, org) for id_, phone, org in await session.execute(
            select(Member.id, Member.phone, Member.org_id).where(Member.phone.in_(list(statuses))))}
        meeting = Meeting(org_id=ids[next(iter(statuses))][1], kind=kind, topic="学习全会精神", place="村委会",
                          starts_at=starts_at, ends_at=starts_at + timedelta(hours=2),
                          planned_at=starts_at - timedelta(days=3), closed_at=starts_at + timedelta(hours=2))
        session.add(meeting)
        await session.flush()
        session.add_all(Attendance(meeting_id=meeting.id, member_id=ids[phone][0], status=status)
                        for phone, status in statuses.items())
        return meeting.id
