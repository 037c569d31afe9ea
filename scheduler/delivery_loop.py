"""The delivery loop every process runs: send what is due, then tell secretaries how their notices went."""

from __future__ import annotations

import asyncio
import logging

from bot.repo import campaigns
from bot.services import Services

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
TASKS = 16  # concurrent senders per process: while some wait on WeChat (tens of ms a call), others record results


async def deliver_forever(services: Services) -> None:
    """Poll the ledger; each round first takes back rows a dead worker (here or on another replica) held."""
    worker = services.deliveries
    assert worker is not None
    while True:
        try:
            await worker.recover()
            await deliver_due(services)
        except Exception:
            log.exception("delivery round failed")
        await asyncio.sleep(POLL_SECONDS)


async def deliver_due(services: Services) -> int:
    """One round: settle paused campaigns' rows, drain the due rows, then report campaigns that finished; the
    rows handled."""
    if services.deliveries is not None:
        await services.deliveries.settle_pauses()
    handled = await _drain(services)
    if await report_finished(services):
        handled += await _drain(services)  # the reports just queued go out in the same round
    return handled


async def _drain(services: Services) -> int:
    worker = services.deliveries
    drained = await asyncio.gather(*(worker.drain() for _ in range(TASKS)), return_exceptions=True) if worker else []
    for failure in (d for d in drained if isinstance(d, BaseException)):  # one sender's fault stops no other
        log.error("a delivery sender stopped", exc_info=failure)
    return sum(d for d in drained if isinstance(d, int))


async def report_finished(services: Services) -> int:
    """Queue each finished campaign's delivery report for its creator, once, through the ledger (so a report
    WeChat refuses waits for `通知` like any push); how many were queued."""
    now = services.clock()
    async with services.sessionmaker.begin() as session:
        finished = [c for c in await campaigns.finish_unreported(session, now=now) if c.created_by]
        for campaign in finished:
            text = services.content.render("notice_report", campaign=campaign,
                                           tally=(await campaigns.tallies(session, campaign_ids=[campaign.id]))[campaign.id])
            await campaigns.personal(session, key=f"report:{campaign.id}", kind="report", title="通知发送报告",
                                     bodies={int(campaign.created_by or 0): text}, org_id=campaign.org_id, at=now,
                                     now=now)
    return len(finished)
