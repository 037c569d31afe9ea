"""The in-process timer: APScheduler 3 with an in-memory store, jobs rebuilt on every start."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services import Services
from scheduler import jobs, meetings, runner

TICK_SECONDS = 30


def start_scheduler(services: Services) -> AsyncIOScheduler:
    """Register the recurring jobs in the configured time zone and start the timer.

    The calendar tick runs at once on start (catching up after downtime), then every 30 seconds.
    """
    scheduler = AsyncIOScheduler(timezone=services.settings.timezone)
    scheduler.add_job(
        runner.tick, "interval", seconds=TICK_SECONDS, args=[services], id="calendar",
        next_run_time=services.clock(), replace_existing=True, coalesce=True, max_instances=1,
    )
    scheduler.add_job(
        meetings.step, "interval", seconds=TICK_SECONDS, args=[services], id="meetings",
        replace_existing=True, coalesce=True, max_instances=1,
    )
    scheduler.add_job(
        jobs.purge_inbound, "cron", minute=17, args=[services], id="purge_inbound",
        replace_existing=True, coalesce=True, misfire_grace_time=3600,
    )
    if services.wechat is not None:
        scheduler.add_job(
            jobs.keep_photos, "interval", seconds=TICK_SECONDS, args=[services], id="keep_photos",
            replace_existing=True, coalesce=True, max_instances=1,
        )
    if services.settings.database_url.startswith("sqlite"):
        scheduler.add_job(
            jobs.checkpoint_sqlite, "interval", seconds=10, args=[services], id="checkpoint_sqlite",
            replace_existing=True, coalesce=True, max_instances=1,
        )
    scheduler.start()
    return scheduler
