"""Secretary notices through the webhook and the fake WeChat API: preview, confirm, deliver, report, receipts."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp.test_utils import TestClient

from bot.wechat.fake import FakeWeChat
from scheduler.delivery_loop import deliver_due
from tests.conftest import Clock, services_of
from tests.phone import Phone

SECRETARY_1, SECRETARY_2 = "13800000001", "13800000011"
BRANCH_1 = [f"138000000{i:02d}" for i in range(2, 6)]  # four members of 第一党支部 who will bind






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
