"""The delivery ledger through the fake WeChat API: exactly once, whatever WeChat or the process does."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.pushes.delivery import LEASE, DeliveryWorker
from bot.repo import campaigns
from bot.storage.db import SessionMaker
from bot.storage.models import Delivery, DeliveryStatus, InboundMessage, Member, Organisation
from bot.wechat.client import QuotaExceeded, WeChatClient, WeChatError
from bot.wechat.fake import FakeWeChat
from tests.conftest import Clock


async def branch_of(db: SessionMaker, clock: Clock, size: int, *, messaged: bool = True,
                    wechat: FakeWeChat | None = None) -> list[str]:
    """`size` bound members who (with `messaged`) wrote to the account an hour ago, as `wechat` saw too."""
    now = clock()
    async with db.begin() as session:
        org = Organisation(name="大村党支部", kind="党支部", path="大村党支部")
        session.add(org)
        await session.flush()
        openids = [f"o-member-{i:06d}" for i in range(size)]
        await session.execute(insert(Member), [
            {"name": f"党员{i}", "phone": f"137{i:08d}", "org_id": org.id, "role": "党员", "openid": o,
             "created_at": now} for i, o in enumerate(openids)])
        if messaged:
            await session.execute(insert(InboundMessage), [
                {"key": f"msg:{i}", "openid": o, "received_at": now - timedelta(hours=1)}
                for i, o in enumerate(openids)])
    for openid in openids if wechat and messaged else []:
        wechat.interaction(openid, now - timedelta(hours=1))
    return openids


async def lesson_campaign(db: SessionMaker, clock: Clock, key: str = "lesson:2026-11-16") -> int:
    async with db.begin() as session:
        campaign_id = await campaigns.create(
            session, key=key, kind="lesson", ref="001", title="微党课", body="今天的微党课……",
            audience=select(Member.id), at=clock(), now=clock())
    assert campaign_id is not None
    return campaign_id


async def statuses(db: SessionMaker, campaign_id: int) -> Counter[str]:
    async with db() as session:
        return await campaigns.counts(session, campaign_id=campaign_id)


def worker(db: SessionMaker, client: WeChatClient, clock: Clock) -> DeliveryWorker:
    return DeliveryWorker(db, client, clock, retry_after=timedelta(seconds=1))


async def test_a_thousand_members_get_the_lesson_exactly_once_through_busy_errors_and_a_revoked_token(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    openids = await branch_of(db, clock, 1000, wechat=wechat)
    campaign_id = await lesson_campaign(db, clock)
    wechat.busy_rate = 0.10
    await wechat_client.send_text(openids[0], "预热")  # fetch a token, then have another client refresh it
    wechat.revoke_tokens()

    delivered = worker(db, wechat_client, clock)
    await delivered.drain()
    while (await statuses(db, campaign_id))[DeliveryStatus.NEW]:
        clock.advance(minutes=30)  # rows that exhausted the client's retries come back later
        await delivered.drain()

    per_member = Counter(m.openid for m in wechat.sent if m.content == "今天的微党课……")
    assert set(per_member) == set(openids)
    assert set(per_member.values()) == {1}
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.SENT: 1000})
    assert wechat.calls["stable_token"] == 2  # the first token, and one refetch after the 40001


async def test_a_campaign_is_created_once_per_key(db: SessionMaker, clock: Clock) -> None:
    await branch_of(db, clock, 3)
    first = await lesson_campaign(db, clock)
    async with db.begin() as session:
        again = await campaigns.create(session, key="lesson:2026-11-16", kind="lesson", title="微党课", body="x",
                                       audience=select(Member.id), at=clock(), now=clock())
        rows = await session.scalar(select(func.count()).select_from(Delivery))
    assert first and again is None
    assert rows == 3


async def test_a_stopped_worker_hands_back_its_batch_and_a_new_one_finishes_without_duplicates(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    openids = await branch_of(db, clock, 200, wechat=wechat)
    campaign_id = await lesson_campaign(db, clock)
    wechat.slow_seconds = 0.002
    first = asyncio.create_task(worker(db, wechat_client, clock).drain())
    while len(wechat.sent) < 60 and not first.done():
        await asyncio.sleep(0.005)
    assert not first.done(), first
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    midway = await statuses(db, campaign_id)
    assert 60 <= midway[DeliveryStatus.SENT] < 200
    assert midway[DeliveryStatus.CLAIMED] == midway[DeliveryStatus.SENDING] == 0

    restarted = worker(db, wechat_client, clock)
    await restarted.recover()
    await restarted.drain()
    assert sorted(m.openid for m in wechat.sent) == sorted(openids)
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.SENT: 200})


async def test_after_a_crash_claimed_rows_come_back_and_a_row_caught_mid_send_is_uncertain_never_resent(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    await branch_of(db, clock, 10, wechat=wechat)
    campaign_id = await lesson_campaign(db, clock)
    async with db.begin() as session:  # a worker claimed five rows, started sending one, and died
        claimed = await campaigns.claim(session, owner="dead", now=clock(), limit=5)
        assert await campaigns.mark(session, delivery_id=claimed[0], owner="dead", status=DeliveryStatus.SENDING,
                                    now=clock())

    restarted = worker(db, wechat_client, clock)
    await restarted.recover()  # too early: the dead worker's lease has not run out
    await restarted.drain()
    assert len(wechat.sent) == 5
    clock.advance(seconds=LEASE.total_seconds() + 1)
    await restarted.recover()
    await restarted.drain()
    assert len(wechat.sent) == 9 and len({m.openid for m in wechat.sent}) == 9
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.SENT: 9, DeliveryStatus.UNCERTAIN: 1})
    async with db.begin() as session:  # an operator's plain retry leaves it alone; the member can read it
        assert await campaigns.retry_failed(session, campaign_id=campaign_id, now=clock()) == 0
        member_id = await session.scalar(select(Delivery.member_id).where(Delivery.id == claimed[0]))
        assert member_id is not None
        [unread] = await campaigns.read_waiting(session, member_id=member_id, now=clock())
    assert unread.body == "今天的微党课……"
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.SENT: 9, DeliveryStatus.READ: 1})


async def test_a_closed_window_waits_and_the_quota_pauses_the_campaign_until_tomorrow(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    openids = await branch_of(db, clock, 6)
    for openid in openids[1:]:
        wechat.interaction(openid)
    async with db.begin() as session:  # the first member last wrote three days ago
        await session.execute(InboundMessage.__table__.update().where(InboundMessage.openid == openids[0])
                              .values(received_at=clock() - timedelta(days=3)))
    campaign_id = await lesson_campaign(db, clock)
    wechat.daily_quota = 3
    await worker(db, wechat_client, clock).drain()
    assert await statuses(db, campaign_id) == Counter(
        {DeliveryStatus.WAITING: 1, DeliveryStatus.SENT: 3, DeliveryStatus.PAUSED: 2})
    async with db() as session:
        campaign = await campaigns.get(session, campaign_id=campaign_id)
    assert campaign and campaign.pause_reason and "额度" in campaign.pause_reason

    clock.advance(days=1)
    resumed = worker(db, wechat_client, clock)
    await resumed.settle_pauses()  # the round's first step
    await resumed.drain()
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.WAITING: 1, DeliveryStatus.SENT: 5})


async def test_a_copy_queued_while_its_campaign_is_paused_is_paused_by_the_next_round(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    await branch_of(db, clock, 2, wechat=wechat)
    campaign_id = await lesson_campaign(db, clock)
    wechat.daily_quota = 0
    sender = worker(db, wechat_client, clock)
    await sender.drain()
    async with db.begin() as session:  # a member added to the roster since: a rerun tops the campaign up
        org_id = await session.scalar(select(Organisation.id))
        session.add(Member(name="新党员", phone="13900000000", org_id=org_id, role="党员", openid="o-new",
                           created_at=clock()))
        await session.flush()
        assert await campaigns.create(session, key="lesson:2026-11-16", kind="lesson", title="微党课", body="x",
                                      audience=select(Member.id), at=clock(), now=clock()) is None
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.PAUSED: 2, DeliveryStatus.NEW: 1})
    await sender.settle_pauses()
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.PAUSED: 3})  # readable with `通知` too


@pytest.mark.parametrize("first", ["通知", "round"])
async def test_after_midnight_a_paused_copy_is_read_or_pushed_whichever_move_comes_first_never_both(
        first: str, db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    """`通知` (paused → read) and the round's resume (paused → new) race for a row: each is conditional on
    its status, so the second sees the first's result (PostgreSQL: waits for its lock or skips the row;
    SQLite: waits for its turn)."""
    await branch_of(db, clock, 2, wechat=wechat)
    campaign_id = await lesson_campaign(db, clock)
    wechat.daily_quota = 1
    sender = worker(db, wechat_client, clock)
    await sender.drain()
    async with db() as session:
        member_id, openid = (await session.execute(
            select(Member.id, Member.openid).join(Delivery, Delivery.member_id == Member.id)
            .where(Delivery.status == DeliveryStatus.PAUSED))).one()
    assert openid is not None
    clock.advance(days=1)

    async def move(name: str, session: AsyncSession) -> list[campaigns.Unread]:
        """What the move shows the member: `通知` reads, the round's first step shows nothing."""
        if name == "通知":
            return await campaigns.read_waiting(session, member_id=member_id, now=clock())
        await campaigns.settle_pauses(session, now=clock())
        return []

    async def alone(name: str) -> list[campaigns.Unread]:
        async with db.begin() as session:
            return await move(name, session)

    async with db() as holder, holder.begin():  # the first move, its transaction open while the second starts
        shown = await move(first, holder)
        second = asyncio.create_task(alone("round" if first == "通知" else "通知"))
        await asyncio.sleep(0.2)
    shown += await second
    await sender.drain()

    assert len(shown) + len(wechat.messages_to(openid)) == 1
    assert await statuses(db, campaign_id) == Counter(
        {DeliveryStatus.SENT: 1, DeliveryStatus.READ: 1} if first == "通知" else {DeliveryStatus.SENT: 2})


