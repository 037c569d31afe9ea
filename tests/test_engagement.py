"""Micro-wishes, overruling a star review, automatic confirmation, boards, follow-up, corrections, reports."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from bot.ops.operators import audit_trail, report
from bot.repo.orgs import OrgLookupError
from bot.reports.layout import write_csv, write_xlsx
from bot.rules.periods import parse_quarter
from bot.storage.db import SessionMaker
from bot.storage.models import AuditEntry, Member, PointEntry, Wish
from bot.wechat.fake import FakeWeChat
from scheduler import runner
from scheduler.delivery_loop import deliver_due
from tests.conftest import SECRET, AppMaker, Clock, services_of
from tests.phone import Phone

SECRETARY_1, SECRETARY_2 = "13800000001", "13800000011"
TZ = ZoneInfo("Asia/Shanghai")
RESIDENT, RESIDENT_PHONE = "王秀兰", "13912345678"


@pytest.fixture
async def live(make_client: AppMaker, wechat: FakeWeChat, roster: None, content_dir: Path) -> TestClient:  # type: ignore[type-arg]
    return await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base, send_rate=10_000.0,
                             content_dir=content_dir)





async def test_a_micro_wish_from_posting_to_acceptance_never_shows_the_resident(
        live: TestClient, member: Callable[[str], Phone], wechat: FakeWeChat, db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    wang = await member("13800000003").bound("王德明")
    other_branch = await member("13800000012").bound("马丽娟")
    replies = [
        await secretary.send(f"心愿 {RESIDENT}想要一台收音机 {RESIDENT} {RESIDENT_PHONE}"),  # refused: names her
        await secretary.send(f"心愿 想要一台收音机听新闻 {RESIDENT} {RESIDENT_PHONE}"),
        await li.send("心愿 想要一台收音机 某人 13900000000"),  # members cannot post
    ]
    assert "不能有居民的姓名或电话" in (replies[0] or "") and "已发布" in (replies[1] or "")
    n = int(re.search(r"已发布 (\d+) 号", replies[1] or "").group(1))  # type: ignore[union-attr]
    assert "仅支部书记" in (replies[2] or "")

    listing = await li.send("心愿")
    assert listing and f"{n} 号 想要一台收音机听新闻" in listing
    assert "没有待认领" in (await other_branch.send("心愿") or "")
    replies += [listing, await other_branch.send(f"认领 {n}")]
    assert f"没有找到本支部的 {n} 号" in (replies[-1] or "")
    replies.append(await li.send(f"认领 {n}"))
    assert f"你已认领 {n} 号微心愿" in (replies[-1] or "")
    replies += [await wang.send(f"认领 {n}"), await wang.send(f"完成 {n}"), await secretary.send(f"验收 {n}")]
    assert "已经有人认领" in (replies[-3] or "") and "不是你认领的" in (replies[-2] or "")
    assert "还没有报完成" in (replies[-1] or "")
    replies += [await li.send(f"完成 {n}"), await secretary.send("心愿"), await secretary.send(f"验收 {n}")]
    assert "收集 1 个，已认领 1 个，已实现 0 个" in (replies[-2] or "") and f"待验收：{n} 号" in (replies[-2] or "")
    assert "认领的党员计 2 分" in (replies[-1] or "")
    replies.append(await secretary.send("心愿"))
    assert "收集 1 个，已认领 1 个，已实现 1 个" in (replies[-1] or "")
    await deliver_due(services_of(live))

    assert any(f"李秀英认领了 {n} 号微心愿" in m for m in secretary.pushed())
    assert any(f"{n} 号微心愿（想要一台收音机听新闻）已验收，计 2 分" in m for m in li.pushed())
    everything = [r or "" for r in replies] + [m.content for m in wechat.sent]
    assert not [text for text in everything if RESIDENT in text or RESIDENT_PHONE in text]
    async with db() as session:
        wish = await session.scalar(select(Wish))
        entry = await session.scalar(select(PointEntry).where(PointEntry.action == "wish"))
    assert wish and (wish.resident_name, wish.resident_phone, wish.status) == (RESIDENT, RESIDENT_PHONE, "fulfilled")
    assert entry and entry.delta == 2 and entry.reason == "认领并完成微心愿：想要一台收音机听新闻"


async def test_the_secretary_overrules_a_proposal_with_a_reason_and_the_member_is_told_why(
        live: TestClient, member: Callable[[str], Phone], clock: Clock, db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    clock.now = datetime(2027, 1, 1, 9, 0, tzinfo=TZ)
    job = runner.find_job(services_of(live), "star_review")
    assert job is not None
    await runner.run(services_of(live), job, clock.now)

    assert "评星的用法" in (await secretary.send("评星 授 李秀英 星星 理由") or "")
    assert "你负责的组织里没有叫「马丽娟」的党员" in (await secretary.send("评星 授 马丽娟 服务星 其他支部") or "")
    assert "不能调整自己的星级" in (await secretary.send("评星 授 张建国 服务星 自己") or "")
    changed = await secretary.send("评星 授 李秀英 服务星 长期照顾孤寡老人，未及时登记")
    assert changed and "授予服务星，理由：长期照顾孤寡老人，未及时登记" in changed
    assert "已调整：长期照顾孤寡老人" in (await secretary.send("评星") or "")
    await secretary.send("评星 确认")
    await deliver_due(services_of(live))

    stars = await li.send("星级")
    assert stars and "现有 1 颗星：服务星" in stars and "获得服务星（长期照顾孤寡老人，未及时登记）" in stars
    assert "★ 获得服务星：长期照顾孤寡老人，未及时登记" in (await li.send("通知") or "")
    async with db() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["star_overrule", "star_confirm"]
    lines = await audit_trail(services_of(live).settings, "第一党支部")
    assert lines and "张建国\t李秀英\tstar_overrule\tstar:服务星\t定为有此星：长期照顾孤寡老人，未及时登记" in lines[0]


async def test_small_branches_confirm_automatically_when_the_rules_say_so(
        live: TestClient, member: Callable[[str], Phone], clock: Clock, content_dir: Path) -> None:  # type: ignore[type-arg]
    rules = content_dir / "rules.toml"
    rules.write_text(rules.read_text().replace("auto_confirm_max_members = 0", "auto_confirm_max_members = 10"))
    from scheduler.content_watch import reload_content
    assert await reload_content(services_of(live))
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    await secretary.send(f"通过 {await li.volunteer('4 防汛值守')}")
    clock.now = datetime(2027, 1, 1, 9, 0, tzinfo=TZ)
    job = runner.find_job(services_of(live), "star_review")
    assert job is not None
    assert "3 confirmed automatically" in await runner.run(services_of(live), job, clock.now)

    assert "没有待评定" in (await secretary.send("评星") or "")
    assert "现有 1 颗星：服务星" in (await li.send("星级") or "")


async def test_the_points_board_shows_the_top_ten_this_month_and_members_may_leave_it(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li, wang = await member("13800000002").bound("李秀英"), await member("13800000003").bound("王德明")
    assert "本月还没有人获得积分" in (await li.send("排行") or "")
    await secretary.send(f"通过 {await li.volunteer('3 社区环境整治')}")
    await secretary.send(f"通过 {await wang.volunteer('1 社区环境整治')}")
    board = await wang.send("排行")
    assert board and "第一党支部 11月积分榜" in board and "第1名 李秀英 3 分\n第2名 王德明 1 分" in board
    assert "不会出现在积分榜上" in (await li.send("隐藏排行") or "")
    board = await wang.send("排行")
    assert board and "李秀英" not in board and "第1名 王德明 1 分" in board
    await li.send("显示排行")
    assert "李秀英" in (await wang.send("排行") or "")


async def test_follow_up_list_is_for_the_secretary_only(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    async with db.begin() as session:  # the roster has been there since 2022; 李秀英 earned 100 in 2026 so far
        for m in await session.scalars(select(Member)):
            m.created_at = datetime(2022, 3, 1, tzinfo=TZ)
        li_id = await session.scalar(select(Member.id).where(Member.name == "李秀英"))
        session.add_all(PointEntry(member_id=li_id, action="checkin", delta=10, reason="签到", event_key=f"k{m}",
                                   occurred_at=datetime(2026, m, 2, tzinfo=TZ)) for m in range(1, 11))
    listing = await secretary.send("待关注")
    assert listing and "仅书记可见" in listing
    assert "王德明：今年 0 分，进度低于 60 分标准；连续 3 年不足 60 分" in listing
    assert "李秀英：" in listing and "李秀英：今年" not in listing  # on pace this year, but 2023–2025 were empty
    assert "仅支部书记和管理员可以使用" in (await li.send("待关注") or "")
    for command in ("积分", "星级", "排行"):
        assert "待关注" not in (await li.send(command) or "") and "不足 60 分" not in (await li.send(command) or "")


async def test_a_correction_is_a_new_entry_with_its_reason_and_an_audit_line(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    await secretary.send(f"通过 {await li.volunteer('3 社区环境整治')}")
    assert "更正积分的格式" in (await secretary.send("调整 李秀英 两分 重复") or "")
    assert "不能更正自己的积分" in (await secretary.send("调整 张建国 +5 自己加分") or "")
    assert "你负责的组织里没有叫「马丽娟」的党员" in (await secretary.send("调整 马丽娟 -1 其他支部") or "")
    done = await secretary.send("调整 李秀英 -1 时长多记了一小时")
    assert done and "已为李秀英记录积分更正 -1 分" in done
    points = await li.send("积分")
    assert points and "本月（11月）：2 分" in points and "-1 积分更正：时长多记了一小时" in points
    async with db() as session:
        entries = [(e.action, e.delta) for e in await session.scalars(select(PointEntry).order_by(PointEntry.id))]
    assert entries == [("volunteer_hour", 3), ("correction", -1)]  # nothing was changed in place
    stars = await li.send("星级")  # a correction is not a deduction for conduct: 自律星 needs only a check-in
    assert stars and "☆ 自律星：再参加组织活动签到 1 次即可获得自律星" in stars and "扣分记录" not in stars


async def test_service_star_of_the_month_is_announced_to_the_branch_on_the_first(
        live: TestClient, member: Callable[[str], Phone], clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li, wang = await member("13800000002").bound("李秀英"), await member("13800000003").bound("王德明")
    other = await member("13800000012").bound("马丽娟")
    wangs, lis = await wang.volunteer("2 义务巡逻"), await li.volunteer("2 社区环境整治")
    await secretary.send(f"通过 {wangs}")  # 王德明 reaches 2 hours first
    clock.advance(hours=1)
    await secretary.send(f"通过 {lis}")
    clock.now = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
    job = runner.find_job(services_of(live), "service_star")
    assert job is not None
    assert await runner.run(services_of(live), job, clock.now) == "service stars of 2026-11: 1 branches"
    await deliver_due(services_of(live))  # two weeks on, every window is closed: the news waits for `通知`
    assert "【11月服务之星】王德明同志\n上月完成经确认的志愿服务 2 小时" in (await li.send("通知") or "")
    assert "服务之星" not in (await other.send("通知") or "")
    assert await runner.run(services_of(live), job, clock.now, again=True) == "service stars of 2026-11: 1 branches"
    await deliver_due(services_of(live))
    assert "服务之星" not in (await li.send("通知") or "")  # announced once


async def test_quarter_report_as_xlsx_and_csv_and_the_chat_summary(
        live: TestClient, member: Callable[[str], Phone], tmp_path: Path) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    await secretary.send(f"通过 {await li.volunteer('3 社区环境整治')}")
    settings = services_of(live).settings
    quarter = parse_quarter("2026Q4")
    assert quarter is not None
    built = await report(settings, "第一党支部", quarter, datetime(2026, 11, 16).date())
    with pytest.raises(OrgLookupError, match="第九党支部"):
        await report(settings, "第九党支部", quarter, quarter.start)

    write_xlsx(built, tmp_path / "q4.xlsx")
    book = load_workbook(tmp_path / "q4.xlsx")
    rows = list(book["成员"].iter_rows(values_only=True))
    assert rows[0][:5] == ("姓名", "10月积分", "11月积分", "12月积分", "季度积分")
    li_row = next(r for r in rows if r[0] == "李秀英")
    assert li_row[1:5] == (0, 3, 0, 3) and li_row[rows[0].index("确认志愿服务（小时）")] == 3
    assert len(rows) == 11  # the header and ten members of 第一党支部
    summary = list(book["汇总"].iter_rows(values_only=True))
    assert ("党员人数", 10) in summary and ("11月", 3) in summary and ("0", 10) in [(str(a), b) for a, b, *_ in
                                                                                  summary if a is not None]
    assert len(book["汇总"]._charts) == 1

    write_csv(built, tmp_path / "q4.csv")
    with (tmp_path / "q4.csv").open(encoding="utf-8-sig") as f:
        assert next(r for r in csv.reader(f) if r[0] == "李秀英")[1:5] == ["0", "3", "0", "3"]

    text = await secretary.send("报表")
    assert text and "第一党支部 2026Q4 季度报表" in text and "党员 10 人" in text and "11月 3 分" in text
    assert "确认志愿服务 3 小时" in text
