"""The delivery loop every process runs: send what is due, then tell secretaries how their notices went."""

from __future__ import annotations

import asyncio
import logging

from bot.repo import campaigns, members
from bot.services import Services

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
TASKS = 4  # concurrent senders per process: one waits on WeChat while another records its result


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
    """One round: drain the due rows, then report campaigns that finished; the rows handled."""
    worker = services.deliveries
    drained = await asyncio.gather(*(worker.drain() for _ in range(TASKS)), return_exceptions=True) if worker else []
    for failure in (d for d in drained if isinstance(d, BaseException)):  # one sender's fault stops no other
        log.error("a delivery sender stopped", exc_info=failure)
    await report_finished(services)
    return sum(d for d in drained if isinstance(d, int))


async def report_finished(services: Services) -> None:
    """Send each finished campaign's creator its delivery report, once."""
    async with services.sessionmaker.begin() as session:
        finished = await campaigns.finish_unreported(session, now=services.clock())
        reports = [(c, await campaigns.counts(session, campaign_id=c.id),
                    await members.openid_of(session, member_id=c.created_by or 0)) for c in finished]
    for campaign, counts, openid in reports:
        if openid:
            text = services.content.render("notice_report", campaign=campaign, counts=counts)
            try:
                await services.outbound.send_text(openid, text)
            except Exception:
                log.exception("could not send the report of campaign %d", campaign.id)
