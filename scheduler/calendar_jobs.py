"""The calendar's recurring pushes as jobs: each a cron trigger and a body that enqueues campaigns.

A body only writes to the database (campaigns, deliveries, check-ins), inside the transaction that
records the job's run, and every campaign has a key made from the day: running a job twice, from two
replicas or by hand, never sends anything twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.calendar import Calendar
from bot.services import Services
from scheduler import meetings, oversight, pushes

ABSENCE_NOTICE_AT = time(20, 0)  # daily, after the day's meetings have closed (学分卡: rules.toml)
Body = Callable[[Services, AsyncSession, datetime], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class CalendarJob:
    name: str
    description: str
    trigger: CronTrigger
    body: Body

    def fire_times(self, since: datetime, until: datetime) -> list[datetime]:
        """Every time the job was due in (since, until]."""
        times: list[datetime] = []
        fire = self.trigger.get_next_fire_time(None, since + timedelta(microseconds=1))
        while fire is not None and fire <= until:
            times.append(fire)
            fire = self.trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        return times

    def next_fire(self, now: datetime) -> datetime | None:
        fire: datetime | None = self.trigger.get_next_fire_time(None, now)
        return fire


def calendar_jobs(calendar: Calendar, tz: ZoneInfo, meeting_reminder: time) -> list[CalendarJob]:
    """The jobs `content/calendar.toml` asks for (and the meetings' reminder, from rules.toml), in the configured
    time zone."""
    theme = calendar.theme_day
    eve = str(theme.day - 1) if theme.day > 1 else "last"
    jobs = [
        CalendarJob("daily_lesson", "每日微党课", _daily(calendar.lesson_time.hour, calendar.lesson_time.minute, tz),
                    pushes.daily_lesson),
        CalendarJob("theme_day_reminder", "主题党日前一天提醒",
                    CronTrigger(day=eve, hour=theme.reminder.hour, minute=theme.reminder.minute, timezone=tz),
                    pushes.theme_day_reminder),
        CalendarJob("theme_day", "主题党日通知并开启签到",
                    CronTrigger(day=theme.day, hour=theme.notice.hour, minute=theme.notice.minute, timezone=tz),
                    pushes.theme_day),
        CalendarJob("meeting_reminders", "会议前一天提醒", _daily(meeting_reminder.hour, meeting_reminder.minute, tz),
                    meetings.remind_tomorrow),
        CalendarJob("star_review", "季度初生成上季度摘星授星建议",
                    CronTrigger(month="1,4,7,10", day=1, hour=calendar.star_review_time.hour,
                                minute=calendar.star_review_time.minute, timezone=tz),
                    pushes.star_review),
        CalendarJob("service_star", "每月1日公布上月服务之星",
                    CronTrigger(day=1, hour=calendar.service_star_time.hour,
                                minute=calendar.service_star_time.minute, timezone=tz),
                    pushes.service_star),
        CalendarJob("oversight_reminder", "每月20日、26日督办提醒（红黄的组织告诉其书记）",
                    CronTrigger(day=oversight.DAYS, hour=oversight.TIME[0], minute=oversight.TIME[1], timezone=tz),
                    oversight.oversight_reminder),
    ]
    jobs.append(CalendarJob("absence_notice", "无故缺席超过规定次数的党员告知支部书记",
                            _daily(ABSENCE_NOTICE_AT.hour, ABSENCE_NOTICE_AT.minute, tz), pushes.absence_notice))
    for day in calendar.recurring:
        jobs.append(CalendarJob(f"recurring_{day.id}", day.name,
                                CronTrigger(day=day.day, hour=day.time.hour, minute=day.time.minute, timezone=tz),
                                partial(pushes.recurring_day, day)))
    if calendar.birthdays:
        jobs.append(CalendarJob("political_birthdays", "政治生日贺卡",
                                _daily(calendar.birthday_time.hour, calendar.birthday_time.minute, tz),
                                pushes.political_birthdays))
    return jobs


def _daily(hour: int, minute: int, tz: ZoneInfo) -> CronTrigger:
    return CronTrigger(hour=hour, minute=minute, timezone=tz)
