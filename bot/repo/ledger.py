"""Reading organisational life for the 台账 and 督办: the meetings of a subtree in a period, with their
attendance, minutes and photos, as plain records in local time."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import orgs
from bot.reports.ledger import Attendee, MeetingRecord
from bot.rules.periods import Period
from bot.storage.models import Attendance, Meeting, MeetingMinute, Member, Organisation


async def meetings(session: AsyncSession, *, org_ids: Sequence[int], start: datetime, end: datetime,
                   tz: ZoneInfo) -> list[MeetingRecord]:
    """The meetings held by `org_ids` starting in [start, end), by start."""
    rows = (await session.execute(
        select(Meeting, Organisation.path).join(Organisation, Organisation.id == Meeting.org_id)
        .where(Meeting.org_id.in_(org_ids), Meeting.starts_at >= start, Meeting.starts_at < end,
               Meeting.cancelled_at.is_(None))
        .order_by(Meeting.starts_at, Meeting.id))).all()
    ids = [meeting.id for meeting, _ in rows]
    attendance, minutes, photos = await _attendance(session, ids), *await _minutes(session, ids)
    return [MeetingRecord(m.id, m.org_id, path, m.kind, m.topic, m.place, m.starts_at.astimezone(tz),
                          m.ends_at.astimezone(tz), m.planned_at.astimezone(tz), m.closed_at is not None,
                          tuple(attendance[m.id]), tuple(minutes[m.id]), tuple(photos[m.id])) for m, path in rows]


async def subtree_meetings(session: AsyncSession, *, org_id: int, period: Period,
                           tz: ZoneInfo) -> list[MeetingRecord]:
    """The meetings held by `org_id` and the organisations under it in `period` (a year: the 台账 workbook)."""
    start, end = period.bounds(tz)
    return await meetings(session, org_ids=await orgs.subtree(session, org_id=org_id), start=start, end=end, tz=tz)


async def _attendance(session: AsyncSession, ids: list[int]) -> dict[int, list[Attendee]]:
    """Each meeting's attendance rows, in roster order; a name two members of the meeting share carries the
    phone's last four digits (`王德明（0031）`), as chat tells namesakes apart."""
    found: dict[int, list[Attendee]] = defaultdict(list)
    rows = (await session.execute(
        select(Attendance.meeting_id, Member.name, Member.phone, Attendance.status, Attendance.makeup)
        .join(Member, Member.id == Attendance.member_id).where(Attendance.meeting_id.in_(ids))
        .order_by(Member.id))).all()
    shared = {key for key, count in Counter((m, name) for m, name, *_ in rows).items() if count > 1}
    for meeting_id, name, phone, status, makeup in rows:
        shown = f"{name}（{phone[-4:]}）" if (meeting_id, name) in shared else name
        found[meeting_id].append(Attendee(shown, status, makeup))
    return found


async def _minutes(session: AsyncSession, ids: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Each meeting's minutes texts and photos (link, else media id), in the order they were sent."""
    texts: dict[int, list[str]] = defaultdict(list)
    photos: dict[int, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(MeetingMinute.meeting_id, MeetingMinute.text, MeetingMinute.photo_url, MeetingMinute.photo_media_id)
        .where(MeetingMinute.meeting_id.in_(ids)).order_by(MeetingMinute.at, MeetingMinute.id))
    for meeting_id, text, url, media_id in rows:
        if text:
            texts[meeting_id].append(text)
        photo = url or media_id
        if photo:
            photos[meeting_id].append(photo)
    return texts, photos


async def organisations(session: AsyncSession, *, org_ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(id, path, level) of each organisation, by path (by code point on either engine)."""
    rows = await session.execute(select(Organisation.id, Organisation.path, Organisation.kind)
                                 .where(Organisation.id.in_(org_ids)))
    return sorted(((id_, path, kind) for id_, path, kind in rows), key=lambda row: row[1])
