"""The in-process timer: APScheduler 3 with an in-memory store, jobs rebuilt on every start."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services import Services
from scheduler import jobs


def start_scheduler(services: Services) -> AsyncIOScheduler:
    """Register the recurring jobs in the configured time zone and start the timer."""
    scheduler = AsyncIOScheduler(timezone=services.settings.timezone)
    scheduler.add_job(
        jobs.purge_inbound, "cron", minute=17, args=[services], id="purge_inbound",
        replace_existing=True, coalesce=True, misfire_grace_time=3600,
    )
    scheduler.start()
    return scheduler
