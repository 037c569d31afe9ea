"""Meetings (三会一课, 主题党日), their audience, leave requests, attendance with 补学/送学, and minutes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import by_id, insert_once, orgs, rowcount
from bot.storage.models import (
    Attendance,
    AttendanceStatus,
    CheckIn,
    LeaveRequest,
    LeaveStatus,
    Meeting,
    MeetingKind,
    MeetingMinute,
    Member,
    Organisation,
    Role,
)

SECRETARY_ROLES = (Role.SECRETARY, Role.ADMIN)
CATCH_UP = (AttendanceStatus.ABSENT, AttendanceStatus.LEAVE)  # who may catch up (补学/送学)


LIVE = Meeting.cancelled_at.is_(None)  # every query for meetings to hold, show or count leaves out cancelled ones


async def create(session: AsyncSession, **values: Any) -> Meeting:
    meeting = Meeting(**values)
    session.add(meeting)
    await session.flush()
    return meeting


async def same_plan(session: AsyncSession, *, org_id: int, kind: str, starts_at: datetime) -> Meeting | None:
    """A meeting of this organisation and kind at this time already planned (a plan sent twice)."""
    return await session.scalar(select(Meeting).where(Meeting.org_id == org_id, Meeting.kind == kind,
                                                      Meeting.starts_at == starts_at, LIVE).limit(1))


async def excuse(session: AsyncSession, *, member_id: int, start: datetime, end: datetime) -> int:
    """An exemption entered late: the member's absences from meetings that started in [start, end) become
    exempt; how many."""
    held = select(Meeting.id).where(Meeting.starts_at >= start, Meeting.starts_at < end)
    return rowcount(await session.execute(update(Attendance).where(
        Attendance.member_id == member_id, Attendance.status == AttendanceStatus.ABSENT,
        Attendance.meeting_id.in_(held)).values(status=AttendanceStatus.EXEMPT)))


async def drop_leave(session: AsyncSession, *, meeting_id: int) -> None:
    """Forget a meeting's leave requests (it was moved: leave asked for the old time does not hold)."""
    await session.execute(delete(LeaveRequest).where(LeaveRequest.meeting_id == meeting_id))


async def cancel(session: AsyncSession, *, meeting: Meeting, now: datetime) -> bool:
    """Call off a meeting not yet held: marked, never deleted, so its number is never another's (members keep
    the numbers they were sent); its leave requests go. False when it was already called off or closed."""
    if not rowcount(await session.execute(update(Meeting).where(
            Meeting.id == meeting.id, LIVE, Meeting.closed_at.is_(None)).values(cancelled_at=now))):
        return False
    await drop_leave(session, meeting_id=meeting.id)
    return True


async def replan(session: AsyncSession, *, meeting: Meeting, **values: Any) -> Meeting:
    """Change a meeting's plan (a 主题党日 re-planned before it started)."""
    for name, value in values.items():
        setattr(meeting, name, value)
    await session.flush()
    return meeting


async def by_key(session: AsyncSession, *, key: str) -> Meeting:
    """The meeting a calendar job planned under `key`."""
    found = await session.scalar(select(Meeting).where(Meeting.key == key))
    assert found is not None
    return found


async def get(session: AsyncSession, *, meeting_id: int) -> Meeting | None:
    """The meeting with this number, unless it was called off."""
    found = await by_id(session, Meeting, meeting_id)
    return found if found is not None and found.cancelled_at is None else None


async def audience_orgs(session: AsyncSession, *, meeting: Meeting) -> list[int]:
    """The organisations whose members a meeting is for: its organisation's subtree; a 主题党日 only the part of
    it that meets in that 党支部 (a 党总支's theme day is for its own members, its branches hold their own)."""
    below = await orgs.subtree(session, org_id=meeting.org_id)
    if meeting.kind != MeetingKind.THEME_DAY:
        return below
    return [org_id for org_id in below if await orgs.branch_of(session, org_id=org_id) == meeting.org_id]


async def audience(session: AsyncSession, *, meeting: Meeting) -> Select[int]:
    """The meeting's audience as a member-id query (支委会: the secretaries of its own organisation, not the
    组长 of its 党小组)."""
    if meeting.kind == MeetingKind.COMMITTEE:
        return select(Member.id).where(Member.org_id == meeting.org_id, Member.role.in_(SECRETARY_ROLES))
    return select(Member.id).where(Member.org_id.in_(await audience_orgs(session, meeting=meeting)))


async def in_audience(session: AsyncSession, *, meeting: Meeting, member_id: int) -> bool:
    query = await audience(session, meeting=meeting)
    return await session.scalar(query.where(Member.id == member_id)) is not None


