"""Roster care through the chat and the operator commands: 解绑 by the member's own secretary, moving a member
with their whole history, both in the audit trail of the organisations concerned."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.ops.operators import audit_trail, members_move, members_unbind
from bot.storage.db import SessionMaker
from bot.storage.models import (
    AuditEntry,
    ClaimStatus,
    HeldStar,
    Member,
    Organisation,
    PointEntry,
    VolunteerClaim,
)
from tests.conftest import services_of
from tests.phone import Phone

SECRETARY_1, SECRETARY_2, GENERAL_SECRETARY = "13800000001", "13800000011", "13800000021"
LI = "13800000002"


async def openid_of(db: SessionMaker, phone: str) -> str | None:
    async with db() as session:
        return await session.scalar(select(Member.openid).where(Member.phone == phone))


async def test_a_secretary_unbinds_their_own_member_who_may_bind_again(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    other = await member(SECRETARY_2).bound("孙卫东")
    li = await member(LI).bound("李秀英")

    assert "没有叫「李秀英」的党员" in (await other.send("解绑 李秀英") or "")  # another branch's member
    assert await openid_of(db, LI) == li.openid
    assert "请写上要解除微信绑定的党员姓名" in (await secretary.send("解绑") or "")
    done = await secretary.send("解绑 李秀英")
    assert done and "已解除「李秀英」（塘约村党总支/第一党支部）的微信绑定" in done
    assert await openid_of(db, LI) is None
    assert "没有绑定微信" in (await secretary.send("解绑 李秀英 0002") or "")
    assert "没有手机号后四位是 0003 的「李秀英」" in (await secretary.send("解绑 李秀英 0003") or "")
    assert "不能解除自己的微信绑定" in (await secretary.send("解绑 张建国") or "")
    assert "请先" in (await li.send("积分") or "")  # the old account is no longer the member
    await li.bind("李秀英")
    assert await openid_of(db, LI) == li.openid

    async with db() as session:
        rows = (await session.execute(select(AuditEntry.action, AuditEntry.actor_id, Organisation.path)
                                      .join(Organisation, Organisation.id == AuditEntry.org_id))).all()
        secretary_id = await session.scalar(select(Member.id).where(Member.phone == SECRETARY_1))
    assert [tuple(r) for r in rows] == [("unbind", secretary_id, "塘约村党总支/第一党支部")]


async def test_the_general_branch_secretary_governs_both_branches_and_a_member_cannot(
        live: TestClient, member: Callable[[str], Phone]) -> None:  # type: ignore[type-arg]
    general = await member(GENERAL_SECRETARY).bound("彭光明")
    li = await member(LI).bound("李秀英")
    await member("13800000012").bound("马丽娟")
    assert "仅支部书记和管理员可以使用" in (await li.send("解绑 马丽娟") or "")
    assert "已解除「马丽娟」（塘约村党总支/第二党支部）" in (await general.send("解绑 马丽娟") or "")


async def test_a_moved_member_keeps_points_stars_claims_and_history(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary, other = await member(SECRETARY_1).bound("张建国"), await member(SECRETARY_2).bound("孙卫东")
    li = await member(LI).bound("李秀英")
    approved = await li.volunteer("2 社区环境整治")
    await secretary.send(f"通过 {approved}")
    pending = await li.volunteer("1 义务巡逻")
    async with db.begin() as session:
        li_id = await session.scalar(select(Member.id).where(Member.phone == LI))
        session.add(HeldStar(member_id=li_id, star="学习星", since="2026Q3"))
    before = await li.send("积分")
    settings = services_of(live).settings

    assert await members_move(settings, LI, "第二党支部") == "李秀英 (13800000002): moved to 塘约村党总支/第二党支部"
    assert await members_move(settings, LI, "塘约村党总支/第二党支部") == (
        "李秀英 (13800000002): already in 塘约村党总支/第二党支部")

    assert await li.send("积分") == before
    assert "学习星" in (await li.send("星级") or "")
    mine = await li.send("我的志愿")
    assert mine and "社区环境整治" in mine and "义务巡逻" in mine
    assert f"{pending} 号" not in (await secretary.send("审核") or "")
    assert f"{pending} 号 李秀英" in (await other.send("审核") or "")  # the pending claim went with her
    async with db() as session:
        claims = {c.id: (c.status, c.org_id) for c in await session.scalars(select(VolunteerClaim))}
        first, second = (await session.scalars(select(Organisation.id).where(Organisation.name.in_(
            ["第一党支部", "第二党支部"])).order_by(Organisation.name))).all()
        entries = (await session.scalars(select(PointEntry.member_id))).all()
    assert claims[approved] == (ClaimStatus.APPROVED, first) and claims[pending][1] == second
    assert set(entries) == {li_id}

    first_trail = await audit_trail(settings, "塘约村党总支/第一党支部")
    second_trail = await audit_trail(settings, "第二党支部")
    assert any("\tmember_leave\t" in line and "第一党支部 → 塘约村党总支/第二党支部" in line for line in first_trail)
    assert any("\tmember_join\t" in line for line in second_trail)
    assert not any("member_join" in line for line in first_trail)
    assert await members_unbind(settings, LI) == "李秀英 (13800000002): unbound; they may bind again"
    assert await members_unbind(settings, "13000000000") is None


async def test_a_branch_secretarys_own_claim_is_decided_by_the_general_branch_secretary(
        live: TestClient, member: Callable[[str], Phone]) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    general = await member(GENERAL_SECRETARY).bound("彭光明")
    claim = await secretary.volunteer("2 防汛值守")
    assert "不能审核自己的志愿服务记录" in (await secretary.send(f"通过 {claim}") or "")
    assert f"{claim} 号 张建国" in (await general.send("审核") or "")
    assert "计 2 分" in (await general.send(f"通过 {claim}") or "")


async def test_a_notice_addressed_with_a_full_width_at_and_space_or_nothing_after_it(
        live: TestClient, member: Callable[[str], Phone]) -> None:  # type: ignore[type-arg]
    general = await member(GENERAL_SECRETARY).bound("彭光明")
    preview = await general.send("通知 ＠第二党支部　周六上午开会")
    assert preview and "发送对象：塘约村党总支/第二党支部（含下级组织）共 10 人" in preview and "周六上午开会" in preview
    assert "请在「通知」后面写上通知内容" in (await general.send("通知 @") or "")
    assert "请在「通知」后面写上通知内容" in (await general.send("通知 @第二党支部") or "")
