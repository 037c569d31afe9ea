"""Volunteer service end to end through the webhook: claim, photo, approval, points, the quarter's stars."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.storage.db import SessionMaker
from bot.storage.models import AuditEntry, ClaimStatus, PointEntry, VolunteerClaim
from scheduler import runner
from scheduler.delivery_loop import deliver_due
from tests.conftest import Clock, services_of
from tests.phone import Phone

SECRETARY_1, SECRETARY_2 = "13800000001", "13800000011"
TZ = ZoneInfo("Asia/Shanghai")






async def volunteer_points(db: SessionMaker) -> list[tuple[str, int]]:
    async with db() as session:
        rows = await session.execute(select(PointEntry.event_key, PointEntry.delta)
                                     .where(PointEntry.action == "volunteer_hour").order_by(PointEntry.id))
        return [(key, delta) for key, delta in rows]


async def test_claim_photo_approval_points_then_the_quarter_review_and_the_stars_explanation(
        live: TestClient, member: Callable[[str], Phone], clock: Clock, db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")

    first = await li.volunteer("2 社区环境整治")
    assert "照片已附在志愿服务" in (await li.photo("http://example.invalid/clean-up.jpg") or "")
    second = await li.volunteer("3 义务巡逻")
    pending = await secretary.send("审核")
    assert pending and f"{first} 号 李秀英 2 小时 社区环境整治（有照片）" in pending and f"{second} 号" in pending

    assert "计 2 分" in (await secretary.send(f"通过 {first}") or "")
    assert "计 3 分" in (await secretary.send(f"通过 {second}") or "")
    await deliver_due(services_of(live))
    told = li.pushed()
    assert any(f"志愿服务 {first} 号（2 小时，社区环境整治）已确认，计 2 分" in m for m in told), told

    points = await li.send("积分")
    assert points and "+2 志愿服务（每小时）：社区环境整治" in points and "本月（11月）：5 分" in points
    mine = await li.send("我的志愿")
    assert mine and "已确认 5 小时" in mine and "有照片" in mine
    before = await li.send("星级")
    assert before and "★ 服务星：已达到（完成志愿服务 5 小时）" in before and "现有 0 颗星" in before

    clock.now = datetime(2027, 1, 1, 9, 0, tzinfo=TZ)  # the quarter-start review of 2026Q4
    job = runner.find_job(services_of(live), "star_review")
    assert job is not None
    outcome = await runner.run(services_of(live), job, clock.now)
    assert outcome.startswith("star review 2026Q4: 3 reviews"), outcome  # one per organisation with members
    assert await runner.run(services_of(live), job, clock.now) == ""  # once per fire time
    await deliver_due(services_of(live))
    assert not any("摘星授星结果" in m for m in li.pushed())  # nobody is told before the secretary confirms

    proposals = await secretary.send("评星")  # the reminder waits: the window closed during December
    assert proposals and "李秀英 授服务星（完成志愿服务 5 小时）" in proposals and "1 条未读通知" in proposals
    assert "评星提醒" in (await secretary.send("通知") or "")
    confirmed = await secretary.send("评星 确认")
    assert confirmed and "2026Q4 摘星授星已确认" in confirmed
    await deliver_due(services_of(live))

    stars = await li.send("星级")  # the window had closed: the result waits for the member
    assert stars and "现有 1 颗星：服务星" in stars
    assert "2027年1月1日 获得服务星（完成志愿服务 5 小时）" in stars
    assert "☆ 服务星：再完成志愿服务 4 小时即可获得服务星" in stars  # the new quarter starts from zero
    result = await li.send("通知")
    assert result and "★ 获得服务星：完成志愿服务 5 小时" in result
    assert "没有待评定" in (await secretary.send("评星") or "")


async def test_a_rejected_claim_earns_nothing_and_the_member_is_told_why(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    number = await li.volunteer("8 社区环境整治")

    assert "驳回需要写明理由" in (await secretary.send(f"驳回 {number}") or "")
    assert "理由：时长与活动记录不符" in (await secretary.send(f"驳回 {number} 时长与活动记录不符") or "")
    assert "已经审核过了" in (await secretary.send(f"通过 {number}") or "")
    await deliver_due(services_of(live))

    assert any("未通过确认" in m and "理由：时长与活动记录不符" in m for m in li.pushed())
    assert await volunteer_points(db) == []
    assert "未通过（时长与活动记录不符）" in (await li.send("我的志愿") or "")
    assert "再完成志愿服务 4 小时" in (await li.send("星级") or "")
    async with db() as session:
        trail = (await session.execute(select(AuditEntry.action, AuditEntry.subject, AuditEntry.detail))).all()
    assert [tuple(t) for t in trail] == [("volunteer_reject", f"volunteer:{number}", "8 小时，驳回：时长与活动记录不符")]


async def test_a_secretary_of_another_branch_cannot_approve_and_nobody_approves_their_own(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    other = await member(SECRETARY_2).bound("孙卫东")
    li = await member("13800000002").bound("李秀英")
    number = await li.volunteer("2 社区环境整治")

    assert "没有找到你所在支部的志愿服务" in (await other.send(f"通过 {number}") or "")
    assert "没有待审核" in (await other.send("审核") or "")
    assert "仅支部书记和管理员可以使用" in (await li.send(f"通过 {number}") or "")
    own = await secretary.volunteer("2 走访困难党员")
    assert "不能审核自己的" in (await secretary.send(f"通过 {own}") or "")

    async with db() as session:
        statuses = set(await session.scalars(select(VolunteerClaim.status)))
    assert statuses == {ClaimStatus.PENDING}
    assert await volunteer_points(db) == []


async def test_concurrent_approvals_of_one_claim_give_points_once(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    number = await li.volunteer("2 社区环境整治")

    replies = await asyncio.gather(*(secretary.send(f"通过 {number}") for _ in range(6)))
    assert sum("计 2 分" in (r or "") for r in replies) == 1, replies
    assert sum("已经审核过了" in (r or "") for r in replies) == 5, replies
    assert await volunteer_points(db) == [(f"volunteer:{number}", 2)]
    async with db() as session:
        audits = await session.scalar(select(func.count()).select_from(AuditEntry))
    assert audits == 1
    await deliver_due(services_of(live))
    assert sum("已确认" in m for m in li.pushed()) == 1


async def test_a_wrong_claim_gets_the_format_and_a_stray_photo_is_explained(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    for text in ("志愿", "志愿 社区环境整治", "志愿 30 防汛", "志愿 1.2 清扫"):
        assert "志愿 2 社区环境整治" in (await li.send(text) or ""), text
    assert "请先发「志愿 时长 内容」" in (await li.photo("http://example.invalid/x.jpg") or "")
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(VolunteerClaim)) == 0


async def test_a_part_hour_claim_is_told_that_points_count_whole_hours(
        live: TestClient, member: Callable[[str], Phone]) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    assert "不足一小时的部分不计分" in (await li.send("志愿 1.5 打扫卫生") or "")
    assert "不足一小时的部分不计分" not in (await li.send("志愿 2 打扫卫生") or "")


async def test_the_same_claim_sent_again_while_it_waits_is_not_a_second_one(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker,  # type: ignore[type-arg]
        clock: Clock) -> None:
    """Members resend when the first reply seemed slow (field trial): the same hours and words, the same day, while
    the first still waits, point to the first; other words, a decided claim or another day make a new one."""
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    first = await li.volunteer("2 打扫卫生")
    for same in ("志愿 2 打扫卫生。", "志愿 2  打扫 卫生", "志愿 2小时，打扫卫生！"):
        again = await li.send(same)
        assert again and f"已经记录过了：{first} 号，2 小时，打扫卫生，" in again and "不会重复计分" in again, same
    other_words = await li.volunteer("2 打扫卫生（下午）")
    other_hours = await li.volunteer("3 打扫卫生")
    assert len({first, other_words, other_hours}) == 3
    await secretary.send(f"通过 {first}")
    after_decision = await li.volunteer("2 打扫卫生")  # the first is no longer waiting: a new service
    clock.advance(days=1)
    next_day = await li.volunteer("3 打扫卫生")
    async with db() as session:
        numbers = (await session.scalars(select(VolunteerClaim.id).order_by(VolunteerClaim.id))).all()
    assert list(numbers) == sorted((first, other_words, other_hours, after_decision, next_day))
