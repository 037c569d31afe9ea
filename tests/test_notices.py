"""Secretary notices through the webhook and the fake WeChat API: preview, confirm, deliver, report, receipts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.repo import campaigns
from bot.storage.db import SessionMaker
from bot.storage.models import Campaign
from bot.storage.models import DeliveryStatus as S
from bot.wechat.fake import FakeWeChat
from scheduler.delivery_loop import deliver_due
from tests.conftest import Clock, services_of
from tests.phone import Phone

SECRETARY_1, SECRETARY_2 = "13800000001", "13800000011"
BRANCH_1 = [f"138000000{i:02d}" for i in range(2, 6)]  # four members of 第一党支部 who will bind
WHOLE_BRANCH_1 = {"13800000001": "张建国", "13800000002": "李秀英", "13800000003": "王德明", "13800000004": "赵春花",
                  "13800000005": "刘志强", "13800000006": "陈桂兰", "13800000007": "杨立新", "13800000008": "黄小燕",
                  "13800000009": "周海涛", "13800000010": "吴淑珍"}  # its secretary first






async def test_a_secretary_previews_confirms_and_gets_the_delivery_report(
        live: TestClient, member: Callable[[str], Phone], wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    readers = [await member(n).bound(name) for n, name in zip(BRANCH_1, ["李秀英", "王德明", "赵春花", "刘志强"])]
    other_branch = await member("13800000012").bound("马丽娟")

    preview = await secretary.send("通知 本周六上午9点在村委会开展主题党日活动，请准时参加")
    assert preview and "共 10 人" in preview and "回复「确认」发送" in preview
    assert not wechat.sent  # nothing goes out before 确认
    started = await secretary.send("确认")
    assert started and "共 10 人" in started
    await deliver_due(services_of(live))

    for reader in readers:
        assert reader.pushed() == ["【第一党支部通知】\n本周六上午9点在村委会开展主题党日活动，请准时参加"]
    assert other_branch.pushed() == []
    report = secretary.pushed()[-1]
    assert "发送完成" in report and "已送达 5 人" in report and "待阅读 5 人" in report  # 5 members never bound
    await deliver_due(services_of(live))
    assert len(secretary.pushed()) == 2  # the notice itself, then one report, never two


async def test_a_delivery_report_wechat_refuses_waits_for_the_secretary_to_read_it(
        live: TestClient, member: Callable[[str], Phone], wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    await member(BRANCH_1[0]).bound("李秀英")
    await secretary.send("通知 本周六上午9点开会")
    await secretary.send("确认")
    wechat.refuse[secretary.openid] = 45047  # the secretary's five messages are used up
    await deliver_due(services_of(live))
    assert secretary.pushed() == []
    waiting = await secretary.send("通知")
    assert waiting and "本周六上午9点开会" in waiting and "发送完成" in waiting


async def test_a_secretary_cannot_address_another_branch_but_an_administrator_can(
        live: TestClient, member: Callable[[str], Phone], wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_2).bound("孙卫东")
    refused = await secretary.send("通知 @第一党支部 明天开会")
    assert refused and "不能向「第一党支部」发送" in refused
    assert "没有待确认的事项" in (await secretary.send("确认") or "")
    assert not wechat.sent


async def test_cancel_and_expiry_send_nothing(live: TestClient, member: Callable[[str], Phone],  # type: ignore[type-arg]
                                             wechat: FakeWeChat, clock: Clock) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    await secretary.send("通知 第一条")
    assert "已取消" in (await secretary.send("取消") or "")
    await secretary.send("通知 第二条")
    clock.advance(minutes=11)
    assert "已过" in (await secretary.send("确认") or "")
    await deliver_due(services_of(live))
    assert not wechat.sent


async def test_members_acknowledge_and_the_secretary_sees_who_has_not(
        live: TestClient, member: Callable[[str], Phone]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    first, second = [await member(n).bound(name) for n, name in zip(BRANCH_1, ["李秀英", "王德明"])]
    await secretary.send("回执通知 请于周五前上交党费")
    await secretary.send("确认")
    await deliver_due(services_of(live))
    assert first.pushed()[-1].endswith("请回复「收到」确认。")
    assert second.pushed()[-1].endswith("请回复「收到」确认。")

    assert "已确认收到" in (await first.send("收到") or "")
    receipts = await secretary.send("回执") or ""
    assert "王德明" in receipts and "李秀英" not in receipts and "张建国" not in receipts  # nor the sender
    assert "没有需要确认的通知" in (await first.send("收到") or "")


async def test_a_member_outside_the_window_is_told_of_the_notice_and_reads_it(
        live: TestClient, member: Callable[[str], Phone], clock: Clock, wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    quiet = await member(BRANCH_1[0]).bound("李秀英")
    clock.advance(days=3)  # 李秀英's window has closed
    await secretary.send("通知 下周一交党费")
    await secretary.send("确认")
    await deliver_due(services_of(live))
    assert quiet.pushed() == []

    reply = await quiet.send("积分")
    assert reply and reply.endswith("（你有 1 条未读通知，回复「通知」查看）")
    notices = await quiet.send("通知")
    assert notices and "下周一交党费" in notices and "未读通知，回复" not in notices
    assert "未读" not in (await quiet.send("积分") or "")
    assert "没有未读通知" in (await quiet.send("通知") or "")


async def test_a_preview_says_how_many_messages_a_long_notice_goes_out_as(
        live: TestClient, member: Callable[[str], Phone]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    assert "将分" not in (await secretary.send("通知 本周六上午9点开会") or "")
    long = ("本周六上午9点在村委会开展主题党日活动，请全体党员准时参加，不能参加的请提前向支部书记请假。" * 90)[:4000]
    preview = await secretary.send(f"通知 {long}")
    assert preview and "将分 6 条发送" in preview


@pytest.mark.parametrize(("quota", "before", "at_midnight", "reads_with"), [
    (0, 4, 1, "通知"),  # nothing went out: four read it at once, one just after midnight, five pushed then
    (4, 2, 1, "收到"),  # `收到` shows a paused notice that asks for it, as it shows one waiting for the window
    (9, 0, 0, "通知"),  # the one left over is pushed after midnight
    (7, 3, 0, "通知"),  # everyone left over reads it: nothing is pushed after midnight
])
async def test_a_notice_the_daily_quota_paused_is_readable_at_once_and_reaches_everyone_exactly_once(
        quota: int, before: int, at_midnight: int, reads_with: str, live: TestClient,  # type: ignore[type-arg]
        member: Callable[[str], Phone], wechat: FakeWeChat, clock: Clock, db: SessionMaker) -> None:
    """WeChat answers 45009 once `quota` of the branch's ten copies went out: the campaign pauses until
    midnight, and the members not pushed read it with `通知` (or `收到`) meanwhile; after midnight only the
    others get it."""
    text = "明天上午9点在村委会开展主题党日活动，请准时参加"
    everyone = [await member(number).bound(name) for number, name in WHOLE_BRANCH_1.items()]
    secretary = everyone[0]
    await secretary.send(f"回执通知 {text}")
    await secretary.send("确认")
    wechat.daily_quota = quota
    await deliver_due(services_of(live))

    def pushed(phone: Phone) -> int:
        return sum(text in message for message in phone.pushed())

    paused = [phone for phone in everyone if not pushed(phone)]
    assert len(paused) == 10 - quota
    progress = await secretary.send("回执") or ""
    assert f"还有 {10 - quota} 人暂停发送，11月17日 00:00 后自动继续" in progress and "回复「通知」就能阅读" in progress

    read: Counter[str] = Counter()

    async def read_it(phone: Phone) -> None:
        hinted = await phone.send("积分") or ""
        assert hinted.endswith("（你有 1 条未读通知，回复「通知」查看）")  # the hint counts the paused copy
        shown = await phone.send(reads_with) or ""
        assert text in shown
        read[phone.openid] += 1
        assert "没有未读通知" in (await phone.send("通知") or "")

    for phone in paused[:before]:
        await read_it(phone)
    left = 10 - quota - before
    progress = await secretary.send("回执") or ""
    assert (f"还有 {left} 人暂停发送" in progress) if left else "暂停发送" not in progress

    clock.now = clock.now.replace(day=17, hour=0, minute=0, second=5)  # past midnight, before the round
    wechat.daily_quota = None  # a new day's quota
    for phone in paused[before:before + at_midnight]:
        await read_it(phone)
    await deliver_due(services_of(live))

    assert {phone.openid: pushed(phone) + read[phone.openid] for phone in everyone} == {
        phone.openid: 1 for phone in everyone}  # pushed or read, never both, never twice
    async with db() as session:
        campaign_id = await session.scalar(select(Campaign.id).where(Campaign.kind == "notice"))
        assert await campaigns.counts(session, campaign_id=campaign_id) == Counter(
            {S.SENT: 10 - before - at_midnight, S.READ: before + at_midnight})
    assert "发送完成" in secretary.pushed()[-1] and "已送达 10 人" in secretary.pushed()[-1]
    assert "暂停发送" not in (await secretary.send("回执") or "")



async def test_a_notice_started_while_the_quota_is_spent_says_so_at_once(
        live: TestClient, member: Callable[[str], Phone], wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    """The quota is the account's: a notice started after another met 45009 today waits for midnight too, and the
    secretary is told when he sends it, not only later in `回执` (a new-user trial)."""
    secretary = await member(SECRETARY_1).bound("张建国")
    await secretary.send("通知 明天上午9点开会")
    first = await secretary.send("确认") or ""
    assert "通知已开始发送" in first and "额度" not in first
    wechat.daily_quota = 0
    await deliver_due(services_of(live))
    await secretary.send("通知 下午3点交党费")
    second = await secretary.send("确认") or ""
    assert "通知已开始发送" in second
    assert "今天已有通知因微信消息额度用完而暂停，到 11月17日 00:00 自动继续" in second
    assert "暂停期间党员回复「通知」就能阅读" in second