async def holders(session: AsyncSession, *, org_id: int) -> Select[int]:
    """The secretaries told about a meeting's leave requests: those of its organisation up to its 党支部."""
    return select(Member.id).where(Member.org_id.in_(await orgs.up_to_branch(session, org_id=org_id)),
                                   Member.role == Role.SECRETARY)


async def upcoming(session: AsyncSession, *, org_ids: Sequence[int], now: datetime) -> list[Meeting]:
    """Meetings of these organisations not yet over, soonest first."""
    return list(await session.scalars(select(Meeting).where(Meeting.org_id.in_(org_ids), Meeting.ends_at > now, LIVE)
                                      .order_by(Meeting.starts_at, Meeting.id)))


async def awaiting_attendance(session: AsyncSession, *, org_ids: Sequence[int]) -> list[Meeting]:
    """Meetings of these organisations recorded after they ended whose `出席` is still owed."""
    return list(await session.scalars(select(Meeting).where(
        Meeting.org_id.in_(org_ids), Meeting.closed_at.is_(None), Meeting.planned_at >= Meeting.ends_at, LIVE)
        .order_by(Meeting.starts_at, Meeting.id)))


async def next_for(session: AsyncSession, *, member_id: int, org_id: int, now: datetime,
                   until: datetime | None = None) -> Meeting | None:
    """The member's next meeting not yet started (held by their organisation or one above it), starting before
    `until` when given (the day a member named)."""
    chain = await orgs.chain_up(session, org_id=org_id)
    query = select(Meeting).where(Meeting.org_id.in_(chain), Meeting.starts_at > now, LIVE)
    if until is not None:
        query = query.where(Meeting.starts_at < until)
    for meeting in await session.scalars(query.order_by(Meeting.starts_at, Meeting.id)):
        if await in_audience(session, meeting=meeting, member_id=member_id):
            return meeting
    return None


async def theme_day_in(session: AsyncSession, *, org_id: int, start: datetime, end: datetime) -> Meeting | None:
    """The organisation's 主题党日 starting in [start, end), the earliest."""
    return await session.scalar(select(Meeting).where(
        Meeting.org_id == org_id, Meeting.kind == MeetingKind.THEME_DAY, Meeting.starts_at >= start,
        Meeting.starts_at < end, LIVE).order_by(Meeting.starts_at, Meeting.id).limit(1))


async def starting_between(session: AsyncSession, *, start: datetime, end: datetime) -> list[Meeting]:
    return list(await session.scalars(select(Meeting).where(Meeting.starts_at >= start, Meeting.starts_at < end, LIVE)
                                      .order_by(Meeting.id)))


async def due_to_open(session: AsyncSession, *, now: datetime) -> list[Meeting]:
    """Meetings under way whose check-in is not open yet."""
    return list(await session.scalars(select(Meeting).where(
        Meeting.activity_id.is_(None), Meeting.starts_at <= now, Meeting.ends_at > now, LIVE).order_by(Meeting.id)))


async def set_activity(session: AsyncSession, *, meeting_id: int, activity_id: int) -> bool:
    """Link the meeting's check-in once; False when another run already did."""
    return rowcount(await session.execute(update(Meeting).where(
        Meeting.id == meeting_id, Meeting.activity_id.is_(None)).values(activity_id=activity_id))) == 1


async def due_to_close(session: AsyncSession, *, now: datetime) -> list[int]:
    """Meetings that have ended and are not closed, but those recorded after they ended: their secretary's
    `出席` closes them, since nobody could check in."""
    return list(await session.scalars(select(Meeting.id).where(
        Meeting.closed_at.is_(None), Meeting.ends_at <= now, Meeting.planned_at < Meeting.ends_at, LIVE)
        .order_by(Meeting.id)))


async def claim_close(session: AsyncSession, *, meeting_id: int, now: datetime) -> bool:
    """Mark the meeting closed; True only for the one run (of however many replicas) that did."""
    return rowcount(await session.execute(update(Meeting).where(
        Meeting.id == meeting_id, Meeting.closed_at.is_(None)).values(closed_at=now))) == 1


async def check_ins(session: AsyncSession, *, activity_id: int | None) -> dict[int, datetime]:
    """Who checked in to the meeting's check-in, and when."""
    if activity_id is None:
        return {}
    return {m: at for m, at in await session.execute(
        select(CheckIn.member_id, CheckIn.at).where(CheckIn.activity_id == activity_id))}


async def granted_leave(session: AsyncSession, *, meeting_id: int) -> set[int]:
    return set(await session.scalars(select(LeaveRequest.member_id).where(
        LeaveRequest.meeting_id == meeting_id, LeaveRequest.status == LeaveStatus.GRANTED)))


