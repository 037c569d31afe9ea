"""Meetings of organisational life as the bot runs them: the plan's notice, the eve's reminder, the check-in at
the start, and the close that settles attendance and queues the catch-ups (补学). Every push has a unique key."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.repo import activities, campaigns, insert_once, lessons, meetings, orgs
from bot.repo.exemptions import exempt_on
from bot.rules import meetings as rules
from bot.rules.checkin import new_code
from bot.rules.periods import month_of
from bot.storage.models import AttendanceStatus, Meeting, MeetingKind, Member

log = logging.getLogger(__name__)
SUMMARY_CHARS = 120  # of the minutes, in a catch-up push


async def remind(session: AsyncSession, content: Content, tz: ZoneInfo, meeting: Meeting, now: datetime) -> None:
    """The eve's reminder, once per meeting (the theme day's own job and the meetings' job share the key)."""
    body = content.render("themeday_reminder" if meeting.kind == MeetingKind.THEME_DAY else "meeting_reminder",
                          meeting=await described(session, content, tz, meeting))
    await campaigns.create(session, key=f"meeting-reminder:{meeting.id}", kind="reminder",
                           title=f"{meeting.kind}提醒", body=body, org_id=meeting.org_id, at=now, now=now,
                           audience=await meetings.audience(session, meeting=meeting))


async def announce(session: AsyncSession, content: Content, tz: ZoneInfo, meeting: Meeting, now: datetime, *,
                   changed: bool = False) -> None:
    """The plan, to the meeting's audience, once per plan (a changed 主题党日 is announced again, as a change)."""
    body = content.render("meeting_notice", meeting=await described(session, content, tz, meeting), changed=changed)
    await campaigns.create(session, key=f"meeting:{meeting.id}:{meeting.planned_at.timestamp():.0f}", kind="meeting", title=f"{meeting.kind}通知",
                           body=body, org_id=meeting.org_id, at=now, now=now,
                           audience=await meetings.audience(session, meeting=meeting))


async def described(session: AsyncSession, content: Content, tz: ZoneInfo, meeting: Meeting) -> dict[str, object]:
    """What the meeting templates show: number, organisation, kind, local start and end, place, topic."""
    return {"id": meeting.id, "org": await orgs.name_of(session, org_id=meeting.org_id), "kind": meeting.kind,
            "starts": meeting.starts_at.astimezone(tz), "ends": meeting.ends_at.astimezone(tz),
            "place": meeting.place, "topic": meeting.topic}


async def theme_day(session: AsyncSession, content: Content, tz: ZoneInfo, *, org_id: int, day: date,
                    now: datetime) -> Meeting:
    """The organisation's 主题党日 of `day`'s month: the one its secretary planned, else the calendar's (planned once,
    on the calendar's day, with the month's theme and place, its check-in as long as the calendar says)."""
    start, end = month_of(day).bounds(tz)
    found = await meetings.theme_day_in(session, org_id=org_id, start=start, end=end)
    if found is not None:
        return found
    theme = content.calendar.theme_day
    month = theme.months.get(day.month)
    starts = datetime.combine(day.replace(day=theme.day), theme.notice, tz)
    key = f"theme_day:{day:%Y-%m}:{org_id}"
    await insert_once(session, Meeting, key=key, org_id=org_id, kind=MeetingKind.THEME_DAY,
                      topic=month.theme if month else MeetingKind.THEME_DAY.value, place=month.place if month else "",
                      starts_at=starts, ends_at=starts + timedelta(minutes=theme.checkin_minutes), planned_by=None,
                      planned_at=now)
    return await meetings.by_key(session, key=key)


def title_of(meeting: Meeting, day: date) -> str:
    """The check-in's title: `12月主题党日`, `12月20日党员大会`."""
    if meeting.kind == MeetingKind.THEME_DAY:
        return f"{day.month}月{meeting.kind}"
    return f"{day.month}月{day.day}日{meeting.kind}"


