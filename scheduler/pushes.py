"""What each calendar job enqueues: lessons, 主题党日 reminders and notices, birthday cards, star reviews."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import Select, and_, extract, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.calendar import RecurringDay
from bot.conversation.dispatch import SECRETARY_ROLES
from bot.life import meetings as life
from bot.life.star_review import propose
from bot.ops import offloop
from bot.repo import absences, campaigns, members, orgs, volunteer
from bot.roster.imports import CATEGORIES
from bot.rules import boards
from bot.rules.anniversaries import anniversary_days, party_years
from bot.rules.attendance import absences as unexcused
from bot.rules.attendance import needs_notice
from bot.rules.periods import month_of, previous_quarter, year_of
from bot.rules.volunteer import hours_of
from bot.services import Services
from bot.storage.models import Member, Organisation, OrgKind, Role, StarReview

log = logging.getLogger(__name__)
BOUND = select(Member.id).where(Member.openid.is_not(None))
EVERYONE = select(Member.id)


async def daily_lesson(services: Services, session: AsyncSession, at: datetime) -> str:
    """The day's micro-lesson to the bound members of its audience, in their language, worded as `微课` answers.

    A rerun (`jobs run`, a second replica) sends the lesson the day's campaigns already carry, even if the
    rotation has moved since, and only to members who have not had a lesson push that day; the summary
    names that lesson. A lesson with an image goes as a news card (opening its link) before the text.
    """
    content = services.content
    day = _local_day(services, at)
    sent = await campaigns.lesson_of(session, key_prefix=f"lesson:{day}:")
    lesson = (content.lesson(sent) if sent else None) or content.lesson_for(day)
    if lesson is None:
        return "no lesson for the day"
    try:
        audience = await _lesson_audience(session, lesson.audience)
    except orgs.OrgLookupError as exc:  # content cannot see the tree: the administrators are told, once
        log.warning("lesson %s not sent: its audience %s", lesson.id, exc)
        await campaigns.create(session, key=f"lesson-refused:{day}", kind="reminder", title="微党课未发送",
                               body=content.render("lesson_audience_refused", lesson=lesson, paths=exc.candidates),
                               audience=select(Member.id).where(Member.role == Role.ADMIN), at=at,
                               now=services.clock())
        return f"lesson {lesson.id} for {day} not sent: audience {exc}"
    audience = audience.where(Member.id.not_in(campaigns.members_in(key_prefix=f"lesson:{day}:")))
    translated = list(lesson.translations)
    for language in ["zh", *translated]:
        version = lesson.in_language(language)
        speakers = (Member.language.not_in(translated) if language == "zh" else Member.language == language)
        await campaigns.create(session, key=f"lesson:{day}:{language}", kind="lesson", ref=lesson.id,
                               title=f"微党课：{version.title}", body=content.lesson_text(version),
                               audience=audience.where(speakers), at=at, now=services.clock(),
                               image=lesson.image or None, link=lesson.link or None)
    return f"lesson {lesson.id} for {day}"


async def _lesson_audience(session: AsyncSession, audience: str) -> Select[int]:
    """Bound members a lesson is for: everyone, a category (在职, 流动…), or an organisation (a name or path
    naming exactly one; OrgLookupError otherwise) and those under it."""
    if audience == "all":
        return BOUND
    if audience in CATEGORIES:
        return BOUND.where(Member.category == audience)
    org = await orgs.resolve(session, path=audience)
    return BOUND.where(Member.org_id.in_(await orgs.subtree(session, org_id=org.id)))


async def theme_day_reminder(services: Services, session: AsyncSession, at: datetime) -> str:
    """The evening before 主题党日: every branch's theme day of the month (its secretary's plan, else the calendar's,
    planned now) reminds its members when it is tomorrow; a theme day planned for another day is reminded on its
    own eve by the meetings' reminder."""
    tz = services.settings.timezone
    day = _local_day(services, at) + timedelta(days=1)
    reminded = 0
    for unit in sorted(await _branch_units(session)):
        meeting = await life.theme_day(session, services.content, tz, org_id=unit, day=day, now=services.clock())
        if meeting.starts_at.astimezone(tz).date() == day:
            await life.remind(session, services.content, tz, meeting, at)
            reminded += 1
    return f"theme day reminders for {day}: {reminded} branches"