async def test_a_notice_outside_the_window_goes_as_a_template_message_when_one_is_configured(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    openids = await branch_of(db, clock, 2, messaged=False)
    async with db.begin() as session:
        notice = await campaigns.create(session, key="notice:1", kind="notice", title="第一党支部通知",
                                        body="周六开会", audience=select(Member.id), at=clock(), now=clock())
        lesson = await campaigns.create(session, key="lesson:x", kind="lesson", title="微党课", body="课文",
                                        audience=select(Member.id), at=clock(), now=clock())
    fields = (("thing1", "title"), ("thing2", "content"), ("time3", "date"))
    await DeliveryWorker(db, wechat_client, clock, template_id="TPL_NOTICE", template_fields=fields).drain()
    assert [(m.openid, m.kind) for m in wechat.sent] == [(openids[0], "template"), (openids[1], "template")]
    assert wechat.sent[0].content == "thing1: 第一党支部通知\nthing2: 周六开会\ntime3: 2026年11月16日 09:00"
    assert notice and lesson
    assert await statuses(db, notice) == Counter({DeliveryStatus.TEMPLATED: 2})  # the full text waits for `通知`
    assert await statuses(db, lesson) == Counter({DeliveryStatus.WAITING: 2})  # lessons never go as templates


async def test_the_client_sends_a_news_card_and_stops_at_the_quota(
        clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    wechat.interaction("o-reader")
    await wechat_client.send_news("o-reader", "微党课：红白事简办", "移风易俗从我做起", "https://example.org/lesson/5")
    [card] = wechat.messages_to("o-reader")
    assert card.kind == "news" and "红白事简办" in card.content and "https://example.org/lesson/5" in card.content
    wechat.daily_quota = 1
    with pytest.raises(QuotaExceeded):
        await wechat_client.send_text("o-reader", "第二条")
    assert wechat.calls["custom_send"] == 2  # the quota error is not retried


async def test_an_operator_can_queue_failed_deliveries_again(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    openids = await branch_of(db, clock, 3, wechat=wechat)
    campaign_id = await lesson_campaign(db, clock)
    wechat.fail_next(43004, 43004)  # two members had unfollowed; they follow again later
    await worker(db, wechat_client, clock).drain()
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.FAILED: 2, DeliveryStatus.SENT: 1})
    async with db.begin() as session:
        assert await campaigns.retry_failed(session, campaign_id=campaign_id, now=clock()) == 2
    await worker(db, wechat_client, clock).drain()
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.SENT: 3})
    assert sorted(m.openid for m in wechat.sent) == sorted(openids)


