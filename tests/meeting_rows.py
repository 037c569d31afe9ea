"""Meetings, attendance and minutes as rows, exactly as the meeting commands store them (`会议`, `请假`, the
close job, `送学`, `纪要` and photos), for the tests of what reads them: the 台账 and 督办."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Attendance, Meeting, MeetingMinute, Member, Organisation


async def org_id(session: AsyncSession, path: str) -> int:
    found = await session.scalar(select(Organisation.id).where(Organisation.path == path))
    assert found is not None, path
    return found


async def member_id(session: AsyncSession, name: str, org: int) -> int:
    """The member of this name in this organisation or under it (names repeat across villages)."""
    prefix = await session.scalar(select(Organisation.path).where(Organisation.id == org))
    found = list(await session.scalars(select(Member.id).join(Organisation, Organisation.id == Member.org_id).where(
        Member.name == name, (Organisation.id == org) | Organisation.path.startswith(f"{prefix}/"))))
    assert len(found) == 1, (name, found)
    return found[0]


async def meeting(session: AsyncSession, *, org: int, kind: str, starts_at: datetime, topic: str = "学习全会精神",
                  place: str = "村委会", minutes: int = 120, planned_at: datetime | None = None,
                  closed: bool = False) -> Meeting:
    """A planned meeting (by its secretary a week before unless `planned_at`), closed when `closed`."""
    row = Meeting(org_id=org, kind=kind, topic=topic, place=place, starts_at=starts_at,
                  ends_at=starts_at + timedelta(minutes=minutes), planned_by=None,
                  planned_at=planned_at or starts_at - timedelta(days=7),
                  closed_at=starts_at + timedelta(minutes=minutes + 30) if closed else None)
    session.add(row)
    await session.flush()
    return row


async def attendance(session: AsyncSession, held: Meeting, standing: Sequence[tuple[int, str, str | None]]) -> None:
    """(member id, status, 补学/送学 or None) for each member of the audience, as the close job settles them."""
    for member, status, makeup in standing:
        session.add(Attendance(meeting_id=held.id, member_id=member, status=status,
                               checked_in_at=held.starts_at if status in ("present", "late") else None,
                               makeup=makeup, makeup_at=held.ends_at + timedelta(days=1) if makeup else None))
    await session.flush()


async def minute(session: AsyncSession, held: Meeting, *, author: int, at: datetime, text: str | None = None,
                 photo_url: str | None = None) -> None:
    """`纪要 <会议号> text`, or a photo sent right after it."""
    session.add(MeetingMinute(meeting_id=held.id, author_id=author, text=text, at=at, photo_url=photo_url,
                              photo_media_id=f"media-{at.timestamp():.0f}" if photo_url else None))
    await session.flush()
