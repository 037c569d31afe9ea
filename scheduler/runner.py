"""Running calendar jobs exactly once per fire time, catching up after downtime within the grace time.

A tick (every 30 s, and once on start) looks at each job's fire times in the last day. One within
the grace time that has not run yet runs now; an older one is recorded as missed and never sent
late. The job_runs table's unique (job, fire time) makes this hold across restarts and replicas.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import insert_once
from bot.services import Services
from bot.storage.models import JobRun
from scheduler.calendar_jobs import CalendarJob, calendar_jobs

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Outcome:
    job: str
    fire_at: datetime
    result: str  # what the body did, "missed", or "" when it had already run


def jobs_of(services: Services) -> list[CalendarJob]:
    content = services.content
    return calendar_jobs(content.calendar, services.settings.timezone, time.fromisoformat(content.rules.life.reminder))


def find_job(services: Services, name: str) -> CalendarJob | None:
    return next((job for job in jobs_of(services) if job.name == name), None)


async def tick(services: Services) -> list[Outcome]:
    """Run what is due and record what was missed; the outcomes of this tick."""
    now = services.clock()
    grace = timedelta(hours=services.settings.missed_grace_hours)
    outcomes = []
    for job in jobs_of(services):
        for fire_at in job.fire_times(now - max(LOOKBACK, grace), now):
            if now - fire_at <= grace:
                outcomes.append(Outcome(job.name, fire_at, await run(services, job, fire_at)))
            elif await _record_missed(services, job, fire_at, now):
                log.warning("job %s due at %s was missed by more than the grace time; not sent", job.name, fire_at)
                outcomes.append(Outcome(job.name, fire_at, "missed"))
    return [o for o in outcomes if o.result]


async def run(services: Services, job: CalendarJob, fire_at: datetime, *, again: bool = False) -> str:
    """Run the job for `fire_at` unless it already ran; `again` runs it anyway (campaign keys still dedupe).

    The run is recorded after the body, in its transaction, and the session takes its connection only
    when the body first uses it: a body that first hands long work to a worker thread (the star
    review) holds neither the pooled connection nor a SQLite write lock meanwhile. A replica that
    loses the race to record the run rolls its body's writes back.
    """
    if not again:
        async with services.sessionmaker() as check:
            if await _ran(check, job.name, fire_at):
                return ""
    async with services.sessionmaker() as session:
        try:
            result = await job.body(services, session, fire_at)
        except Exception:
            services.metrics.job_ran(job.name, "failed")
            raise
        first = await insert_once(session, JobRun, job=job.name, fire_at=fire_at, outcome="run",
                                  ran_at=services.clock())
        if not first and not again:
            await session.rollback()
            return ""
        await session.commit()
    services.metrics.job_ran(job.name, "run")
    log.info("job %s for %s: %s", job.name, fire_at, result)
    return result


async def _ran(session: AsyncSession, job: str, fire_at: datetime) -> bool:
    return await session.scalar(select(JobRun.id).where(JobRun.job == job, JobRun.fire_at == fire_at)) is not None


async def _record_missed(services: Services, job: CalendarJob, fire_at: datetime, now: datetime) -> bool:
    async with services.sessionmaker.begin() as session:
        missed = await insert_once(session, JobRun, job=job.name, fire_at=fire_at, outcome="missed", ran_at=now)
    if missed:
        services.metrics.job_ran(job.name, "missed")
    return missed


async def last_runs(services: Services) -> dict[str, tuple[datetime, str]]:
    """Each job's latest recorded fire time and outcome."""
    async with services.sessionmaker() as session:
        rows = await session.execute(select(JobRun.job, JobRun.fire_at, JobRun.outcome).order_by(JobRun.fire_at))
        return {job: (fire_at, outcome) for job, fire_at, outcome in rows}
