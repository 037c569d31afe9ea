"""The console's 通知 page (issue 15): compose, preview with the audience count, send through the chat's own draft
and campaign, and the receipts of each notice, scoped to the viewer's subtree."""

from __future__ import annotations

import re
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.config import Settings
from bot.console import auth
from bot.ops import operators
from bot.repo.campaigns import UNBOUND
from bot.storage import limits
from bot.storage.db import SessionMaker
from bot.storage.models import Campaign, Delivery, Member, NoticeDraft, Organisation
from bot.wechat.fake import FakeWeChat
from scheduler.delivery_loop import deliver_due
from tests.conftest import Clock, services_of
from tests.console import Console, sign_in
from tests.console_pages import part, rows
from tests.phone import Phone

SECRETARY_1, SECRETARY_2, ABOVE = "13800000001", "13800000011", "13800000021"
BRANCH_1 = {"13800000002": "李秀英", "13800000003": "王德明", "13800000004": "赵春花"}
BRANCH_2 = {"13800000012": "马丽娟", "13800000013": "朱永刚"}
TEXT = "本周六上午9点在村委会开展主题党日活动，请准时参加"


async def open_console(live: TestClient, phone: Phone, consoles: list[Console]) -> Console:  # type: ignore[type-arg]
    console = await sign_in(live, phone, landing="/console/notices")
    consoles.append(console)
    return console


async def org_id(db: SessionMaker, path: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Organisation.id).where(Organisation.path == path))
    assert found is not None
    return found


async def campaigns_of(db: SessionMaker) -> list[tuple[Campaign, set[int]]]:
    """Every campaign with the members it went to, oldest first."""
    async with db() as session:
        found = list(await session.scalars(select(Campaign).order_by(Campaign.id)))
        return [(c, set(await session.scalars(select(Delivery.member_id).where(Delivery.campaign_id == c.id))))
                for c in found]


def previewed(page: str) -> str:
    """The send form's mark of the draft the page shows."""
    found = re.search(r'name="digest" value="([0-9a-f]{64})"', page)
    assert found, page
    return found.group(1)


async def preview(console: Console, org: int, text: str, *, needs_ack: bool = False) -> str:
    """Preview a notice; the mark its send form carries."""
    await console.post("/console/notices/preview", {"org": str(org), "body": text, **({"needs_ack": "1"} if needs_ack
                                                                                        else {})})
    assert console.status == 200, console.text
    return previewed(console.text)


async def preview_and_send(console: Console, org: int, text: str, *, needs_ack: bool = False) -> str:
    await console.get("/console/notices")
    digest = await preview(console, org, text, needs_ack=needs_ack)
    return await console.post("/console/notices", {"digest": digest, "action": "send"})