async def theme_day(services: Services, session: AsyncSession, at: datetime) -> str:
    """主题党日 itself: each 党支部 (its 党小组 included) whose theme day is today gets its notice with the time, place
    and topic; a theme day starting now (the calendar's) opens its check-in and the notice carries the code, one
    starting later (a secretary's plan) opens it at its start.

    Members of an organisation with no 党支部 above it (a 党总支's own members) meet as that organisation.
    """
    tz = services.settings.timezone
    day = _local_day(services, at)
    held = 0
    for unit, org_ids in sorted((await _branch_units(session)).items()):
        meeting = await life.theme_day(session, services.content, tz, org_id=unit, day=day, now=services.clock())
        if meeting.starts_at.astimezone(tz).date() != day:
            continue
        held += 1
        code = await life.open_check_in(session, services.content, tz, meeting, at) if meeting.starts_at <= at else None
        body = services.content.render("themeday_notice", meeting=await life.described(
            session, services.content, tz, meeting), code=code)
        await campaigns.create(session, key=f"themeday:{day}:{unit}", kind="themeday",
                               title=f"{day.month}月主题党日通知", body=body, org_id=unit,
                               audience=select(Member.id).where(Member.org_id.in_(org_ids)), at=at,
                               now=services.clock())
    return f"theme day {day}: {held} branches"


async def _branch_units(session: AsyncSession) -> dict[int, list[int]]:
    """The organisations with members, grouped by the 党支部 they meet in (orgs.branch_of)."""
    units: dict[int, list[int]] = {}
    for org_id in await session.scalars(select(Member.org_id).distinct()):
        units.setdefault(await orgs.branch_of(session, org_id=org_id), []).append(org_id)
    return units


async def political_birthdays(services: Services, session: AsyncSession, at: datetime) -> str:
    """A card to each member whose Party anniversary it is, and a note to the secretaries of their organisation
    up to its 党支部 (a 党小组 member's note reaches the branch secretary)."""
    today = _local_day(services, at)
    celebrants = [(m, years) for m, joined in await _joined_on_this_day(session, today)
                  if (years := party_years(joined, today)) > 0]
    for member, years in celebrants:
        body = services.content.render("birthday_card", name=member.name, joined_on=member.joined_on, years=years)
        await campaigns.create(session, key=f"birthday:{today}:{member.id}", kind="birthday", title="政治生日",
                               body=body, audience=select(Member.id).where(Member.id == member.id), at=at,
                               now=services.clock())
    for org_id in sorted({m.org_id for m, _ in celebrants}):
        names = [(m.name, years) for m, years in celebrants if m.org_id == org_id]
        await campaigns.create(
            session, key=f"birthday-note:{today}:{org_id}", kind="birthday_note", title="政治生日提醒",
            body=services.content.render("birthday_note", members=names), org_id=org_id, at=at, now=services.clock(),
            audience=await _branch_secretaries(session, org_id))
    return f"{len(celebrants)} political birthdays"


async def absence_notice(services: Services, session: AsyncSession, at: datetime) -> str:
    """Daily (学分卡, seed 002 L400): each member whose unexcused absences this year are more than
    `absences_before_notice` is noted to the secretaries of their organisation up to its 党支部, once a year
    (the campaign's key); never to the member, never to another branch."""
    life, day = services.content.rules.life, _local_day(services, at)
    start, end = year_of(day).bounds(services.settings.timezone)
    noted = 0
    for member_id, tally in sorted((await absences.tallies(session, start=start, end=end)).items()):
        count = unexcused(tally, life.late_per_absence)
        member = await session.get(Member, member_id)
        if member is None or not needs_notice(count, life.absences_before_notice):
            continue
        body = services.content.render("absence_note", name=member.name, year=day.year, count=count, tally=tally,
                                       late_per_absence=life.late_per_absence, most=life.absences_before_notice)
        created = await campaigns.create(
            session, key=f"absences:{day.year}:{member_id}", kind="absence_note", title="无故缺席提醒", body=body,
            org_id=member.org_id, at=at, now=services.clock(),
            audience=(await _branch_secretaries(session, member.org_id)).where(Member.id != member_id))
        noted += created is not None
    return f"absences {day.year}: {noted} members noted"


