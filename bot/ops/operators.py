"""Operator commands: campaigns list/show, jobs list/run, content preview, menu push, reports, the 台账, 督办, audit
trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.content import load_content
from bot.conversation.routing import Router
from bot.life.oversight import survey, view
from bot.pushes.outbound import SandboxOutbox
from bot.repo import audit, campaigns, ledger, members, orgs
from bot.reports.ledger import MeetingRecord
from bot.reports.report import Report
from bot.reports.report import build as build_report
from bot.rules.periods import Period
from bot.services import Services
from bot.storage.db import open_database
from bot.storage.models import DeliveryStatus as S
from bot.storage.models import Role
from bot.wechat.client import build_client
from scheduler import runner

COLUMNS = (S.SENT, S.READ, S.WAITING, S.TEMPLATED, S.FAILED, S.UNCERTAIN, S.NEW, S.PAUSED, S.CLAIMED, S.SENDING,
           S.MISSED)


@asynccontextmanager
async def offline_services(settings: Settings, now: datetime) -> AsyncIterator[Services]:
    """What a job needs outside the server; it only writes to the ledger, the server's workers send."""
    async with open_database(settings.database_url) as sessionmaker:
        clock = lambda: now
        yield Services(settings=settings, sessionmaker=sessionmaker, content=load_content(settings.content_dir),
                       outbound=SandboxOutbox(sessionmaker, clock), router=Router(), clock=clock)


async def campaigns_list(settings: Settings) -> list[str]:
    """The latest campaigns, one line each with their delivery counts."""
    async with open_database(settings.database_url) as sessionmaker, sessionmaker() as session:
        lines = ["id\tkind\tscheduled\ttitle\t" + "\t".join(COLUMNS)]
        for campaign in await campaigns.recent(session):
            counts = await campaigns.counts(session, campaign_id=campaign.id)
            when = local_time(campaign.scheduled_at, settings)
            lines.append(f"{campaign.id}\t{campaign.kind}\t{when}\t{campaign.title}\t"
                         + "\t".join(str(counts[c]) for c in COLUMNS))
    return lines


async def campaigns_show(settings: Settings, campaign_id: int) -> list[str] | None:
    """One campaign: its counts, any pause, and every member it was not pushed to (waiting, failed, uncertain, or
    read with `通知` after failing) with the reason."""
    async with open_database(settings.database_url) as sessionmaker, sessionmaker() as session:
        campaign = await campaigns.get(session, campaign_id=campaign_id)
        if campaign is None:
            return None
        counts = await campaigns.counts(session, campaign_id=campaign_id)
        problems = await campaigns.failures(session, campaign_id=campaign_id)
    lines = [f"campaign {campaign.id}: {campaign.title} ({campaign.kind}, key {campaign.key})",
             "  " + ", ".join(f"{c} {counts[c]}" for c in COLUMNS)]
    if campaign.pause_reason:
        lines.append(f"  paused: {campaign.pause_reason}")
    lines += [f"  {name}\t{status}\t{error or ''}" for name, status, error in problems]
    if counts[S.UNCERTAIN]:
        lines.append(f"  uncertain: may have arrived, so never resent by itself; `palmbot campaigns retry "
                     f"{campaign.id} --uncertain NAME` resends to a member known to have gone without")
    return lines


async def campaigns_retry(settings: Settings, campaign_id: int, uncertain: list[str]) -> int:
    """Queue a campaign's failed deliveries again, and the uncertain ones of the members named; the running
    server's workers send them."""
    async with open_database(settings.database_url) as sessionmaker, sessionmaker.begin() as session:
        return await campaigns.retry_failed(session, campaign_id=campaign_id, now=datetime.now(settings.timezone),
                                            uncertain=uncertain)


async def jobs_list(settings: Settings, now: datetime) -> list[str]:
    """Each calendar job with its next run and its last recorded one."""
    async with offline_services(settings, now) as services:
        runs = await runner.last_runs(services)
        lines = []
        for job in runner.jobs_of(services):
            upcoming = job.next_fire(now)
            previous = runs.get(job.name)
            last = f"{local_time(previous[0], settings)} {previous[1]}" if previous else "-"
            lines.append(f"{job.name}\t{job.description}\tnext {local_time(upcoming, settings)}\tlast {last}")
    return lines


async def jobs_run(settings: Settings, name: str, at: datetime) -> str | None:
    """Run one job now as if at `at`; campaign keys make a second run top up, never resend."""
    async with offline_services(settings, at) as services:
        job = runner.find_job(services, name)
        if job is None:
            return None
        return await runner.run(services, job, at, again=True)


def local_time(moment: datetime | None, settings: Settings) -> str:
    """An operator's time: in the configured zone, with its offset (`2026-11-15 08:00 +0800`); "-" for none."""
    return moment.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M %z") if moment else "-"


