"""督办 reminders: on the 20th and the 26th, each red or yellow organisation's own secretaries (never members) are
told each reason once per (organisation, month, reason), through the delivery ledger.

The 20th looks at the month under way, while there is still time to hold a 党小组's meeting or record minutes.
The 26th looks at it again (new overdue minutes) and, the 25th's deadline having passed, at next month's
主题党日 plan. Campaign keys carry the organisation, month and reason, so a rerun or a second replica tells
nobody twice, and a reason told on the 26th for next month is not told again on that month's 20th.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.dispatch import SECRETARY_ROLES
from bot.life.oversight import Standing, reason, survey
from bot.repo import campaigns, orgs
from bot.rules.oversight import PLAN_BY_DAY, Finding, Reason
from bot.rules.periods import Period, month_of
from bot.services import Services
from bot.storage.models import Member, Organisation

DAYS = "20,26"  # the days of the month the reminders run, at TIME
TIME = (9, 0)


async def oversight_reminder(services: Services, session: AsyncSession, at: datetime) -> str:
    """Tell the secretaries of each red or yellow organisation what is wrong, each reason once."""
    tz = services.settings.timezone
    today = at.astimezone(tz).date()
    month = month_of(today)
    checks: list[tuple[Period, Callable[[Finding], bool]]] = [(month, lambda f: True)]
    if today.day > PLAN_BY_DAY:  # next month's 主题党日 plan is now overdue
        checks.append((month_of(month.end), lambda f: f.reason == Reason.NO_PLAN))
    everything = list(await session.scalars(select(Organisation.id)))
    told = 0
    for checked, wanted in checks:
        for standing in await survey(session, org_ids=everything, month=checked, now=at, tz=tz):
            findings = [f for f in standing.verdict.findings if wanted(f)]
            told += await _tell(services, session, at, checked, standing, findings) if findings else 0
    return f"oversight {month.start:%Y-%m}: {told} reminders"


async def _tell(services: Services, session: AsyncSession, at: datetime, month: Period, standing: Standing,
                findings: list[Finding]) -> int:
    """A reminder per finding to the organisation's own secretaries, unless one was queued before; how many new."""
    secretaries = select(Member.id).where(
        Member.org_id.in_(await orgs.up_to_branch(session, org_id=standing.org_id)), Member.role.in_(SECRETARY_ROLES))
    told = 0
    for finding in findings:
        body = services.content.render("oversight_reminder", org=standing.path, month=month.start,
                                       colour=standing.verdict.colour.value,
                                       reason=reason(services.content, finding, month))
        created = await campaigns.create(
            session, key=f"oversight:{standing.org_id}:{month.start:%Y-%m}:{finding.key}", kind="reminder",
            title="督办提醒", body=body, org_id=standing.org_id, audience=secretaries, at=at, now=services.clock())
        told += created is not None
    return told