async def _branch_secretaries(session: AsyncSession, org_id: int) -> Select[int]:
    """The secretaries (and administrators) of an organisation and those above it up to its 党支部, as a query: a
    党小组 member's note reaches the branch secretary, never the 党总支 above."""
    up_to_branch = await orgs.up_to_branch(session, org_id=org_id)
    return select(Member.id).where(Member.org_id.in_(up_to_branch), Member.role.in_(SECRETARY_ROLES))


async def recurring_day(day: RecurringDay, services: Services, session: AsyncSession, at: datetime) -> str:
    """A monthly day from the calendar (三务公开日…): its message to everyone."""
    today = _local_day(services, at)
    created = await campaigns.create(session, key=f"recurring:{day.id}:{today}", kind="reminder", title=day.name,
                                     body=day.message, audience=EVERYONE, at=at, now=services.clock())
    return _summary(created, f"{day.name} {today}")


async def star_review(services: Services, session: AsyncSession, at: datetime) -> str:
    """Quarter start: propose every member's stars for the quarter just ended (摘星授星), off the serving loop,
    then ask the secretaries of the organisations whose reviews wait for them to review (`评星`)."""
    quarter = previous_quarter(_local_day(services, at))
    done = await offloop.in_thread(services.settings.database_url, partial(
        propose, content=services.content, tz=services.settings.timezone, quarter=quarter, now=services.clock()))
    waiting = await session.scalars(select(StarReview.org_id).where(StarReview.quarter == done.quarter,
                                                                    StarReview.confirmed_at.is_(None)))
    chains = {org for org_id in waiting for org in await orgs.chain_up(session, org_id=org_id)}
    if chains:
        await campaigns.create(
            session, key=f"star-review:{done.quarter}", kind="reminder", title=f"{done.quarter} 评星提醒",
            body=services.content.render("star_review_reminder", quarter=done.quarter), at=at, now=services.clock(),
            audience=select(Member.id).where(Member.role.in_(SECRETARY_ROLES), Member.org_id.in_(chains)))
    return (f"star review {done.quarter}: {done.reviews} reviews, {done.proposals} proposals, "
            f"{done.auto_confirmed} confirmed automatically")


async def service_star(services: Services, session: AsyncSession, at: datetime) -> str:
    """The 1st: each branch's 服务之星 of last month (most confirmed hours, the earlier confirmation on a tie)."""
    tz = services.settings.timezone
    month = month_of(_local_day(services, at) - timedelta(days=1))
    start, end = month.bounds(tz)
    named = 0
    for org_id in await session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.BRANCH)):
        branch = await orgs.subtree(session, org_id=org_id)
        star = boards.service_star(await volunteer.confirmed_in(session, org_ids=branch, start=start, end=end))
        if star is None:
            continue
        named += 1
        name = await members.name_of(session, member_id=star.member_id)
        body = services.content.render("service_star", name=name, month=month.start.month,
                                       hours=hours_of(star.minutes))
        await campaigns.create(session, key=f"service-star:{org_id}:{month.start:%Y-%m}", kind="board",
                               title=f"{month.start.month}月服务之星", body=body, org_id=org_id, at=at,
                               now=services.clock(), audience=select(Member.id).where(Member.org_id.in_(branch)))
    return f"service stars of {month.start:%Y-%m}: {named} branches"


async def _joined_on_this_day(session: AsyncSession, today: date) -> list[tuple[Member, date]]:
    """Members whose joining date has its anniversary today, with that date."""
    same_day = or_(*(and_(extract("month", Member.joined_on) == month, extract("day", Member.joined_on) == day)
                     for month, day in anniversary_days(today)))
    rows = await session.scalars(select(Member).where(Member.joined_on.is_not(None), same_day).order_by(Member.id))
    return [(m, m.joined_on) for m in rows if m.joined_on is not None]


def _local_day(services: Services, at: datetime) -> date:
    return at.astimezone(services.settings.timezone).date()


def _summary(created: int | None, what: str) -> str:
    return f"{what}: {'enqueued' if created else 'already enqueued'}"