async def test_a_notice_composed_previewed_and_sent_reaches_its_branch_exactly_as_from_chat(
        live: TestClient, member: Callable[[str], Phone], wechat: FakeWeChat, db: SessionMaker,  # type: ignore[type-arg]
        clock: Clock, consoles: list[Console]) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    readers = [await member(n).bound(name) for n, name in BRANCH_1.items()]
    outsiders = [await member(n).bound(name) for n, name in BRANCH_2.items()]
    console = await open_console(live, secretary, consoles)
    page = await console.get("/console/notices")
    assert 'name="csrf"' in page and "塘约村党总支/第一党支部" in page and "第二党支部" not in page  # own subtree only

    branch = await org_id(db, "塘约村党总支/第一党支部")
    await console.post("/console/notices/preview", {"org": str(branch), "body": TEXT})
    assert console.status == 200
    assert part(console.text, "push").strip() == f"【第一党支部通知】\n{TEXT}"  # as members will read it
    assert "共 10 人" in part(console.text, "audience")
    assert not wechat.sent and await campaigns_of(db) == []  # nothing goes out before 发送
    digest = previewed(console.text)
    sent = await console.post("/console/notices", {"digest": digest, "action": "send"})
    assert console.status == 200 and "通知已开始发送，共 10 人" in part(sent, "outcome")
    await deliver_due(services_of(live))

    for reader in readers:
        assert reader.pushed() == [f"【第一党支部通知】\n{TEXT}"]
    for outsider in outsiders:
        assert outsider.pushed() == []
    clock.advance(minutes=1)
    await secretary.send(f"通知 {TEXT}")  # the same notice from chat
    await secretary.send("确认")
    await deliver_due(services_of(live))
    for reader in readers:
        assert reader.pushed()[0] == reader.pushed()[1]
    (web, web_to), (chat, chat_to) = [(c, to) for c, to in await campaigns_of(db) if c.kind == "notice"]
    assert web_to == chat_to and len(web_to) == 10
    assert (web.title, web.body, web.org_id, web.created_by, web.needs_ack) == (
        chat.title, chat.body, chat.org_id, chat.created_by, chat.needs_ack)

    page = await console.get(f"/console/notices/{web.id}")
    assert {name for name, *_ in rows(page, "delivered")} == {"张建国", "李秀英", "王德明", "赵春花"}
    assert len(rows(page, "undelivered")) == 6 and 'id="not-acked"' not in page  # never bound; no receipt asked
    page = await console.get("/console/notices")
    assert "共 2 条" in page and "共 10 人：已送达 4，待阅读 6" in part(page, "sent")  # four bound, six never bound
    await console.post("/console/notices", {"digest": digest, "action": "send"})  # sent again: the draft is used
    assert console.status == 409 and "没有待发送的通知" in part(console.text, "outcome")
    assert len([c for c, _ in await campaigns_of(db) if c.kind == "notice"]) == 2


