"""The delivery worker: claims due rows of the ledger, sends them through WeChat, records what happened.

Each row moves new → claimed → sending → sent, and each step is committed before the next, so a
restart resumes exactly: claimed rows nobody attempted go back to the queue, and the only row that
can be in doubt is one a crash caught mid-send (it is failed and shown, never resent blindly).
A graceful stop lets the send in flight finish and hands the rest of its batch back.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.db import SessionMaker, transaction
from bot.models import DeliveryStatus as S
from bot.outbound import Clock
from bot.replies import split_text
from bot.repo import campaigns, inbound, lessons
from bot.wechat.client import NOT_FOLLOWING, WINDOW_CLOSED, QuotaExceeded, WeChatClient, WeChatError

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)
LEASE = timedelta(minutes=5)  # a claimed or sending row older than this belongs to a dead worker
MAX_ATTEMPTS = 3
NOTICE_KINDS = {"notice", "themeday", "reminder"}


@dataclass
class DeliveryWorker:
    """Sends what is due; several may run at once, in one process or many."""

    sessionmaker: SessionMaker
    client: WeChatClient
    clock: Clock
    template_id: str = ""
    template_fields: tuple[tuple[str, str], ...] = (("title", "title"), ("content", "content"))
    batch: int = 50
    retry_after: timedelta = timedelta(minutes=2)

    async def drain(self) -> int:
        """Deliver until nothing is due; the number of rows handled."""
        handled = 0
        while ids := await self._claim():
            await self._work(ids)
            handled += len(ids)
        return handled

    async def recover(self) -> None:
        """Requeue the rows a dead worker had claimed and fail the ones it was sending, once their lease ran out."""
        async with transaction(self.sessionmaker) as session:
            requeued, interrupted = await campaigns.recover(session, before=self.clock() - LEASE)
        if requeued or interrupted:
            log.warning("recovered deliveries: %d requeued, %d interrupted mid-send", requeued, interrupted)

    async def _claim(self) -> list[int]:
        async with transaction(self.sessionmaker) as session:
            return await campaigns.claim(session, now=self.clock(), limit=self.batch)

    async def _work(self, ids: list[int]) -> None:
        async with self.sessionmaker() as session:
            items = await campaigns.items(session, delivery_ids=ids)
            window = await inbound.messaged_since(session, openids=[i.openid for i in items],
                                                  since=self.clock() - WINDOW)
        paused: set[int] = set()
        for n, item in enumerate(items):
            if item.campaign_id in paused:
                await self._release([item.delivery_id])
                continue
            task = asyncio.ensure_future(self._deliver(item, item.openid in window))
            try:
                if not await asyncio.shield(task):
                    paused.add(item.campaign_id)
            except asyncio.CancelledError:
                await self._release([i.delivery_id for i in items[n + 1:]])
                await task
                raise

    async def _deliver(self, item: campaigns.Item, window_open: bool) -> bool:
        """Send one row and record the outcome; False when the campaign had to pause (quota)."""
        if not window_open and not (self.template_id and item.kind in NOTICE_KINDS):
            await self._mark(item, S.WAITING, error="48小时窗口已关闭，等待成员下次发消息")
            return True
        await self._mark(item, S.SENDING)
        try:
            if window_open:
                await self._send_pieces(item)
            else:
                await self.client.send_template(item.openid, self.template_id, self._template_data(item))
        except QuotaExceeded as exc:
            await self._pause(item, str(exc))
            return False
        except WeChatError as exc:
            await self._failed(item, exc)
            return True
        await self._mark(item, S.SENT)
        return True

    def _template_data(self, item: campaigns.Item) -> dict[str, str]:
        """The template's fields filled from the notice, as `wechat_template_fields` maps them."""
        values = {"title": item.title, "content": item.body[:200], "date": f"{self.clock():%Y-%m-%d %H:%M}"}
        return {field: values[source] for field, source in self.template_fields}

    async def _send_pieces(self, item: campaigns.Item) -> None:
        """A long text goes as several messages; once the first is out, a later failure is noted, not retried."""
        first, *rest = split_text(item.body)
        await self.client.send_text(item.openid, first)
        for number, piece in enumerate(rest, start=2):
            try:
                await self.client.send_text(item.openid, piece)
            except WeChatError as exc:
                log.warning("delivery %d: part %d of %d not sent: %s", item.delivery_id, number, len(rest) + 1, exc)
                return

    async def _failed(self, item: campaigns.Item, exc: WeChatError) -> None:
        if exc.code in WINDOW_CLOSED:
            await self._mark(item, S.WAITING, error=str(exc))
        elif exc.code == NOT_FOLLOWING or item.attempts + 1 >= MAX_ATTEMPTS:
            await self._mark(item, S.FAILED, error=str(exc)[:200])
        else:
            await self._mark(item, S.NEW, error=str(exc)[:200],
                             retry_at=self.clock() + self.retry_after * 2 ** item.attempts)

    async def _pause(self, item: campaigns.Item, reason: str) -> None:
        """45009: nothing more goes out for this campaign today; it resumes at midnight by itself."""
        now = self.clock()
        tomorrow = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
        async with transaction(self.sessionmaker) as session:
            await campaigns.mark(session, delivery_id=item.delivery_id, status=S.NEW, now=now,
                                 error="今日接口额度已用完，明日继续")
            await campaigns.pause(session, campaign_id=item.campaign_id, until=tomorrow,
                                  reason=f"今日接口额度已用完（{reason}），{tomorrow:%m月%d日 %H:%M} 后继续发送")
        log.warning("campaign %d paused until %s: WeChat quota reached", item.campaign_id, tomorrow)

    async def _mark(self, item: campaigns.Item, status: S, *, error: str | None = None,
                    retry_at: datetime | None = None) -> None:
        async with transaction(self.sessionmaker) as session:
            await campaigns.mark(session, delivery_id=item.delivery_id, status=status, now=self.clock(),
                                 error=error, retry_at=retry_at)
            if status == S.SENT and item.kind == "lesson" and item.ref:
                await lessons.record_view(session, member_id=item.member_id, lesson_id=item.ref, now=self.clock())

    async def _release(self, ids: list[int]) -> None:
        async with transaction(self.sessionmaker) as session:
            await campaigns.release(session, delivery_ids=ids)