async def test_the_fake_allows_five_service_messages_per_member_message(
        clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    wechat.interaction("o-reader")
    for n in range(5):
        await wechat_client.send_text("o-reader", f"第{n + 1}条")
    with pytest.raises(WeChatError) as refused:
        await wechat_client.send_text("o-reader", "第6条")
    assert refused.value.code == 45047
    wechat.interaction("o-reader")
    await wechat_client.send_text("o-reader", "又可以发了")
    clock.advance(hours=49)
    with pytest.raises(WeChatError) as closed:
        await wechat_client.send_text("o-reader", "窗口已过")
    assert closed.value.code == 45015


async def test_three_workers_at_once_share_a_campaign_without_sending_anything_twice(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    openids = await branch_of(db, clock, 300, wechat=wechat)
    campaign_id = await lesson_campaign(db, clock)
    wechat.slow_seconds = 0.001  # each send yields, so the workers' claims interleave
    workers = [DeliveryWorker(db, wechat_client, clock, batch=20) for _ in range(3)]
    handled = await asyncio.gather(*(w.drain() for w in workers))
    assert sum(handled) == 300 and all(handled)  # every worker took a share
    assert sorted(m.openid for m in wechat.sent) == sorted(openids)
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.SENT: 300})


def running_clock(start: Clock) -> Clock:
    """A clock that moves with real time from `start`'s reading (leases are renewed on real timers)."""
    begun, base = time.monotonic(), start()
    return lambda: base + timedelta(seconds=time.monotonic() - begun)  # type: ignore[return-value]


