"""The console's 评星 page (issue 15): the waiting proposals of the viewer's subtree with their evidence,
overruling one with a reason and confirming, through the very functions of chat `评星 改 N 理由` and `评星 确认`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.console import auth
from bot.repo import stars
from bot.storage.db import SessionMaker
from bot.storage.models import AuditEntry, HeldStar, Member, StarChange, StarProposal, StarReview
from scheduler.delivery_loop import deliver_due
from tests.conftest import Clock, services_of
from tests.console import Console, sign_in
from tests.phone import Phone

Phones = Callable[[str], Phone]
SECRETARY_1, SECRETARY_2, ABOVE, LI = "13800000001", "13800000011", "13800000021", "13800000002"


def flash(page: str) -> str:
    """The outcome sentence a page shows after a form."""
    return page.split('id="flash" role="status">')[1].split("</div>")[0]


async def ids_of(db: SessionMaker) -> dict[str, int]:
    async with db() as session:
        return {name: id_ for id_, name in await session.execute(select(Member.id, Member.name))}


async def open_reviews(db: SessionMaker, clock: Clock) -> dict[str, int]:
    """Waiting 2026Q3 reviews of both branches; proposal ids by member name. In 第一党支部 李秀英 is proposed
    学习星, 王德明 (holding 服务星) to lose it and 张建国 (its secretary) 自律星; in 第二党支部 马丽娟 服务星."""
    people = await ids_of(db)
    plans = {"李秀英": ("学习星", True, "答对 5 题"), "王德明": ("服务星", False, "志愿服务 0 小时"),
             "张建国": ("自律星", True, "全勤"), "马丽娟": ("服务星", True, "志愿服务 9 小时")}
    async with db.begin() as session:
        session.add(HeldStar(member_id=people["王德明"], star="服务星", since="2026Q2"))
        reviews: dict[int, int] = {}
        for name, (star, grant, evidence) in plans.items():
            org_id = (await session.get(Member, people[name])).org_id  # type: ignore[union-attr]
            if org_id not in reviews:
                reviews[org_id] = await stars.open_review(session, org_id=org_id, quarter="2026Q3",  # type: ignore[assignment]
                                                          now=clock())
            await stars.add_proposals(session, [{"review_id": reviews[org_id], "member_id": people[name], "star": star,
                                                 "proposed": grant, "decision": grant, "evidence": evidence}])
    async with db() as session:
        return {r.name: r.id for r in await stars.proposals(session, review_ids=list(reviews.values()))}


@pytest.fixture
async def proposals(db: SessionMaker, clock: Clock, roster: None) -> dict[str, int]:
    return await open_reviews(db, clock)


@pytest.fixture
async def secretary(member: Phones, live: TestClient) -> AsyncIterator[Console]:  # type: ignore[type-arg]
    """张建国, secretary of 塘约村党总支/第一党支部, signed in on the 评星 page."""
    console = await sign_in(live, await member(SECRETARY_1).bound("张建国"), landing="/console/stars")
    yield console
    await console.close()


async def proposal_state(db: SessionMaker, proposal_id: int) -> tuple[bool, str | None, int | None]:
    async with db() as session:
        found = await session.get(StarProposal, proposal_id)
        assert found is not None
        return found.decision, found.reason, found.changed_by


async def audit_rows(db: SessionMaker) -> list[tuple[int | None, int | None, int, str, str, str]]:
    async with db() as session:
        return [tuple(row) for row in await session.execute(  # type: ignore[misc]
            select(AuditEntry.actor_id, AuditEntry.member_id, AuditEntry.org_id, AuditEntry.action,
                   AuditEntry.subject, AuditEntry.detail).order_by(AuditEntry.id))]


async def test_the_page_lists_the_subtrees_proposals_with_evidence_and_what_confirming_does(
        proposals: dict[str, int], secretary: Console, member: Phones, live: TestClient) -> None:  # type: ignore[type-arg]
    page = secretary.text
    assert secretary.status == 200 and "共 3 条建议" in page
    for name, shown, evidence in (("李秀英", "授学习星", "答对 5 题"), ("王德明", "摘服务星", "志愿服务 0 小时"),
                                  ("张建国", "授自律星", "全勤")):
        row = page.split(f'id="proposal-{proposals[name]}"')[1].split("</tr>")[0]
        assert name in row and shown in row and evidence in row and "2026Q3 塘约村党总支/第一党支部" in row
    assert "马丽娟" not in page  # 第二党支部's review is not this secretary's
    assert "改为不授学习星" in page and "改为保留服务星" in page  # what overruling would do instead
    own = page.split(f'id="proposal-{proposals["张建国"]}"')[1].split("</tr>")[0]
    assert "不能自己调整" in own and "<form" not in own
    above = await sign_in(live, await member(ABOVE).bound("彭光明"), landing="/console/stars")
    assert "马丽娟" in above.text and "李秀英" in above.text and "共 4 条建议" in above.text
    await above.close()


@pytest.mark.parametrize("reason", ["", "   "])
async def test_an_overrule_without_a_reason_is_refused(
        proposals: dict[str, int], secretary: Console, db: SessionMaker, reason: str) -> None:
    await secretary.post(f"/console/stars/{proposals['李秀英']}/overrule", {"reason": reason})
    assert secretary.status == 400 and "请写明理由" in secretary.text
    assert await proposal_state(db, proposals["李秀英"]) == (True, None, None)
    assert await audit_rows(db) == []


@pytest.mark.parametrize("channel", ["chat", "console"])
async def test_an_overrule_with_a_reason_is_the_chats(
        proposals: dict[str, int], secretary: Console, member: Phones, db: SessionMaker, channel: str) -> None:
    reason = "本季度缺勤较多"
    if channel == "chat":
        reply = await member(SECRETARY_1).send(f"评星 改 {proposals['李秀英']} {reason}")
    else:
        reply = await secretary.post(f"/console/stars/{proposals['李秀英']}/overrule", {"reason": reason})
        assert secretary.status == 200 and "不授学习星" in secretary.text  # the list shows the new verb
        reply = flash(reply)
    assert reply and f"已调整：李秀英 不授予学习星，理由：{reason}。" in reply
    people = await ids_of(db)
    assert await proposal_state(db, proposals["李秀英"]) == (False, reason, people["张建国"])
    org_id = await _org_of(db, "李秀英")
    assert await audit_rows(db) == [(people["张建国"], people["李秀英"], org_id, "star_overrule", "star:学习星",
                                     f"定为无此星：{reason}")]


async def _org_of(db: SessionMaker, name: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Member.org_id).where(Member.name == name))
        assert found is not None
        return found


@pytest.mark.parametrize("channel", ["chat", "console"])
async def test_confirming_tells_the_members_as_the_chat_does(
        proposals: dict[str, int], secretary: Console, member: Phones, live: TestClient, db: SessionMaker,  # type: ignore[type-arg]
        channel: str) -> None:
    li, wang = await member(LI).bound("李秀英"), await member("13800000003").bound("王德明")
    await secretary.get("/console/stars")
    if channel == "chat":
        reply = await member(SECRETARY_1).send("评星 确认")
    else:
        reply = await secretary.post("/console/stars/confirm")
        assert secretary.status == 200 and "没有待评定的摘星授星建议" in reply  # nothing waits any more
    assert reply and "2026Q3 摘星授星已确认，3 位党员的星级有变化，已分别通知本人。" in reply
    await deliver_due(services_of(live))
    assert li.pushed() == ["【2026Q3 摘星授星结果】\n★ 获得学习星：答对 5 题\n回复「星级」查看你的全部星级和下一步努力方向。"]
    assert wang.pushed() == ["【2026Q3 摘星授星结果】\n☆ 摘去服务星：志愿服务 0 小时\n回复「星级」查看你的全部星级和下一步努力方向。"]
    people = await ids_of(db)
    async with db() as session:
        changes = {(m, s, g) for m, s, g in await session.execute(select(StarChange.member_id, StarChange.star,
                                                                         StarChange.granted))}
        confirmed = {org: by for org, by in await session.execute(select(StarReview.org_id, StarReview.confirmed_by)
                                                                  .where(StarReview.confirmed_at.is_not(None)))}
    assert changes == {(people["李秀英"], "学习星", True), (people["王德明"], "服务星", False),
                       (people["张建国"], "自律星", True)}
    assert confirmed == {await _org_of(db, "李秀英"): people["张建国"]}  # 第二党支部's review still waits
    assert await audit_rows(db) == [(people["张建国"], None, await _org_of(db, "李秀英"), "star_confirm",
                                     "stars:2026Q3", "第一党支部：3 颗星有变化，0 条建议经书记调整")]


async def test_a_secretary_cannot_overrule_their_own_star(
        proposals: dict[str, int], secretary: Console, db: SessionMaker) -> None:
    await secretary.post(f"/console/stars/{proposals['张建国']}/overrule", {"reason": "我自己"})
    assert secretary.status == 400 and "不能调整自己的星级" in secretary.text
    assert await proposal_state(db, proposals["张建国"]) == (True, None, None)
    assert await audit_rows(db) == []


async def test_another_branchs_proposal_is_403_and_a_bad_id_404(
        proposals: dict[str, int], secretary: Console, db: SessionMaker) -> None:
    await secretary.post(f"/console/stars/{proposals['马丽娟']}/overrule", {"reason": "其他支部的"})
    assert secretary.status == 403 and "无权查看" in secretary.text
    assert await proposal_state(db, proposals["马丽娟"]) == (True, None, None)
    for bad in ("999999", "abc", "-1", "1" * 40):
        await secretary.get("/console/stars")
        await secretary.post(f"/console/stars/{bad}/overrule", {"reason": "理由"})
        assert secretary.status == 404 and "这条评星建议不存在" in secretary.text
    assert await audit_rows(db) == []


async def test_a_confirmed_review_is_no_longer_overruled(
        proposals: dict[str, int], secretary: Console, member: Phones, db: SessionMaker) -> None:
    await member(SECRETARY_1).send("评星 确认")
    await secretary.post(f"/console/stars/{proposals['李秀英']}/overrule", {"reason": "晚了"})
    assert secretary.status == 400 and f"没有找到待评定的第 {proposals['李秀英']} 条建议" in secretary.text
    assert await proposal_state(db, proposals["李秀英"]) == (True, None, None)


async def test_signed_out_is_401_and_a_plain_member_403(
        proposals: dict[str, int], live: TestClient, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        stranger = Console(live, http)
        await stranger.get("/console/stars")
        assert stranger.status == 401
        async with db.begin() as session:
            token = await auth.issue_link(session, member_id=(await ids_of(db))["李秀英"], now=clock())
        await stranger.get(f"/console/login?t={token}&next=/console/stars")
        assert stranger.status == 403 and "仅书记和管理员可用" in stranger.text