def content_preview(settings: Settings, lesson_id: str, language: str) -> list[str] | None:
    """A lesson exactly as a member receives it (a news card first when it has an image), message by message with
    byte counts; None if no such id."""
    content = load_content(settings.content_dir)
    lesson = content.lesson(lesson_id)
    if lesson is None:
        return None
    version = lesson.in_language(language)
    messages = content.lesson_messages(version)
    lines = [f"--- a news card first: 微党课：{version.title}, picture {version.image}, opens {version.link or '-'} ---"
             ] if version.image else []
    for number, text in enumerate(messages, start=1):
        lines += [f"--- message {number}/{len(messages)}, {len(text.encode())} bytes ---", text]
    return lines


async def menu_push(settings: Settings) -> int:
    """Send content/menu.toml to WeChat (the fake API in the sandbox); how many top buttons it has."""
    content = load_content(settings.content_dir)
    menu = content.menu.wechat()
    async with open_database(settings.database_url) as sessionmaker, aiohttp.ClientSession() as http:
        client = build_client(settings, sessionmaker, lambda: datetime.now(settings.timezone), http)
        await client.create_menu(menu)
    return len(content.menu.buttons)


async def report(settings: Settings, org_path: str, period: Period, today: date) -> Report:
    """An organisation's report for a calendar quarter or year; OrgLookupError when the path names none or
    several."""
    content = load_content(settings.content_dir)
    async with open_database(settings.database_url) as sessionmaker, sessionmaker() as session:
        org = await orgs.resolve(session, path=org_path)
        return await build_report(session, org_id=org.id, period=period, rules=content.rules,
                                  tz=settings.timezone, today=today)


async def ledger_year(settings: Settings, org_path: str, year: Period) -> tuple[str, list[MeetingRecord]]:
    """An organisation's full path and the meetings of its subtree in `year`; OrgLookupError for a bad path."""
    async with open_database(settings.database_url) as sessionmaker, sessionmaker() as session:
        org = await orgs.resolve(session, path=org_path)
        return org.path, await ledger.subtree_meetings(session, org_id=org.id, period=year, tz=settings.timezone)


async def oversight_view(settings: Settings, org_path: str, month: Period, now: datetime) -> str:
    """督办 for an organisation's subtree, exactly as a secretary of it reads it in chat."""
    content = load_content(settings.content_dir)
    async with open_database(settings.database_url) as sessionmaker, sessionmaker() as session:
        org = await orgs.resolve(session, path=org_path)
        standings = await survey(session, org_ids=await orgs.subtree(session, org_id=org.id), month=month, now=now,
                                 tz=settings.timezone)
    return view(content, standings, month, org.path)


async def audit_trail(settings: Settings, org_path: str | None) -> list[str]:
    """The audit trail, tab-separated, of one organisation's subtree or of all; OrgLookupError for a bad path."""
    async with open_database(settings.database_url) as sessionmaker, sessionmaker() as session:
        rows = await audit.entries(session, org_ids=await _scope(session, org_path))
    return [f"{local_time(at, settings)}\t{org or ''}\t{actor or '系统'}\t{member or ''}\t{action}\t"
            f"{subject}\t{detail}" for at, org, actor, member, action, subject, detail in rows]


async def members_list(settings: Settings, org_path: str | None) -> list[str]:
    """The roster (of one organisation's subtree, or all), tab-separated; OrgLookupError for a bad path."""
    async with open_database(settings.database_url) as sessionmaker, sessionmaker() as session:
        rows = await members.roster(session, org_ids=await _scope(session, org_path))
    return [f"{org}\t{m.name}\t{m.phone}\t{m.role}\t{m.joined_on or ''}\t{'已绑定' if m.openid else '未绑定'}"
            for m, org in rows]


async def members_unbind(settings: Settings, phone: str) -> str | None:
    """Unlink the WeChat account of the member with this phone (audited); what happened, or None: no such member."""
    async with open_database(settings.database_url) as sessionmaker, sessionmaker.begin() as session:
        member = await members.by_phone(session, phone=phone)
        if member is None:
            return None
        done = await members.release(session, member=member, actor_id=None, now=datetime.now(settings.timezone))
        return f"{member.name} ({phone}): " + ("unbound; they may bind again" if done else "was not bound")


async def members_move(settings: Settings, phone: str, to_path: str) -> str | None:
    """Move the member with this phone to the organisation `to_path` names, keeping their ledger, stars, claims
    and history (audited); what happened, or None: no such member. OrgLookupError for a bad path."""
    async with open_database(settings.database_url) as sessionmaker, sessionmaker.begin() as session:
        member = await members.by_phone(session, phone=phone)
        if member is None:
            return None
        org = await orgs.resolve(session, path=to_path)
        done = await members.move(session, member=member, org_id=org.id, actor_id=None,
                                  now=datetime.now(settings.timezone))
        role = "" if member.role == Role.MEMBER else f"; still {member.role}, now of {org.path}"
        return f"{member.name} ({phone}): " + (f"moved to {org.path}{role}" if done else f"already in {org.path}")


async def _scope(session: AsyncSession, org_path: str | None) -> list[int] | None:
    """The ids of the subtree an operator's `--org` names (None: everything); OrgLookupError for a bad path."""
    if org_path is None:
        return None
    return await orgs.subtree(session, org_id=(await orgs.resolve(session, path=org_path)).id)