async def open_check_in(session: AsyncSession, content: Content, tz: ZoneInfo, meeting: Meeting,
                        now: datetime) -> str:
    """Open the meeting's check-in (once, however many runs) until it ends; the secretaries who planned it get the
    code (a calendar meeting's code goes out with its notice). The code."""
    code = await activities.ensure_calendar_activity(
        session, key=f"meeting:{meeting.id}", org_id=meeting.org_id,
        title=title_of(meeting, meeting.starts_at.astimezone(tz).date()),
        code=new_code(await activities.open_codes(session, org_id=meeting.org_id, now=now), secrets.randbelow),
        opens_at=meeting.starts_at, closes_at=meeting.ends_at)
    activity_id = await activities.id_of(session, key=f"meeting:{meeting.id}")
    await meetings.set_activity(session, meeting_id=meeting.id, activity_id=activity_id)
    if meeting.planned_by is not None:
        body = content.render("meeting_code", code=code, meeting=await described(session, content, tz, meeting))
        await campaigns.create(session, key=f"meeting-code:{meeting.id}", kind="meeting", title="签到码",
                               body=body, org_id=meeting.org_id, at=now, now=now,
                               audience=await meetings.holders(session, org_id=meeting.org_id))
    return code


def after_the_fact(meeting: Meeting) -> bool:
    """A meeting recorded after it ended (allowed for `backfill_days`): nobody is told of it or checks in; its
    secretary records who attended (`出席`), which closes it."""
    return meeting.planned_at >= meeting.ends_at


def state(meeting: Meeting, now: datetime) -> str:
    """Where a meeting stands: `cancelled`; `closed` (attendance settled); `awaiting` (recorded after it ended, its
    secretary's `出席` owed); `open` (begun, not yet closed); else `planned`."""
    if meeting.cancelled_at is not None:
        return "cancelled"
    if meeting.closed_at is not None:
        return "closed"
    if after_the_fact(meeting):
        return "awaiting"
    return "open" if meeting.starts_at <= now else "planned"


async def close(session: AsyncSession, content: Content, tz: ZoneInfo, meeting_id: int, now: datetime,
                present: Collection[int] = ()) -> bool:
    """Settle attendance (`present`: members a secretary recorded as there) and queue the catch-ups, if this run
    is the one that closes the meeting."""
    if not await meetings.claim_close(session, meeting_id=meeting_id, now=now):
        return False
    meeting = await meetings.get(session, meeting_id=meeting_id)
    assert meeting is not None
    await settle(session, content, tz, meeting, present)
    await catch_up(session, content, tz, meeting, statuses=(AttendanceStatus.ABSENT,), now=now)
    log.info("meeting %s closed", meeting_id)
    return True


async def settle(session: AsyncSession, content: Content, tz: ZoneInfo, meeting: Meeting,
                 present: Collection[int] = ()) -> None:
    """One attendance row per audience member: present, late, on leave, exempt or absent."""
    audience = list(await session.scalars(await meetings.audience(session, meeting=meeting)))
    checked = {member_id: meeting.starts_at for member_id in present}
    checked |= await meetings.check_ins(session, activity_id=meeting.activity_id)
    leave = await meetings.granted_leave(session, meeting_id=meeting.id)
    day = meeting.starts_at.astimezone(tz).date()
    exempt = await exempt_on(session, member_ids=audience, day=day)
    grace = content.rules.life.late_grace_minutes
    for member_id in audience:
        status = rules.attendance(checked_in=checked.get(member_id), grace_minutes=grace,
                                  starts=max(meeting.starts_at, meeting.planned_at),  # planned late: told late
                                  on_leave=member_id in leave, exempt=member_id in exempt)
        await meetings.record_attendance(session, meeting_id=meeting.id, member_id=member_id, status=status,
                                         checked_in_at=checked.get(member_id))


async def catch_up(session: AsyncSession, content: Content, tz: ZoneInfo, meeting: Meeting, *,
                   statuses: tuple[str, ...], now: datetime) -> int:
    """One catch-up (补学) push to each member of the meeting with one of these statuses not yet caught up:
    the topic, the minutes' summary and the kind's question; the key makes it once per meeting and member."""
    member_ids = await meetings.to_catch_up(session, meeting_id=meeting.id, statuses=statuses)
    if not member_ids:
        return 0
    bank = content.makeup[meeting.kind]
    quiz = bank[rules.question_index(meeting.id, len(bank))]
    summary = "\n".join(await meetings.minutes_text(session, meeting_id=meeting.id))
    body = content.render("makeup_push", quiz=quiz, summary=summary[:SUMMARY_CHARS], cut=len(summary) > SUMMARY_CHARS, meeting=await described(session, content, tz, meeting))
    await campaigns.create(session, key=f"makeup:{meeting.id}", kind="makeup", ref=f"{lessons.MAKEUP_PREFIX}{meeting.id}",
                           title=f"{meeting.kind}补学", body=body, org_id=meeting.org_id, at=now,
                           now=now, audience=select(Member.id).where(Member.id.in_(member_ids)))
    return len(member_ids)
