"""Meetings on their own: the eve's reminder (a calendar job), and a step every 30 seconds that opens the
check-ins of meetings that have started and closes those that have ended.

The step may run on every replica at once: a check-in is opened once per meeting (its activity key
`meeting:{id}`), a meeting is closed by the one run whose conditional update sets `closed_at`, and every push has
a unique key, so nothing is sent twice.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.life import meetings as life
from bot.repo import meetings
from bot.services import Services


async def step(services: Services) -> list[str]:
    """Open the check-ins of meetings under way and close those that have ended; what was done."""
    now, tz, content = services.clock(), services.settings.timezone, services.content
    done: list[str] = []
    async with services.sessionmaker.begin() as session:
        for meeting in await meetings.due_to_open(session, now=now):
            await life.open_check_in(session, content, tz, meeting, now)
            done.append(f"opened {meeting.id}")
    async with services.sessionmaker() as session:
        due = await meetings.due_to_close(session, now=now)
    for meeting_id in due:
        async with services.sessionmaker.begin() as session:
            if await life.close(session, content, tz, meeting_id, now):
                done.append(f"closed {meeting_id}")
    return done


async def remind_tomorrow(services: Services, session: AsyncSession, at: datetime) -> str:
    """The evening before: each meeting starting tomorrow (local) reminds its audience, once."""
    tz = services.settings.timezone
    tomorrow = at.astimezone(tz).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(), tz)
    found = await meetings.starting_between(session, start=start, end=start + timedelta(days=1))
    for meeting in found:
        await life.remind(session, services.content, tz, meeting, at)
    return f"reminders for {tomorrow}: {len(found)} meetings"
