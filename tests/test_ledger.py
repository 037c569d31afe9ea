"""The 台账: `palmbot ledger` writes every meeting of a subtree's year as stored (names by standing, minutes
exactly as sent), a sheet per type and a year summary; `台账` in chat gives a secretary the month."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ops.cli import main
from bot.repo import ledger
from bot.reports.ledger import Attendee, MeetingRecord, meeting_row, tally
from bot.storage.db import SessionMaker
from bot.storage.models import Meeting, Member
from tests import meeting_rows
from tests.conftest import ROOT, TZ
from tests.phone import Phone

BRANCH_1, BRANCH_2 = "塘约村党总支/第一党支部", "塘约村党总支/第二党支部"
FIRST_MINUTES = "一、传达学习党的二十届四中全会精神；\n二、讨论冬季防火安排，责任到户。"
SECOND_MINUTES = "补充：王德明、吴淑珍请假，已电话告知会议内容 😊"
FORMULA = '=HYPERLINK("http://example.com","点此")'  # typed text that a spreadsheet would run as a formula
PHOTO = "http://mmbiz.qpic.cn/mmbiz_jpg/minutes-1/0"
# the December 党员大会 of 第一党支部: each of its ten members' standing and catch-up, in roster order
DECEMBER = [("张建国", "present", None), ("李秀英", "late", None), ("王德明", "leave", None),
            ("赵春花", "absent", "补学"), ("刘志强", "absent", "送学"), ("陈桂兰", "exempt", None),
            ("杨立新", "absent", None), ("黄小燕", "present", None), ("周海涛", "present", None),
            ("吴淑珍", "leave", "补学")]


async def standing(session: AsyncSession, org: int, rows: list[tuple[str, str, str | None]]
                   ) -> list[tuple[int, str, str | None]]:
    return [(await meeting_rows.member_id(session, name, org), status, makeup) for name, status, makeup in rows]


async def store_year(session: AsyncSession) -> dict[str, Meeting]:
    """2026 in 塘约村: two 党员大会 and a 主题党日 of 第一党支部 held, a 党课 of 第二党支部 planned; one of 2025."""
    first, second = [await meeting_rows.org_id(session, p) for p in (BRANCH_1, BRANCH_2)]
    secretary = await meeting_rows.member_id(session, "张建国", first)
    december = await meeting_rows.meeting(session, org=first, kind="党员大会", topic="学习全会精神", place="村委会",
                                          starts_at=datetime(2026, 12, 20, 14, 30, tzinfo=TZ), closed=True)
    await meeting_rows.attendance(session, december, await standing(session, first, DECEMBER))
    await meeting_rows.minute(session, december, author=secretary, at=datetime(2026, 12, 20, 16, 40, tzinfo=TZ),
                              text=FIRST_MINUTES)
    await meeting_rows.minute(session, december, author=secretary, at=datetime(2026, 12, 20, 16, 41, tzinfo=TZ),
                              photo_url=PHOTO)
    await meeting_rows.minute(session, december, author=secretary, at=datetime(2026, 12, 20, 17, 0, tzinfo=TZ),
                              text=SECOND_MINUTES)
    march = await meeting_rows.meeting(session, org=first, kind="党员大会", topic="两会精神", place="党群服务中心",
                                       starts_at=datetime(2026, 3, 10, 9, 0, tzinfo=TZ), closed=True)
    await meeting_rows.attendance(session, march, await standing(
        session, first, [("张建国", "late", None), ("李秀英", "absent", None)]))
    await meeting_rows.minute(session, march, author=secretary, at=datetime(2026, 3, 10, 12, 0, tzinfo=TZ),
                              text=FORMULA)
    theme = await meeting_rows.meeting(session, org=first, kind="主题党日", topic="重温入党誓词", place="村委会",
                                       starts_at=datetime(2026, 11, 15, 9, 0, tzinfo=TZ), closed=True)
    await meeting_rows.attendance(session, theme, await standing(
        session, first, [("张建国", "present", None), ("李秀英", "present", None), ("王德明", "absent", "补学")]))
    lecture = await meeting_rows.meeting(session, org=second, kind="党课", topic="乡村振兴", place="文化广场",
                                         starts_at=datetime(2026, 11, 10, 15, 0, tzinfo=TZ), closed=True)
    planned = await meeting_rows.meeting(session, org=first, kind="党员大会", topic="年终总结", place="村委会",
                                         starts_at=datetime(2026, 11, 20, 9, 0, tzinfo=TZ))
    await meeting_rows.meeting(session, org=first, kind="支委会", starts_at=datetime(2025, 12, 30, 9, 0, tzinfo=TZ),
                               closed=True)
    return {"december": december, "theme": theme, "lecture": lecture, "planned": planned}


async def test_palmbot_ledger_writes_every_cell_of_a_meeting_exactly_as_stored(
        live: TestClient, db: SessionMaker, cli_env: None, tmp_path: Path,  # type: ignore[type-arg]
        capsys: pytest.CaptureFixture[str]) -> None:
    async with db.begin() as session:
        await store_year(session)
    out = tmp_path / "ledger.xlsx"
    assert await asyncio.to_thread(main, ["ledger", "--org", "塘约村党总支", "--year", "2026", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}: 塘约村党总支 2026, 5 meetings\n"

    book = load_workbook(out)
    assert book.sheetnames == ["党员大会", "支委会", "党小组会", "党课", "主题党日", "年度汇总"]
    general = list(book["党员大会"].iter_rows(values_only=True))
    assert general[0] == ("组织", "日期", "开始", "结束", "地点", "主题", "状态", "按时出席", "迟到", "请假", "缺席",
                          "豁免", "补学", "送学", "纪要", "照片（张）", "照片链接")
    assert [row[1] for row in general[1:]] == [datetime(2026, 3, 10), datetime(2026, 11, 20), datetime(2026, 12, 20)]
    assert general[3] == (BRANCH_1, datetime(2026, 12, 20), time(14, 30), time(16, 30), "村委会", "学习全会精神", "已召开",
                          "张建国、黄小燕、周海涛", "李秀英", "王德明、吴淑珍", "赵春花、刘志强、杨立新", "陈桂兰",
                          "赵春花、吴淑珍", "刘志强", f"{FIRST_MINUTES}\n{SECOND_MINUTES}", 1, PHOTO)
    assert general[2] == (BRANCH_1, datetime(2026, 11, 20), time(9, 0), time(11, 0), "村委会", "年终总结", "计划中",
                          None, None, None, None, None, None, None, None, 0, None)  # planned: no attendance yet
    assert list(book["支委会"].iter_rows(values_only=True))[1:] == []  # 2025's is not this year's
    assert list(book["党课"].iter_rows(values_only=True))[1][:7] == (
        BRANCH_2, datetime(2026, 11, 10), time(15, 0), time(17, 0), "文化广场", "乡村振兴", "已召开")

    sheet = book["党员大会"]
    assert (sheet["O2"].value, sheet["O2"].data_type) == (FORMULA, "s")  # as sent, never a formula
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert (sheet.column_dimensions["A"].width, sheet.column_dimensions["O"].width) == (28, 60)
    assert (sheet["B4"].number_format, sheet["C4"].number_format, sheet["D4"].number_format) == (
        "yyyy-mm-dd", "hh:mm", "hh:mm")
    assert sheet["O4"].alignment.wrap_text and sheet["Q4"].alignment.wrap_text and not sheet["F4"].alignment.wrap_text

    summary = book["年度汇总"]
    assert summary.freeze_panes == "A2"
    assert list(summary.iter_rows(values_only=True)) == [
        ("组织", "类型", "召开次数", "计划中", "按时出席", "迟到", "请假", "缺席", "豁免", "补学", "送学"),
        (BRANCH_1, "党员大会", 2, 1, 3, 2, 2, 4, 1, 2, 1),
        (BRANCH_1, "主题党日", 1, 0, 2, 0, 0, 1, 0, 1, 0),
        (BRANCH_2, "党课", 1, 0, 0, 0, 0, 0, 0, 0, 0),
    ]


async def test_the_ledger_of_a_branch_leaves_out_the_other_branch(
        live: TestClient, db: SessionMaker, cli_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[type-arg]
        capsys: pytest.CaptureFixture[str]) -> None:
    async with db.begin() as session:
        await store_year(session)
    monkeypatch.chdir(tmp_path)
    assert await asyncio.to_thread(main, ["ledger", "--org", "第一党支部", "--year", "2026"]) == 0
    book = load_workbook(tmp_path / "台账-第一党支部-2026.xlsx")
    assert list(book["党课"].iter_rows(values_only=True))[1:] == []
    assert {row[0] for row in book["年度汇总"].iter_rows(min_row=2, values_only=True)} == {BRANCH_1}
    assert await asyncio.to_thread(main, ["ledger", "--org", "第九党支部", "--year", "2026"]) == 1
    assert "第九党支部" in capsys.readouterr().err


async def test_namesakes_in_one_meeting_carry_their_phone_digits(live: TestClient, db: SessionMaker) -> None:  # type: ignore[type-arg]
    async with db.begin() as session:
        first = await meeting_rows.org_id(session, BRANCH_1)
        other = Member(name="王德明", phone="13800000031", org_id=first, role="党员", created_at=datetime.now(TZ))
        session.add(other)
        await session.flush()
        held = await meeting_rows.meeting(session, org=first, kind="党员大会", closed=True,
                                          starts_at=datetime(2026, 12, 20, 14, 30, tzinfo=TZ))
        await meeting_rows.attendance(session, held, [(await meeting_rows.member_id(session, "李秀英", first), "present",
                                                       None)] + [(m.id, status, None) for m, status in zip(
            await session.scalars(select(Member).where(Member.name == "王德明").order_by(Member.id)),
            ("late", "absent"), strict=True)])
        records = await ledger.meetings(session, org_ids=[first], start=datetime(2026, 12, 1, tzinfo=TZ),
                                        end=datetime(2027, 1, 1, tzinfo=TZ), tz=TZ)
    assert [(a.name, a.status) for a in records[0].attendance] == [
        ("李秀英", "present"), ("王德明（0003）", "late"), ("王德明（0031）", "absent")]


def test_a_row_is_shaped_from_plain_values_and_a_planned_meeting_shows_nobody() -> None:
    at = datetime(2026, 12, 20, 14, 30, tzinfo=TZ)
    record = MeetingRecord(1, 1, BRANCH_1, "党课", "党章", "村委会", at, at.replace(hour=16, minute=0), at.replace(day=1),
                           True, (Attendee("李秀英", "late", "补学"), Attendee("王德明", "absent", "送学")),
                           ("第一段", "第二段"), ("a.jpg", "b.jpg"))
    assert meeting_row(record) == [BRANCH_1, at.date(), time(14, 30), time(16, 0), "村委会", "党章", "已召开", "",
                                   "李秀英", "", "王德明", "", "李秀英", "王德明", "第一段\n第二段", 2, "a.jpg\nb.jpg"]
    planned = replace(record, closed=False, minutes=(), photos=())
    assert meeting_row(planned)[6:15] == ["计划中", "", "", "", "", "", "", "", ""]
    assert tally([record, planned]).counts == (0, 1, 0, 1, 0, 1, 1)
    assert (tally([record, planned]).held, tally([record, planned]).planned) == (1, 1)


Phones = Callable[[str], Phone]


async def test_taizhang_gives_the_secretary_the_month_of_their_own_branches(
        live: TestClient, db: SessionMaker, member: Phones) -> None:  # type: ignore[type-arg]
    async with db.begin() as session:
        stored = await store_year(session)
    theme, lecture = stored["theme"].id, stored["lecture"].id
    secretary = await member("13800000001").bound("张建国")
    assert await secretary.send("台账") == (
        f"{BRANCH_1} 2026年11月组织生活台账（截至今天）\n"
        "党员大会：召开 0 次，计划中 1 次\n"
        "支委会：本月没有\n党小组会：本月没有\n党课：本月没有\n"
        "主题党日：召开 1 次；按时出席 2 人次，迟到 0，请假 0，缺席 1；补学 1，送学 0\n"
        "还没有纪要的会议（回复「纪要 会议号 内容」补上）：\n"
        f"{theme} 号 11月15日 主题党日「重温入党誓词」 {BRANCH_1}\n"
        "全年台账（含每次会议的名单和纪要）：发送「后台」，在「会议」页下载")
    assert await secretary.send("台账 11月。") == await secretary.send("台账")
    december = await secretary.send("台账 2025年12月")
    assert december is not None and "2025年12月组织生活台账\n党员大会：本月没有" in december
    assert "支委会：召开 1 次；按时出席 0 人次" in december and "已结束的会议都有纪要" not in december

    above = await member("13800000021").bound("彭光明")
    month = await above.send("台账")
    assert month is not None and "党课：召开 1 次；按时出席 0 人次" in month
    assert f"{lecture} 号 11月10日 党课「乡村振兴」 {BRANCH_2}" in month


async def test_taizhang_refuses_members_and_months_it_cannot_show(live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    assert await li.send("台账") == "这条指令仅支部书记和管理员可以使用。回复「帮助」查看你可以使用的指令。"
    secretary = await member("13800000001").bound("张建国")
    for asked in ("13月", "2027年1月", "下个月"):
        reply = await secretary.send(f"台账 {asked}")
        assert reply == (f"没有看懂要哪个月：「{asked}」。请写「台账」（本月 11月）或「台账 11月」「台账 2026年11月」；"
                         "最远可以看到下个月。"), reply


def test_a_month_without_meetings_does_not_say_their_minutes_are_all_there() -> None:
    from bot.content import load_content
    from bot.content.samples import SAMPLES

    content = load_content(ROOT / "content")
    sample = dict(SAMPLES["ledger_month"])
    none_held = sample["kinds"][1][1]
    empty = content.render("ledger_month", **{**sample, "unrecorded": [], "kinds": [("党员大会", none_held)]})
    assert "党员大会：本月没有" in empty and "都有纪要" not in empty
    assert "已结束的会议都有纪要" in content.render("ledger_month", **{**sample, "unrecorded": []})
