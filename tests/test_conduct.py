"""扣分 (驾照式扣分) through the webhook, and the 学分卡 rule: absences in `deductions`, the yearly absence notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.storage.db import SessionMaker
from bot.storage.models import (
    AttendanceStatus,
    AuditEntry,
    Campaign,
    Delivery,
    Member,
    PointEntry,
    StarProposal,
)
from bot.wechat.fake import FakeWeChat
from scheduler import runner
from scheduler.content_watch import reload_content
from scheduler.delivery_loop import deliver_due
from tests.conftest import SECRET, AppMaker, Clock, services_of
from tests.meetings import settled
from tests.phone import Phone

TZ = ZoneInfo("Asia/Shanghai")
SECRETARY_1, SECRETARY_2, LI, WANG, MA = "13800000001", "13800000011", "13800000002", "13800000003", "13800000012"
ABSENT, LATE, LEAVE, EXEMPT, PRESENT = (AttendanceStatus.ABSENT, AttendanceStatus.LATE, AttendanceStatus.LEAVE,
                                        AttendanceStatus.EXEMPT, AttendanceStatus.PRESENT)
Phones = Callable[[str], Phone]


@pytest.fixture
async def live(make_client: AppMaker, wechat: FakeWeChat, roster: None, content_dir: Path) -> TestClient:  # type: ignore[type-arg]
    return await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base, send_rate=10_000.0,
                             content_dir=content_dir)


async def run_job(live: TestClient, name: str, at: datetime, *, again: bool = False) -> str:  # type: ignore[type-arg]
    job = runner.find_job(services_of(live), name)
    assert job is not None
    return await runner.run(services_of(live), job, at, again=again)


async def check_in(secretary: Phone, *members: Phone) -> None:
    opened = await secretary.send("发起签到 主题党日 120") or ""
    code = opened.split("签到码：")[1][:4]
    for m in members:
        assert "签到成功" in (await m.send(f"签到 {code}") or "")


async def test_a_deduction_is_previewed_confirmed_told_privately_and_costs_the_self_discipline_star(
        live: TestClient, member: Phones, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li, wang = await member(LI).bound("李秀英"), await member(WANG).bound("王德明")
    await check_in(secretary, li, wang)
    assert "★ 自律星" in (await li.send("星级") or "")

    preview = await secretary.send("扣分 李秀英 扣２分，无故缺席组织生活。")  # voice: full-width, its full stop
    assert preview and "将给李秀英（塘约村党总支/第一党支部）扣 2 分，理由：无故缺席组织生活。" in preview, preview
    async with db() as session:
        assert list(await session.scalars(select(PointEntry.id).where(PointEntry.action == "deduction"))) == []
    done = await secretary.send("确认")
    assert done and "已为李秀英记录扣分 2 分，理由：无故缺席组织生活。" in done, done
    assert "没有待确认" in (await secretary.send("确认") or "")  # once
    await deliver_due(services_of(live))

    assert [m for m in li.pushed() if "扣分通知" in m] == [(
        "【扣分通知】\n你因「无故缺席组织生活」被扣 2 分（驾照式扣分），已记入积分台账，本季度自律星评定会计入。\n"
        "如有疑问，请与支部书记沟通；回复「积分」可查看记录。")]
    assert not [m for p in (secretary, wang) for m in p.pushed() if "扣分" in m]
    points = await li.send("积分")
    assert points and "11月16日 -2 扣分：无故缺席组织生活" in points, points
    stars = await li.send("星级")
    assert stars and "☆ 自律星：本季度有扣分或无故缺席记录，暂不能获得" in stars, stars
    async with db() as session:
        li_id = await session.scalar(select(Member.id).where(Member.phone == LI))
        entries = [(e.member_id, e.action, e.delta, e.reason)
                   for e in await session.scalars(select(PointEntry).where(PointEntry.delta < 0))]
        trail = [(e.member_id, e.action, e.detail) for e in await session.scalars(select(AuditEntry))]
    assert entries == [(li_id, "deduction", -2, "扣分：无故缺席组织生活")]
    assert trail == [(li_id, "points_deduct", "-2: 无故缺席组织生活")]

    clock.now = datetime(2027, 1, 1, 9, 0, tzinfo=TZ)  # the quarter's review: 王德明 earns 自律星, 李秀英 does not
    await run_job(live, "star_review", clock.now)
    async with db() as session:
        granted = {(p, s) for p, s in await session.execute(
            select(Member.name, StarProposal.star).join(Member, Member.id == StarProposal.member_id)
            .where(StarProposal.proposed.is_(True)))}
    assert ("王德明", "自律星") in granted and ("李秀英", "自律星") not in granted


async def test_a_deduction_is_refused_with_a_helpful_reply_and_writes_nothing(
        live: TestClient, member: Phones, db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member(LI).bound("李秀英")
    replies = {
        "扣分": "扣分的格式",
        "扣分 李秀英 2": "请写明理由",
        "扣分 李秀英 打架斗殴": "理由是下列之一时可以不写分数",  # a free reason needs its points
        "扣分 李秀英 11 违反村规民约": "一次最多扣 10 分",
        "扣分 李秀英 0 违反村规民约": "扣分的格式",
        "扣分 张建国 2 自己": "不能给自己扣分",
        "扣分 马丽娟 2 其他支部": "你负责的组织里没有叫「马丽娟」的党员",
        "扣分 彭光明 2 上级": "你负责的组织里没有叫「彭光明」的党员",  # the 党总支's secretary is above the branch
        "扣分 李秀英 0099 2 理由": "你负责的组织里没有手机号后四位是 0099 的「李秀英」",
    }
    for text, expected in replies.items():
        assert expected in (await secretary.send(text) or ""), text
    assert "仅支部书记" in (await li.send("扣分 王德明 2 理由") or "")
    assert "将给李秀英（塘约村党总支/第一党支部）扣 3 分，理由：违反村规民约" in (
        await secretary.send("扣分 李秀英 违反村规民约") or "")  # a listed reason takes its points
    assert "取消" in (await secretary.send("取消") or "")
    async with db() as session:
        assert list(await session.scalars(select(PointEntry.id))) == []
        assert list(await session.scalars(select(AuditEntry.id))) == []
        assert list(await session.scalars(select(Campaign.id))) == []


async def test_two_of_a_name_in_the_branch_are_told_apart_by_the_phones_last_four_digits(
        live: TestClient, member: Phones, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    async with db.begin() as session:
        li = await session.scalar(select(Member).where(Member.phone == LI))
        assert li is not None
        session.add(Member(name="李秀英", phone="13900009999", org_id=li.org_id, created_at=clock()))
    asked = await secretary.send("扣分 李秀英 2 无故缺席")
    assert asked and "有 2 位党员叫「李秀英」，请加手机号后四位，如「扣分 李秀英 0002 2 理由」" in asked, asked
    assert "扣 2 分" in (await secretary.send("扣分 李秀英 9999 2 无故缺席") or "")
    await secretary.send("确认")
    async with db() as session:
        assert list(await session.scalars(select(Member.phone).join(PointEntry))) == ["13900009999"]


async def test_unexcused_absences_count_as_deductions_by_the_rules_and_leave_or_exemption_never(
        live: TestClient, member: Phones, db: SessionMaker, content_dir: Path) -> None:  # type: ignore[type-arg]
    li, wang = await member(LI).bound("李秀英"), await member(WANG).bound("王德明")
    ma = await member(MA).bound("马丽娟")
    at = datetime(2026, 11, 2, 14, 30, tzinfo=TZ)
    await settled(db, starts_at=at, statuses={LI: LATE, WANG: LEAVE})
    await settled(db, starts_at=at.replace(day=9), statuses={LI: LATE, WANG: EXEMPT})
    await settled(db, starts_at=at.replace(day=10), statuses={MA: ABSENT})
    await settled(db, starts_at=datetime(2026, 9, 30, 14, tzinfo=TZ), statuses={WANG: ABSENT})  # Q3
    assert "本季度有扣分或无故缺席记录" in (await li.send("星级") or "")  # two late arrivals: one absence
    assert "本季度有扣分或无故缺席记录" in (await ma.send("星级") or "")
    assert "本季度有扣分或无故缺席记录" not in (await wang.send("星级") or "")  # leave, exemption, last quarter
    rules = content_dir / "rules.toml"
    rules.write_text(rules.read_text().replace("absences_count_as_deductions = true",
                                               "absences_count_as_deductions = false"))
    assert await reload_content(services_of(live))
    assert "本季度有扣分或无故缺席记录" not in (await li.send("星级") or "")


def live_db(live: TestClient) -> SessionMaker:  # type: ignore[type-arg]
    return services_of(live).sessionmaker


async def test_more_unexcused_absences_than_the_rule_allows_are_told_once_to_the_members_branch_secretary(
        live: TestClient, member: Phones, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    secretaries = {n: await member(n).bound(name) for n, name in ((SECRETARY_1, "张建国"), (SECRETARY_2, "孙卫东"),
                                                                   ("13800000021", "彭光明"))}
    li, wang, ma = await member(LI).bound("李秀英"), await member(WANG).bound("王德明"), await member(MA).bound("马丽娟")
    for day, statuses in ((2, {LI: ABSENT, WANG: ABSENT, MA: ABSENT}), (9, {LI: LATE, WANG: ABSENT, MA: ABSENT}),
                          (10, {LI: ABSENT, WANG: PRESENT, MA: LEAVE}), (12, {LI: LATE, WANG: LEAVE, MA: EXEMPT})):
        await settled(db, starts_at=datetime(2026, 11, day, 14, 30, tzinfo=TZ), statuses=statuses)
    await settled(db, starts_at=datetime(2025, 12, 1, 14, 30, tzinfo=TZ), statuses={MA: ABSENT})  # last year
    clock.now = datetime(2026, 11, 16, 20, 0, tzinfo=TZ)
    assert await run_job(live, "absence_notice", clock.now) == "absences 2026: 1 members noted"
    assert await run_job(live, "absence_notice", clock.now) == ""  # this fire time ran
    assert await run_job(live, "absence_notice", clock.now, again=True) == "absences 2026: 0 members noted"
    await settled(db, starts_at=datetime(2026, 11, 17, 14, 30, tzinfo=TZ), statuses={LI: ABSENT})
    clock.now = datetime(2026, 11, 17, 20, 0, tzinfo=TZ)
    assert await run_job(live, "absence_notice", clock.now) == "absences 2026: 0 members noted"  # once a year
    await deliver_due(services_of(live))

    told = {n: [m for m in p.pushed() if "无故缺席提醒" in m] for n, p in secretaries.items()}
    assert told[SECRETARY_1] == [(
        "【无故缺席提醒】李秀英今年（2026年）无故缺席组织生活已达 3 次（缺席 2 次，迟到 2 次，每迟到 2 次算缺席 1 次），"
        "超过每年 2 次。\n请及时谈心谈话，了解原因（本提醒仅书记可见，今年不再重复）。请假和豁免不计在内。")]
    assert told[SECRETARY_2] == [] and told["13800000021"] == []  # 马丽娟 2, 王德明 2: not more than 2
    assert not [m for p in (li, wang, ma) for m in p.pushed() if "缺席" in m]
    async with db() as session:
        rows = (await session.execute(select(Campaign.key, Delivery.member_id).join(Delivery))).all()
    assert len(rows) == 1 and rows[0][0] == "absences:2026:" + str(await _id(db, LI))


async def _id(db: SessionMaker, phone: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Member.id).where(Member.phone == phone))
        assert found is not None
        return found


async def test_points_after_a_deduction_say_they_made_it_up_first_not_that_the_month_is_full(
        live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member(LI).bound("李秀英")
    await secretary.send("扣分 李秀英 2 无故缺席组织生活")
    assert "已" in (await secretary.send("确认") or "")
    opened = await secretary.send("发起签到 主题党日 120") or ""
    reply = await li.send(f"签到 {opened.split('签到码：')[1][:4]}") or ""
    assert "本月有扣分，这次的 2 分先抵扣扣分，计 0 分" in reply and "本月已满" not in reply, reply