async def record_attendance(session: AsyncSession, *, meeting_id: int, member_id: int, status: str,
                            checked_in_at: datetime | None) -> bool:
    return await insert_once(session, Attendance, meeting_id=meeting_id, member_id=member_id, status=status,
                             checked_in_at=checked_in_at)


async def attendance_of(session: AsyncSession, *, meeting_id: int, member_id: int) -> Attendance | None:
    return await session.scalar(select(Attendance).where(Attendance.meeting_id == meeting_id,
                                                         Attendance.member_id == member_id))


async def to_catch_up(session: AsyncSession, *, meeting_id: int, statuses: Sequence[str]) -> list[int]:
    """Members of the meeting with one of these statuses who have not caught up (补学/送学) yet."""
    return list(await session.scalars(select(Attendance.member_id).where(
        Attendance.meeting_id == meeting_id, Attendance.status.in_(statuses), Attendance.makeup.is_(None))
        .order_by(Attendance.member_id)))


async def record_makeup(session: AsyncSession, *, meeting_id: int, member_id: int, kind: str, at: datetime,
                        by: int | None = None) -> bool:
    """Record 补学 or 送学 once, for an absentee or a member on leave; False when not theirs to catch up or
    already caught up."""
    return rowcount(await session.execute(update(Attendance).where(
        Attendance.meeting_id == meeting_id, Attendance.member_id == member_id, Attendance.makeup.is_(None),
        Attendance.status.in_(CATCH_UP)).values(makeup=kind, makeup_at=at, makeup_by=by))) == 1


async def catch_ups(session: AsyncSession, *, org_ids: Sequence[int], start: datetime,
                    end: datetime) -> dict[int, tuple[int, int]]:
    """Each member (of these organisations) who missed a meeting starting in [start, end), absent or on leave:
    (meetings to catch up on, of those caught up by 补学 or 送学)."""
    caught_up = case((Attendance.makeup.is_not(None), 1), else_=0)
    rows = await session.execute(
        select(Attendance.member_id, func.count(), func.sum(caught_up))
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .where(Meeting.starts_at >= start, Meeting.starts_at < end, LIVE, Attendance.status.in_(CATCH_UP),
               Attendance.member_id.in_(select(Member.id).where(Member.org_id.in_(org_ids))))
        .group_by(Attendance.member_id))
    return {member_id: (int(owed), int(done)) for member_id, owed, done in rows}


async def ask_leave(session: AsyncSession, *, meeting_id: int, member_id: int, reason: str, now: datetime) -> bool:
    """The member's request for this meeting; asking again while not granted replaces the reason and asks anew.
    False when leave was already granted."""
    if await insert_once(session, LeaveRequest, meeting_id=meeting_id, member_id=member_id, reason=reason,
                         status=LeaveStatus.PENDING, asked_at=now):
        return True
    return rowcount(await session.execute(update(LeaveRequest).where(
        LeaveRequest.meeting_id == meeting_id, LeaveRequest.member_id == member_id,
        LeaveRequest.status != LeaveStatus.GRANTED).values(
        reason=reason, status=LeaveStatus.PENDING, asked_at=now, decided_by=None, decided_at=None,
        decision_reason=None))) == 1


async def pending_leave(session: AsyncSession, *, org_ids: Sequence[int], now: datetime,
                        member_ids: Sequence[int] | None = None,
                        leave_id: int | None = None) -> list[tuple[LeaveRequest, Meeting]]:
    """Pending requests (of these members, or this one request, when given) for meetings of these organisations
    not yet over, soonest first."""
    stmt = (select(LeaveRequest, Meeting).join(Meeting, Meeting.id == LeaveRequest.meeting_id)
            .where(Meeting.org_id.in_(org_ids), LeaveRequest.status == LeaveStatus.PENDING, Meeting.ends_at > now, LIVE)
            .order_by(Meeting.starts_at, LeaveRequest.id))
    if member_ids is not None:
        stmt = stmt.where(LeaveRequest.member_id.in_(member_ids))
    if leave_id is not None:
        stmt = stmt.where(LeaveRequest.id == leave_id)
    return [(leave, meeting) for leave, meeting in await session.execute(stmt)]


async def decide_leave(session: AsyncSession, *, leave_id: int, granted: bool, by: int, now: datetime,
                       reason: str | None) -> bool:
    """Grant or refuse a pending request once; False when someone decided it first."""
    return rowcount(await session.execute(update(LeaveRequest).where(
        LeaveRequest.id == leave_id, LeaveRequest.status == LeaveStatus.PENDING).values(
        status=LeaveStatus.GRANTED if granted else LeaveStatus.REFUSED, decided_by=by, decided_at=now,
        decision_reason=reason))) == 1


