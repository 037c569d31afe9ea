"""The console's 通知 page (issue 15): compose, preview with the audience count, send through the chat's own draft
and campaign, and the receipts of each notice, scoped to the viewer's subtree."""

from __future__ import annotations

import re
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot import limits
from bot.console import auth
from bot.db import SessionMaker
from bot.models import Campaign, Delivery, Member, NoticeDraft, Organisation
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


async def preview_and_send(console: Console, org: int, text: str, *, needs_ack: bool = False) -> str:
    await console.get("/console/notices")
    await console.post("/console/notices/preview", {"org": str(org), "body": text, **({"needs_ack": "1"} if needs_ack
                                                                                        else {})})
    assert console.status == 200, console.text
    draft = re.search(r'name="draft" value="(\d+)"', console.text)
    assert draft, console.text
    return await console.post("/console/notices", {"draft": draft.group(1), "action": "send"})


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
    draft = re.search(r'name="draft" value="(\d+)"', console.text)
    assert draft
    sent = await console.post("/console/notices", {"draft": draft.group(1), "action": "send"})
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
    assert {name for name, *_ in rows(page, "read")} == {"张建国", "李秀英", "王德明", "赵春花"}
    assert len(rows(page, "unread")) == 6 and 'id="not-acked"' not in page  # never bound; no receipt asked
    page = await console.get("/console/notices")
    assert "共 2 条" in page and "共 10 人，已读 4，未读 6" in part(page, "sent")  # four bound, six never bound
    await console.post("/console/notices", {"draft": draft.group(1), "action": "send"})  # sent again: the draft is used
    assert console.status == 409 and "没有待确认的通知" in console.text
    assert len([c for c, _ in await campaigns_of(db) if c.kind == "notice"]) == 2


async def test_receipts_show_who_acknowledged_in_chat_and_who_has_not(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li, wang = [await member(n).bound(name) for n, name in list(BRANCH_1.items())[:2]]
    console = await open_console(live, secretary, consoles)
    await preview_and_send(console, await org_id(db, "塘约村党总支/第一党支部"), "请于周五前上交党费", needs_ack=True)
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
    assert owed["陈桂兰"] == (branch, "待阅读（超过48小时未互动或未绑定）", "未回复")  # never bound
    assert "已回复「收到」1 人，未回复 8 人" in part(page, "counts")
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
    draft = re.search(r'name="draft" value="(\d+)"', console.text)
    assert draft
    await console.post("/console/notices", {"draft": draft.group(1), "action": "send"}, token="")
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
    await console.post("/console/notices/preview", {"org": str(branch), "body": "第一条"})
    draft = re.search(r'name="draft" value="(\d+)"', console.text)
    assert draft
    await console.post("/console/notices", {"draft": draft.group(1), "action": "cancel"})
    assert console.status == 200 and "不会发出" in part(console.text, "outcome")
    await console.post("/console/notices/preview", {"org": str(branch), "body": "第二条"})
    draft = re.search(r'name="draft" value="(\d+)"', console.text)
    assert draft
    clock.advance(minutes=11)
    await console.post("/console/notices", {"draft": draft.group(1), "action": "send"})
    assert console.status == 409 and "已过" in part(console.text, "outcome")
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