async def test_a_worker_slower_than_its_lease_keeps_its_rows_while_an_idle_replica_recovers(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient,
        caplog: pytest.LogCaptureFixture) -> None:
    openids = await branch_of(db, clock, 4, wechat=wechat)
    campaign_id = await lesson_campaign(db, clock)
    now = running_clock(clock)
    wechat.slow_seconds = 1.2  # each send outlasts the lease
    lease = timedelta(seconds=1)  # renewed every third of it: room for a loaded machine's stalls
    busy = DeliveryWorker(db, wechat_client, now, batch=4, lease=lease)
    idle = DeliveryWorker(db, wechat_client, now, lease=lease)
    sending = asyncio.create_task(busy.drain())
    while (await statuses(db, campaign_id))[DeliveryStatus.NEW]:  # the busy worker takes all four first
        await asyncio.sleep(0.01)
    while not sending.done():
        await idle.recover()
        await idle.drain()
        await asyncio.sleep(0.05)
    assert await sending == 4
    assert "recovered deliveries" not in caplog.text
    assert sorted(m.openid for m in wechat.sent) == sorted(openids)
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.SENT: 4})


async def test_a_row_taken_back_from_its_worker_is_no_longer_that_worker_s_to_send_or_record(
        db: SessionMaker, clock: Clock) -> None:
    await branch_of(db, clock, 1)
    campaign_id = await lesson_campaign(db, clock)
    async with db.begin() as session:
        [row] = await campaigns.claim(session, owner="stalled", now=clock(), limit=5)
    clock.advance(seconds=LEASE.total_seconds() + 1)
    async with db.begin() as session:
        assert await campaigns.recover(session, before=clock() - LEASE) == (1, 0)
        assert await campaigns.claim(session, owner="fresh", now=clock(), limit=5) == [row]
        for status in (DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.NEW):
            assert not await campaigns.mark(session, delivery_id=row, owner="stalled", status=status, now=clock())
        await campaigns.release(session, owner="stalled", delivery_ids=[row])
        assert await campaigns.mark(session, delivery_id=row, owner="fresh", status=DeliveryStatus.SENDING,
                                    now=clock())
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.SENDING: 1})
    assert LEASE <= timedelta(minutes=1)  # a dead worker's rows come back within a minute


class Gate:
    """A send rate that opens only when the test says: `opened` slots handed out so far."""

    def __init__(self) -> None:
        self.open, self.opened = asyncio.Event(), 0

    async def acquire(self) -> None:
        await self.open.wait()
        self.open.clear()
        self.opened += 1


async def test_a_row_is_marked_sending_only_once_its_turn_under_the_send_rate_has_come(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    """While a sender waits for the send rate, every row marked `sending` has already reached WeChat (its outcome
    is recorded with the next row's mark), so a crash then leaves uncertain only rows members have; before, the
    row waiting for its turn was the one marked, and a kill left it uncertain although it never left."""
    await branch_of(db, clock, 3, wechat=wechat)
    campaign_id = await lesson_campaign(db, clock)
    gate = Gate()
    wechat_client._limiter = gate  # type: ignore[assignment]
    draining = asyncio.create_task(DeliveryWorker(db, wechat_client, clock, batch=3).drain())
    for sent in range(3):
        await asyncio.sleep(0.05)  # the worker waits at the gate
        assert await sending(db) <= {m.openid for m in wechat.sent} and len(wechat.sent) == sent
        gate.open.set()
        while len(wechat.sent) == sent:
            await asyncio.sleep(0.01)
    await draining
    assert gate.opened == 3 and len(wechat.sent) == 3  # one slot a message: the reserved one is not taken twice
    assert await statuses(db, campaign_id) == Counter({DeliveryStatus.SENT: 3})


async def sending(db: SessionMaker) -> set[str]:
    """The openids of the rows marked `sending`."""
    async with db() as session:
        return set(await session.scalars(select(Member.openid).join(Delivery, Delivery.member_id == Member.id)
                                         .where(Delivery.status == DeliveryStatus.SENDING)))