async def test_receipts_show_who_acknowledged_in_chat_and_who_has_not(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li, wang = [await member(n).bound(name) for n, name in list(BRANCH_1.items())[:2]]
    console = await open_console(live, secretary, consoles)
    sent = await preview_and_send(console, await org_id(db, "塘约村党总支/第一党支部"), "请于周五前上交党费", needs_ack=True)
    assert "谁还没有回复「收到」" in part(sent, "outcome") and "回复「回执」" not in sent  # the console's way, not chat's
    await deliver_due(services_of(live))
    assert li.pushed()[-1].endswith("请回复「收到」确认。")
    assert "已确认收到" in (await li.send("收到") or "")

    campaign = next(c for c, _ in await campaigns_of(db) if c.kind == "notice")
    page = await console.get(f"/console/notices/{campaign.id}")
    assert console.status == 200
    branch = "塘约村党总支/第一党支部"
    assert rows(page, "acked") == [("李秀英", branch, "已送达", "2026-11-16 09:00")]
    owed = {name: (org, state, acked) for name, org, state, acked in rows(page, "not-acked")}
    assert len(owed) == 8 and "李秀英" not in owed and "张建国" not in owed  # nor the sender
    assert owed["王德明"] == (branch, "已送达", "未回复")  # pushed, not acknowledged
    assert owed["陈桂兰"] == (branch, f"待阅读{UNBOUND}", "未回复")  # never bound: the ledger's reason
    assert "需回复 9 人（发送人无需回复）：已回复「收到」1 人，未回复 8 人" in part(page, "counts")
    assert "王德明" in (await secretary.send("回执") or "")  # chat agrees
    assert wang.pushed()


async def test_another_branchs_notice_is_403_and_an_unknown_one_404(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    first = await open_console(live, await member(SECRETARY_1).bound("张建国"), consoles)
    await preview_and_send(first, await org_id(db, "塘约村党总支/第一党支部"), "一支部的通知")
    notice = next(c for c, _ in await campaigns_of(db))
    second = await open_console(live, await member(SECRETARY_2).bound("孙卫东"), consoles)
    await second.get(f"/console/notices/{notice.id}")
    assert second.status == 403 and "无权查看" in second.text
    assert "一支部的通知" not in await second.get("/console/notices")
    for bad in (notice.id + 1000, "abc", "99999999999999999999"):
        await second.get(f"/console/notices/{bad}")
        assert second.status == 404 and "这条通知不存在" in second.text
    above = await open_console(live, await member(ABOVE).bound("彭光明"), consoles)  # the 党总支 sees both branches
    assert "一支部的通知" in await above.get("/console/notices")
    await above.get(f"/console/notices/{notice.id}")
    assert above.status == 200


async def test_a_notice_to_another_branch_is_403_and_nothing_is_drafted(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    console = await open_console(live, await member(SECRETARY_2).bound("孙卫东"), consoles)
    await console.get("/console/notices")
    await console.post("/console/notices/preview", {"org": str(await org_id(db, "塘约村党总支/第一党支部")),
                                                    "body": "冒名通知"})
    assert console.status == 403
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(NoticeDraft)) == 0


async def test_sending_without_the_form_token_is_403_and_sends_nothing(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, wechat: FakeWeChat,  # type: ignore[type-arg]
        consoles: list[Console]) -> None:
    console = await open_console(live, await member(SECRETARY_1).bound("张建国"), consoles)
    await console.get("/console/notices")
    await console.post("/console/notices/preview", {"org": str(await org_id(db, "塘约村党总支/第一党支部")),
                                                    "body": TEXT})
    await console.post("/console/notices", {"digest": previewed(console.text), "action": "send"}, token="")
    assert console.status == 403 and "页面已过期" in console.text
    await deliver_due(services_of(live))
    assert await campaigns_of(db) == [] and not wechat.sent


@pytest.mark.parametrize(("body", "refused"), [
    ("", "请填写通知内容。"),
    ("   \n ", "请填写通知内容。"),
    ("党" * (limits.NOTICE.chars + 1), f"通知内容最多 {limits.NOTICE.chars} 字，请精简后重新发送。"),
])
async def test_an_empty_or_too_long_notice_is_refused_clearly(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console],  # type: ignore[type-arg]
        body: str, refused: str) -> None:
    console = await open_console(live, await member(SECRETARY_1).bound("张建国"), consoles)
    await console.get("/console/notices")
    await console.post("/console/notices/preview", {"org": str(await org_id(db, "塘约村党总支/第一党支部")),
                                                    "body": body})
    assert console.status == 400 and part(console.text, "outcome").strip() == refused
    assert 'id="notice-body"' in console.text  # the form again, to correct it
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(NoticeDraft)) == 0


async def test_a_form_without_an_organisation_is_400(
        live: TestClient, member: Callable[[str], Phone], consoles: list[Console]) -> None:  # type: ignore[type-arg]
    console = await open_console(live, await member(SECRETARY_1).bound("张建国"), consoles)
    await console.get("/console/notices")
    await console.post("/console/notices/preview", {"org": "第一党支部", "body": TEXT})  # a name is no id
    assert console.status == 400 and "请选择发送对象" in console.text


async def test_an_expired_preview_or_one_given_up_sends_nothing(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, clock: Clock,  # type: ignore[type-arg]
        consoles: list[Console]) -> None:
    console = await open_console(live, await member(SECRETARY_1).bound("张建国"), consoles)
    branch = await org_id(db, "塘约村党总支/第一党支部")
    await console.get("/console/notices")
    digest = await preview(console, branch, "第一条")
    await console.post("/console/notices", {"digest": digest, "action": "cancel"})
    assert console.status == 200 and "不会发出" in part(console.text, "outcome")
    digest = await preview(console, branch, "第二条")
    clock.advance(minutes=11)
    await console.post("/console/notices", {"digest": digest, "action": "send"})
    assert console.status == 409 and "已超过 10 分钟" in part(console.text, "outcome")
    assert "「通知 内容」" not in console.text  # the console's own way: preview again on this page
    assert await campaigns_of(db) == []


