"""The delivery worker: claims due rows of the ledger, sends them through WeChat, records what happened.

Each row moves new → claimed → sending → sent, each step committed before the next and each
conditional on the row's status and its lease owner, so a row taken back from a worker is never sent
by two. A worker renews its lease on the rows it holds while it drains (every third of `lease`), so a
slow WeChat never makes its rows look abandoned; a dead worker's rows are taken back once the lease
runs out: claimed rows go back to the queue, and a row caught mid-send becomes uncertain (it may have
arrived), never resent by itself, readable with `通知`. What a failed send leads to is the error
taxonomy's (bot/wechat/errors.py). A graceful stop lets the send in flight finish and hands the rest
of its batch back. A campaign that meets the daily quota (45009) pauses until midnight: its unsent rows
are paused, readable with `通知` meanwhile, and whichever are still unread go back to the queue then.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.message.replies import split_text
from bot.pushes.outbound import Clock
from bot.repo import campaigns, inbound, lessons
from bot.storage.db import SessionMaker, transaction
from bot.storage.models import DeliveryStatus as S
from bot.wechat import templates
from bot.wechat.client import WeChatClient
from bot.wechat.errors import Action, QuotaExceeded, WeChatError

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)
LEASE = timedelta(seconds=45)  # a row whose lease nobody renewed for this long belongs to a dead worker
NOTICE_KINDS = {"notice", "themeday", "reminder"}
CARD_DESCRIPTION = 54  # characters of a lesson's opening shown under its news card's title
WINDOW_CLOSED = "48小时窗口已关闭，等待成员下次发消息"


class PartlySent(Exception):
    """A message in pieces whose first pieces arrived and a later one did not (say, 45047 after five)."""


@dataclass
class DeliveryWorker:
    """Sends what is due; several may run at once, in one process or many, each under its own lease owner."""

    sessionmaker: SessionMaker
    client: WeChatClient
    clock: Clock
    template_id: str = ""
    template_fields: tuple[tuple[str, str], ...] = templates.DEFAULT_FIELDS
    batch: int = 50
    retry_after: timedelta = timedelta(minutes=2)
    lease: timedelta = LEASE
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    _draining: int = field(default=0, init=False, repr=False)
    _renewer: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def drain(self) -> int:
        """Deliver until nothing is due, renewing the lease meanwhile; the number of rows handled."""
        handled = 0
        async with self._leased():
            while ids := await self._claim():
                await self._work(ids)
                handled += len(ids)
        return handled

    async def settle_pauses(self) -> None:
        """Pause what was queued meanwhile in a paused campaign, and queue again the paused rows whose
        pause is over (`campaigns.settle_pauses`); a delivery round starts with it."""
        async with transaction(self.sessionmaker) as session:
            paused, resumed = await campaigns.settle_pauses(session, now=self.clock())
        if paused or resumed:
            log.info("paused deliveries: %d more paused, %d queued again (pause over)", paused, resumed)

    async def recover(self) -> None:
        """Take back the rows of workers whose lease ran out: claimed ones are requeued, one mid-send is uncertain."""
        async with transaction(self.sessionmaker) as session:
            requeued, uncertain = await campaigns.recover(session, before=self.clock() - self.lease)
        if requeued or uncertain:
            log.warning("recovered deliveries: %d requeued, %d uncertain (interrupted mid-send)", requeued, uncertain)

    @asynccontextmanager
    async def _leased(self) -> AsyncIterator[None]:
        """Renew the lease on this worker's rows while any of its drains runs."""
        self._draining += 1
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_forever())
        try:
            yield
        finally:
            self._draining -= 1
            if not self._draining and self._renewer is not None:
                renewer, self._renewer = self._renewer, None
                renewer.cancel()
                await asyncio.gather(renewer, return_exceptions=True)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with transaction(self.sessionmaker) as session:
                    await campaigns.renew(session, owner=self.owner, now=self.clock())
            except Exception:
                log.exception("could not renew the delivery lease of %s", self.owner)

    async def _claim(self) -> list[int]:
        async with transaction(self.sessionmaker) as session:
            return await campaigns.claim(session, owner=self.owner, now=self.clock(), limit=self.batch)

    async def _work(self, ids: list[int]) -> None:
        """Deliver a claimed batch in order; whatever stops it early (a stop, a pause) hands the rest back.

        A row's outcome is recorded in the same transaction that marks the next row `sending` (or hands the
        rest back), so a row costs one commit, not two, and still no row is sent before it is marked `sending`
        nor left unrecorded once sent, except by a crash, which makes it uncertain.
        """
        async with self.sessionmaker() as session:
            items = await campaigns.items(session, delivery_ids=ids)
            window = await inbound.messaged_since(session, openids=[i.openid for i in items],
                                                  since=self.clock() - WINDOW)
        paused: set[int] = set()
        settled: list[Outcome] = []  # outcomes not yet recorded
        try:
            for item in items:
                if item.campaign_id in paused:
                    continue
                task = asyncio.ensure_future(self._deliver(item, item.openid in window, settled))
                try:
                    outcome = await asyncio.shield(task)
                except asyncio.CancelledError:
                    if (outcome := await task) is not None:
                        settled.append(outcome)
                    raise
                if outcome is _PAUSED:
                    paused.add(item.campaign_id)
                elif outcome is not None:
                    settled.append(outcome)
        finally:
            async with transaction(self.sessionmaker) as session:
                await self._record(session, settled)
                await campaigns.release(session, owner=self.owner, delivery_ids=ids)
                await campaigns.pause_queued(session, campaign_ids=sorted(paused))  # readable with `通知`

    async def _deliver(self, item: campaigns.Item, window_open: bool, settled: list[Outcome]) -> Outcome | None:
        """Send one row; its outcome to record, None when it was taken back, `_PAUSED` when its campaign had to
        pause (quota). Marking it `sending` records `settled` in the same transaction, and empties it once committed."""
        if not window_open and not self._templated(item):
            return Outcome(item, S.WAITING, WINDOW_CLOSED)
        await self.client.reserve()  # its turn under the send rate first: `sending` then means under way
        async with transaction(self.sessionmaker) as session:
            moved = await self._record(session, [*settled, Outcome(item, S.SENDING)])
        settled.clear()  # committed
        if not moved[-1]:
            return None  # taken back meanwhile: no longer this worker's to send
        try:
            sent = await self._send(item, window_open)
        except QuotaExceeded as exc:
            await self._pause(item, str(exc))
            return _PAUSED
        except PartlySent as exc:  # the first pieces arrived: never resent, the whole text stays readable
            return Outcome(item, S.UNCERTAIN, str(exc)[:200])
        except WeChatError as exc:
            return self._failed(item, exc)
        except Exception:
            async with transaction(self.sessionmaker) as session:
                await self._record(session, [Outcome(item, S.UNCERTAIN, "发送出错：可能已送达，不再自动重发")])
            raise
        return Outcome(item, sent)

    def _templated(self, item: campaigns.Item) -> bool:
        """Notices may go as template messages when the account has one configured (never lessons)."""
        return bool(self.template_id) and item.kind in NOTICE_KINDS

    async def _send(self, item: campaigns.Item, window_open: bool) -> S:
        """Customer-service messages inside the window; the template outside it, or when WeChat says it is closed
        (a template carries a summary cut to its fields, so the full text stays readable with `通知`)."""
        if window_open:
            try:
                await self._send_pieces(item)
                return S.SENT
            except WeChatError as exc:
                if exc.rule.action is not Action.WINDOW or not self._templated(item):
                    raise
        data = templates.fill(self.template_fields, title=item.title, content=item.body, at=self.clock())
        await self.client.send_template(item.openid, self.template_id, data,
                                        client_msg_id=f"palmbot-{item.delivery_id}")
        return S.TEMPLATED

    async def _send_pieces(self, item: campaigns.Item) -> None:
        """A lesson's news card (when it has an image), then the text in pieces; once the first message is out, a
        later failure is noted, not retried (a card and four pieces fit in the five messages WeChat allows)."""
        pieces = split_text(item.body)
        sends = [partial(self.client.send_text, item.openid, piece) for piece in pieces]
        if item.image:
            sends.insert(0, partial(self.client.send_news, item.openid, item.title,
                                    _opening(pieces[0], item.title), item.link or "", item.image))
        first, *rest = sends
        await first()
        for number, send in enumerate(rest, start=2):
            try:
                await send()
            except WeChatError as exc:
                log.warning("delivery %d: message %d of %d not sent: %s", item.delivery_id, number, len(sends), exc)
                raise PartlySent(f"只送达前 {number - 1} 条，其余未送达（{exc}）：全文可用「通知」阅读") from exc

    def _failed(self, item: campaigns.Item, exc: WeChatError) -> Outcome:
        """What the taxonomy says: wait for the window, stop for good, or try the row again later."""
        rule = exc.rule
        if rule.action is Action.WINDOW:
            return Outcome(item, S.WAITING, f"{WINDOW_CLOSED}（{exc}）"[:200])
        if rule.action is Action.REFUSED:
            return Outcome(item, S.FAILED, f"微信拒收，不再重发：{exc}"[:200])
        if item.attempts + 1 >= rule.per_row:
            return Outcome(item, S.FAILED, f"{item.attempts + 1} 次发送均失败：{exc}"[:200])
        return Outcome(item, S.NEW, str(exc)[:200], self.clock() + self.retry_after * 2 ** item.attempts)

    async def _pause(self, item: campaigns.Item, reason: str) -> None:
        """45009, the daily quota (../shared/research/wechat-anchors.md: circuit-break until 00:00): nothing
        more goes out for this campaign today. Its unsent rows are paused, readable with `通知` meanwhile, and
        the first round after midnight queues again those still unread (`settle_pauses`)."""
        now = self.clock()
        tomorrow = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
        async with transaction(self.sessionmaker) as session:
            await self._record(session, [Outcome(item, S.PAUSED, "今日接口额度已用完，明日继续")])
            await campaigns.pause(session, campaign_id=item.campaign_id, until=tomorrow,
                                  reason=f"今日接口额度已用完（{reason}），{tomorrow:%m月%d日 %H:%M} 后继续发送")
        log.warning("campaign %d paused until %s: WeChat quota reached", item.campaign_id, tomorrow)

    async def _record(self, session: AsyncSession, outcomes: list[Outcome]) -> list[bool]:
        """Record outcomes in `session`'s transaction; whether each row was still this worker's. A
        lesson (or catch-up) sent is recorded as the member's latest, so `答 B` answers its quiz."""
        now = self.clock()
        moved = await campaigns.mark_all(session, owner=self.owner, now=now, moves=[
            campaigns.Move(o.item.delivery_id, o.status, o.error, o.retry_at) for o in outcomes])
        for outcome, done in zip(outcomes, moved, strict=True):
            item = outcome.item
            if done and outcome.status == S.SENT and item.kind in lessons.QUIZ_KINDS and item.ref:
                await lessons.record_view(session, member_id=item.member_id, lesson_id=item.ref, now=now)
            if not done:
                log.warning("delivery %d was no longer %s's to mark %s", item.delivery_id, self.owner, outcome.status)
        return moved


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a row goes next, with the reason shown in `campaigns show` and when to try again (back to `new`)."""

    item: campaigns.Item
    status: S
    error: str | None = None
    retry_at: datetime | None = None


_PAUSED = Outcome(cast(campaigns.Item, None), S.PAUSED)  # the row's campaign paused: `_pause` recorded it


def _opening(text: str, title: str) -> str:
    """A lesson's first paragraph after its title line, cut short, for its news card's description."""
    opening = next((line.strip() for line in text.splitlines()[1:] if line.strip()), title)
    return opening if len(opening) <= CARD_DESCRIPTION else opening[:CARD_DESCRIPTION - 1] + "…"