async def add_minutes(session: AsyncSession, *, meeting_id: int, author_id: int, now: datetime, text: str | None = None,
                      media_id: str | None = None, url: str | None = None) -> None:
    session.add(MeetingMinute(meeting_id=meeting_id, author_id=author_id, text=text, photo_media_id=media_id,
                              photo_url=url, at=now))


async def last_minutes_by(session: AsyncSession, *, author_id: int, since: datetime) -> tuple[datetime, int] | None:
    """When the author last wrote minutes after `since`, and for which meeting."""
    row = (await session.execute(select(MeetingMinute.at, MeetingMinute.meeting_id).where(
        MeetingMinute.author_id == author_id, MeetingMinute.at >= since, MeetingMinute.text.is_not(None))
        .order_by(MeetingMinute.at.desc(), MeetingMinute.id.desc()).limit(1))).first()
    return (row[0], row[1]) if row else None


async def minutes_text(session: AsyncSession, *, meeting_id: int) -> list[str]:
    """The meeting's written minutes, in the order sent."""
    return [text for text in await session.scalars(select(MeetingMinute.text).where(
        MeetingMinute.meeting_id == meeting_id, MeetingMinute.text.is_not(None)).order_by(MeetingMinute.id)) if text]


async def photo_count(session: AsyncSession, *, meeting_id: int) -> int:
    return len(list(await session.scalars(select(MeetingMinute.id).where(
        MeetingMinute.meeting_id == meeting_id, MeetingMinute.photo_media_id.is_not(None)))))


async def tally(session: AsyncSession, *, meeting_id: int) -> dict[str, int]:
    """How many of the audience stood each way at the close, and how many caught up (补学, 送学): separate
    numbers, never one "attended"."""
    return (await tallies(session, meeting_ids=[meeting_id])).get(meeting_id, {})


async def tallies(session: AsyncSession, *, meeting_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """`tally` of each of these meetings that has attendance (none before it closes)."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for column in (Attendance.status, Attendance.makeup):
        for meeting_id, standing, n in await session.execute(
                select(Attendance.meeting_id, column, func.count())
                .where(Attendance.meeting_id.in_(meeting_ids), column.is_not(None))
                .group_by(Attendance.meeting_id, column)):
            counts[meeting_id][str(standing)] = int(n)
    return dict(counts)


async def in_period(session: AsyncSession, *, org_ids: Sequence[int], start: datetime,
                    end: datetime) -> list[tuple[Meeting, str]]:
    """The meetings of these organisations starting in [start, end), those called off too, each with its
    organisation's full path; by start."""
    rows = await session.execute(select(Meeting, Organisation.path).join(Organisation, Organisation.id == Meeting.org_id)
                                 .where(Meeting.org_id.in_(org_ids), Meeting.starts_at >= start,
                                        Meeting.starts_at < end).order_by(Meeting.starts_at, Meeting.id))
    return [(meeting, path) for meeting, path in rows]


@dataclass(frozen=True, slots=True)
class Seat:
    """One member of a meeting: name, organisation (full path), their standing once it closed, when they checked
    in, their leave request's status, and how they caught up (补学/送学) and when."""

    name: str
    org: str
    status: str | None
    checked_in_at: datetime | None
    leave: str | None
    makeup: str | None
    makeup_at: datetime | None


async def seats(session: AsyncSession, *, meeting: Meeting) -> list[Seat]:
    """Everyone the meeting is for (once closed: everyone its close settled), by organisation and name."""
    settled = select(Attendance.member_id).where(Attendance.meeting_id == meeting.id)
    who = settled if meeting.closed_at is not None else await audience(session, meeting=meeting)
    rows = await session.execute(
        select(Member.name, Organisation.path, Attendance.status,
               func.coalesce(Attendance.checked_in_at, CheckIn.at), LeaveRequest.status, Attendance.makeup,
               Attendance.makeup_at)
        .join(Organisation, Organisation.id == Member.org_id)
        .outerjoin(Attendance, (Attendance.member_id == Member.id) & (Attendance.meeting_id == meeting.id))
        .outerjoin(CheckIn, (CheckIn.member_id == Member.id) & (CheckIn.activity_id == meeting.activity_id))
        .outerjoin(LeaveRequest, (LeaveRequest.member_id == Member.id) & (LeaveRequest.meeting_id == meeting.id))
        .where(Member.id.in_(who)).order_by(Organisation.path, Member.name, Member.id))
    return [Seat(*row) for row in rows]