async def test_signed_out_is_401_and_a_member_is_403(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        console = Console(live, http)
        await console.get("/console/notices")
        assert console.status == 401
        async with db.begin() as session:
            li = await session.scalar(select(Member).where(Member.name == "李秀英"))
            assert li is not None
            token = await auth.issue_link(session, member_id=li.id, now=clock())
        await console.get(f"/console/login?t={token}&next=/console/notices")
        assert console.status == 403 and "仅书记和管理员可用" in console.text


async def test_send_sends_what_its_page_showed_and_a_page_another_preview_overtook_is_409(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    reader = await member("13800000002").bound("李秀英")
    branch = await org_id(db, "塘约村党总支/第一党支部")
    console = await open_console(live, secretary, consoles)
    first_tab = await preview(console, branch, "甲：周六上午开会")
    second_tab = await preview(console, branch, "乙：周日下午打扫卫生")  # another tab, same person

    page = await console.post("/console/notices", {"digest": first_tab, "action": "send"})  # the first tab's 发送
    assert console.status == 409 and await campaigns_of(db) == []
    assert "没有发出" in part(page, "outcome") and "「通知 内容」" not in page
    assert "乙：周日下午打扫卫生" in part(page, "push") and previewed(page) == second_tab  # the draft now, to decide
    await console.post("/console/notices", {"digest": first_tab, "action": "cancel"})  # 放弃 in the first tab
    assert console.status == 409 and await campaigns_of(db) == []

    await console.post("/console/notices", {"digest": second_tab, "action": "send"})
    assert console.status == 200
    await deliver_due(services_of(live))
    assert [c.body for c, _ in await campaigns_of(db) if c.kind == "notice"] == ["【第一党支部通知】\n乙：周日下午打扫卫生"]
    assert reader.pushed() == ["【第一党支部通知】\n乙：周日下午打扫卫生"]


async def test_chat_confirm_sends_only_what_chat_previewed(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    console = await open_console(live, secretary, consoles)
    assert "回复「确认」发送" in (await secretary.send("通知 草稿D：周六开会") or "")
    in_console = await preview(console, await org_id(db, "塘约村党总支/第一党支部"), "草稿E：周日打扫卫生")

    changed = await secretary.send("确认")
    assert changed and "没有发出" in changed and "网页后台" in changed and "重新发送「通知 内容」" in changed
    assert await campaigns_of(db) == []
    await console.post("/console/notices", {"digest": in_console, "action": "send"})  # E still waits in the console
    assert console.status == 200
    assert [c.body for c, _ in await campaigns_of(db)] == ["【第一党支部通知】\n草稿E：周日打扫卫生"]


async def test_chat_cancel_leaves_a_draft_previewed_later_in_the_console(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    console = await open_console(live, secretary, consoles)
    await secretary.send("通知 草稿D：周六开会")
    in_console = await preview(console, await org_id(db, "塘约村党总支/第一党支部"), "草稿E：周日打扫卫生")
    assert "没有发出" in (await secretary.send("取消") or "")
    await console.post("/console/notices", {"digest": in_console, "action": "send"})
    assert console.status == 200 and len(await campaigns_of(db)) == 1


async def test_a_console_preview_does_not_arm_chat_confirm(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    console = await open_console(live, secretary, consoles)
    await preview(console, await org_id(db, "塘约村党总支/第一党支部"), TEXT)
    assert "没有待确认的事项" in (await secretary.send("确认") or "")
    assert await campaigns_of(db) == []


LONG = ("本周六上午9点在村委会开展主题党日活动，请全体党员准时参加，不能参加的请提前向支部书记请假。" * 90)[:limits.NOTICE.chars]


async def test_a_long_notice_says_how_many_messages_and_its_receipts_say_what_arrived(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, settings: Settings,  # type: ignore[type-arg]
        consoles: list[Console]) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    reader = await member("13800000002").bound("李秀英")
    branch = await org_id(db, "塘约村党总支/第一党支部")
    console = await open_console(live, secretary, consoles)
    await preview(console, branch, "短通知")
    assert "将分" not in console.text
    digest = await preview(console, branch, LONG)
    assert "将分 6 条发送" in part(console.text, "audience")
    await console.post("/console/notices", {"digest": digest, "action": "send"})
    await deliver_due(services_of(live))
    assert len(reader.pushed()) == 5  # WeChat took five of the six, then 45047

    campaign = next(c for c, _ in await campaigns_of(db) if c.kind == "notice")
    shown = await operators.campaigns_show(settings, campaign.id)
    assert shown
    reason = next(line.split("\t")[2] for line in shown if line.strip().startswith("李秀英\t"))
    assert reason.startswith("只送达前 5 条，其余未送达") and "全文可用「通知」阅读" in reason
    page = await console.get(f"/console/notices/{campaign.id}")
    states = {name: state for name, _, state in rows(page, "undelivered")}
    assert states["李秀英"] == f"发送中断{reason}"  # the words `palmbot campaigns show` gives
    assert "共 10 人：已送达 0，待阅读 8，发送中断 2" in part(page, "counts")


async def test_the_counts_follow_the_ledger_from_the_moment_of_sending(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    for number, name in BRANCH_1.items():
        await member(number).bound(name)
    console = await open_console(live, secretary, consoles)
    await preview_and_send(console, await org_id(db, "塘约村党总支/第一党支部"), TEXT, needs_ack=True)
    assert "共 10 人：已送达 0，发送中 4，待阅读 6" in part(console.text, "sent")  # before any is sent
    assert "需回复 9 人（发送人无需回复）：已回复 0，未回复 9" in part(console.text, "sent")
    await deliver_due(services_of(live))
    report = secretary.pushed()[-1]
    assert "已送达 4 人" in report and "待阅读 6 人" in report
    assert "共 10 人：已送达 4，待阅读 6" in part(await console.get("/console/notices"), "sent")  # as chat reports


async def test_a_notice_the_daily_quota_paused_says_until_when_and_that_its_members_can_read_it_meanwhile(
        live: TestClient, member: Callable[[str], Phone], wechat: FakeWeChat, db: SessionMaker,  # type: ignore[type-arg]
        consoles: list[Console]) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    phones = {"张建国": secretary}
    for number, name in BRANCH_1.items():
        phones[name] = await member(number).bound(name)
    console = await open_console(live, secretary, consoles)
    wechat.daily_quota = 1  # WeChat answers 45009 after the first push
    await preview_and_send(console, await org_id(db, "塘约村党总支/第一党支部"), TEXT)
    await deliver_due(services_of(live))

    sent = part(await console.get("/console/notices"), "sent")
    assert "共 10 人：已送达 1，暂停发送 3，待阅读 6" in sent  # four bound, six never bound
    assert "还有 3 人暂停发送，2026-11-17 00:00 后自动继续；他们现在回复「通知」就能阅读" in sent
    campaign = next(c for c, _ in await campaigns_of(db) if c.kind == "notice")
    page = await console.get(f"/console/notices/{campaign.id}")
    assert "还有 3 人暂停发送，2026-11-17 00:00 后自动继续" in part(page, "paused")
    paused = [name for name, _, state in rows(page, "undelivered") if state == "暂停发送（可回复「通知」阅读）"]
    assert len(paused) == 3

    assert TEXT in (await phones[paused[0]].send("通知") or "")
    page = await console.get(f"/console/notices/{campaign.id}")
    assert "还有 2 人暂停发送" in part(page, "paused")
    assert (paused[0], "塘约村党总支/第一党支部", "已送达（回复「通知」阅读）") in rows(page, "delivered")
