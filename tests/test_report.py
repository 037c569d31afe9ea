"""The organisation report as a spreadsheet shows it: chart series titled by their header cells and plotted
without the header row, rates as percentages, widths that fit the headers, frozen headers, a 支部 column and
sheet for a 党总支 or 党委 (paths where two villages' 第一党支部 meet), the annual report, and the CLI's refusals."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.ops.cli import main
from bot.ops.operators import report
from bot.reports.layout import write_csv, write_xlsx
from bot.reports.report import Branch, MemberRow, Report
from bot.roster.imports import apply_rows, read_rows
from bot.rules.periods import quarter_of
from bot.storage.db import SessionMaker
from bot.storage.models import Activity, CheckIn, HeldStar, Member, PointEntry, Wish
from tests import meeting_rows
from tests.conftest import ROOT, TZ, Clock
from tests.phone import Phone

GENERAL = "塘约村党总支"
FIRST, SECOND = f"{GENERAL}/第一党支部", f"{GENERAL}/第二党支部"
Q4 = quarter_of(date(2026, 11, 1))
TODAY = date(2026, 11, 30)


async def _member(session: AsyncSession, name: str, org: str) -> int:
    return await meeting_rows.member_id(session, name, await meeting_rows.org_id(session, org))


async def _points(session: AsyncSession, name: str, org: str, delta: int, at: datetime) -> None:
    session.add(PointEntry(member_id=await _member(session, name, org), action="volunteer", delta=delta,
                           reason="志愿服务", event_key=f"test:{name}:{at.isoformat()}", occurred_at=at))


async def _activity(session: AsyncSession, org: str, closes: datetime, checked_in: list[tuple[str, str]]) -> None:
    activity = Activity(org_id=await meeting_rows.org_id(session, org), title="主题党日", code="1234",
                        opened_by=None, opens_at=closes.replace(hour=8), closes_at=closes)
    session.add(activity)
    await session.flush()
    for name, where in checked_in:
        session.add(CheckIn(activity_id=activity.id, member_id=await _member(session, name, where), at=closes))


@pytest.fixture
async def year(db: SessionMaker, roster: None) -> None:
    """Points in February, March and November; two check-ins (one by 第一党支部, one by the 党总支, open to
    all); a meeting of 第一党支部 one absentee caught up on and one on leave did not; a star; a wish."""
    async with db.begin() as session:
        await _points(session, "李秀英", FIRST, 5, datetime(2026, 2, 10, 9, 0, tzinfo=TZ))
        await _points(session, "李秀英", FIRST, 3, datetime(2026, 11, 3, 9, 0, tzinfo=TZ))
        await _points(session, "马丽娟", SECOND, 4, datetime(2026, 3, 20, 9, 0, tzinfo=TZ))
        await _activity(session, FIRST, datetime(2026, 11, 10, 12, 0, tzinfo=TZ),
                        [("张建国", FIRST), ("李秀英", FIRST)])
        await _activity(session, GENERAL, datetime(2026, 11, 12, 12, 0, tzinfo=TZ),
                        [("李秀英", FIRST), ("马丽娟", SECOND), ("彭光明", GENERAL)])
        held = await meeting_rows.meeting(session, org=await meeting_rows.org_id(session, FIRST), kind="党员大会",
                                          starts_at=datetime(2026, 11, 15, 14, 30, tzinfo=TZ), closed=True)
        await meeting_rows.attendance(session, held, [(await _member(session, "李秀英", FIRST), "present", None),
                                                      (await _member(session, "王德明", FIRST), "absent", "补学"),
                                                      (await _member(session, "赵春花", FIRST), "leave", None)])
        session.add(HeldStar(member_id=await _member(session, "李秀英", FIRST), star="学习星", since="2026Q3"))
        session.add(Wish(org_id=await meeting_rows.org_id(session, SECOND), content="想要一台收音机",
                         resident_name="王秀兰", resident_phone="13912345678",
                         created_by=await _member(session, "孙卫东", SECOND), created_at=datetime(2026, 11, 1, tzinfo=TZ)))


def _rows(sheet: Any) -> list[tuple[Any, ...]]:
    return list(sheet.iter_rows(values_only=True))


def _row(sheet: Any, first: str) -> Any:
    """The cells of the row whose first cell reads `first`."""
    return next(row for row in sheet.iter_rows() if row[0].value == first)


def _width(text: str) -> int:
    """Columns a header needs: GBK takes two bytes for each Chinese character, one for each ASCII one."""
    return len(text.encode("gbk"))


def _assert_fits(sheet: Any) -> None:
    """Every column has its width set, wide enough for each of its cells (headers and names above all)."""
    for row in sheet.iter_rows():
        for cell in row:
            column = sheet.column_dimensions[cell.column_letter]
            assert column.customWidth, (sheet.title, cell.column_letter)
            if cell.value is not None and not isinstance(cell.value, float):
                assert column.width >= _width(str(cell.value)), (sheet.title, cell.coordinate, cell.value, column.width)


def _cells(sheet: Any, ref: str) -> list[Any]:
    """The values a chart reference such as `'汇总'!$B$20:$B$22` points at, after checking its sheet."""
    where, _, cells = ref.partition("!")
    assert where.strip("'") == sheet.title, ref
    low_col, low_row, high_col, high_row = range_boundaries(cells.replace("$", ""))
    return [value for row in sheet.iter_rows(min_col=low_col, min_row=low_row, max_col=high_col, max_row=high_row,
                                             values_only=True) for value in row]


def _chart_series(sheet: Any) -> list[tuple[list[Any], list[Any], list[Any]]]:
    """(title cells, value cells, category cells) of each series of the sheet's one chart."""
    (chart,) = sheet._charts
    return [(_cells(sheet, s.tx.strRef.f), _cells(sheet, s.val.numRef.f),
             _cells(sheet, s.cat.strRef.f)) for s in chart.series]


async def test_a_general_branch_quarter_report_has_charts_percentages_widths_and_a_branch_column(
        year: None, settings: Settings, tmp_path: Path) -> None:
    built = await report(settings, GENERAL, Q4, TODAY)
    write_xlsx(built, tmp_path / "q4.xlsx")
    book = load_workbook(tmp_path / "q4.xlsx")
    assert book.sheetnames == ["成员", "汇总", "支部"]

    members = book["成员"]
    head = _rows(members)[0]
    assert head[:6] == ("姓名", "支部", "10月积分", "11月积分", "12月积分", "季度积分")
    li = _row(members, "李秀英")
    column = {name: number for number, name in enumerate(head)}
    assert [li[column[name]].value for name in ("支部", "11月积分", "季度积分", "星级", "签到次数")] == [
        "第一党支部", 3, 3, "学习星", 2]
    assert (li[column["签到率"]].value, li[column["签到率"]].number_format) == (1.0, "0.0%")  # both open to her
    assert _row(members, "王德明")[column["已补学或送学（次）"]].value == 1
    assert _row(members, "彭光明")[column["支部"]].value == GENERAL  # the 党总支's own members
    assert _row(members, "马丽娟")[column["支部"]].value == "第二党支部"
    assert len(_rows(members)) == 23 and members.freeze_panes == "B2"

    summary = book["汇总"]
    rate = _row(summary, "签到率")[1]
    assert rate.value == pytest.approx(5 / 32) and rate.number_format == "0.0%"  # 5 check-ins of 32 open
    assert (_row(summary, "补学率")[1].value, _row(summary, "补学率")[1].number_format) == (0.5, "0.0%")
    assert [_row(summary, name)[1].value for name in ("党员人数", "组织活动", "积分合计", "持星人数", "微心愿收集")] == [
        22, 2, 3, 1, 1]
    assert _chart_series(summary) == [(["积分合计"], [0, 3, 0], ["10月", "11月", "12月"])]

    branches = book["支部"]
    assert _rows(branches)[0][:6] == ("支部", "党员人数", "积分合计", "签到率", "补学率", "持星人数")
    first, second, own = _row(branches, "第一党支部"), _row(branches, "第二党支部"), _row(branches, GENERAL)
    assert [c.value for c in first[1:6]] == [10, 3, pytest.approx(3 / 20), 0.5, 1]
    assert [c.value for c in second[1:6]] == [10, 0, pytest.approx(1 / 10), None, 0]  # nobody missed a meeting
    assert [c.value for c in own[1:4]] == [2, 0, 0.5]
    assert first[3].number_format == first[4].number_format == "0.0%"
    assert _row(branches, "第二党支部")[-3].value == 1  # the wish was posted there
    assert _chart_series(branches) == [([GENERAL], [0, 0, 0], ["10月", "11月", "12月"]),
                                       (["第一党支部"], [0, 3, 0], ["10月", "11月", "12月"]),
                                       (["第二党支部"], [0, 0, 0], ["10月", "11月", "12月"])]
    assert branches.freeze_panes == "B2"
    for sheet in book:
        _assert_fits(sheet)
    assert members.column_dimensions[li[column["确认志愿服务（小时）"]].column_letter].width >= 20

    write_csv(built, tmp_path / "branches.csv", sheet="支部")
    with (tmp_path / "branches.csv").open(encoding="utf-8-sig") as f:
        assert next(r for r in csv.reader(f) if r and r[0] == "第一党支部")[1:5] == ["10", "3", "15.0%", "50.0%"]


NAMES = ('=HYPERLINK("http://evil.example/","点击查看")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1")


def test_names_a_spreadsheet_would_run_are_written_as_text(tmp_path: Path) -> None:
    row = MemberRow("李秀英", FIRST, (10, -3, 0), -3, (), 0, 0, 0, 0, 0.0, 0, 0, "")
    rows = tuple(replace(row, name=name, branch=f"{name}支部") for name in NAMES)
    built = Report(FIRST, Q4, (10, 11, 12), (row, *rows), 0, (0, 0, 0), (Branch(FIRST, (0, 0, 0)),))
    out = io.BytesIO()
    write_csv(built, out)
    lines = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline="")))
    assert [line[0] for line in lines[2:]] == [f"'{name}" for name in NAMES]
    assert lines[1][:5] == ["李秀英", "10", "-3", "0", "-3"]  # numbers, negative ones too, stay numbers
    write_xlsx(built, tmp_path / "r.xlsx")
    sheet = load_workbook(tmp_path / "r.xlsx")["成员"]
    assert [(c.value, c.data_type) for c in sheet["A"][2:7]] == [(name, "s") for name in NAMES[:5]]
    assert sheet["A8"].data_type == "s"  # (XML reads the carriage return back as a line feed)
    assert sheet["C2"].value == -3


async def test_the_data_a_page_draws_is_plain_lists(year: None, settings: Settings) -> None:
    built = await report(settings, GENERAL, Q4, TODAY)
    assert built.label == "2026Q4" and built.has_branches
    assert built.points_by_month() == [(10, 0), (11, 3), (12, 0)]
    assert built.star_distribution() == [(0, 21), (1, 1)]
    assert built.checkin_rate == pytest.approx(5 / 32) and built.makeup_rate == 0.5
    assert [(b.name, b.members, b.points, b.months, b.star_holders, b.wishes) for b in built.by_branch()] == [
        (GENERAL, 2, 0, (0, 0, 0), 0, (0, 0, 0)), ("第一党支部", 10, 3, (0, 3, 0), 1, (0, 0, 0)),
        ("第二党支部", 10, 0, (0, 0, 0), 0, (1, 0, 0))]


async def test_the_chat_summary_shows_both_rates_of_the_branch(year: None, member: Callable[[str], Phone]) -> None:
    secretary = await member("13800000001").bound("张建国")
    reply = await secretary.send("报表")
    assert reply and ("第一党支部 2026Q4 季度报表（截至今天）\n党员 10 人，组织活动 2 次，签到率 15%，补学率 50%\n"
                      "各月积分合计：10月 0 分，11月 3 分，12月 0 分\n") in reply, reply


async def test_a_workbook_written_into_memory_wraps_a_long_cell_in_a_column_of_sixty(
        year: None, settings: Settings, db: SessionMaker) -> None:
    async with db.begin() as session:
        member = await session.get(Member, await _member(session, "李秀英", FIRST))
        assert member is not None
        member.name = "李秀英" + "（村集体经济合作社理事）" * 3  # 39 Chinese characters: 78 columns
    built = await report(settings, "第一党支部", Q4, TODAY)
    held = io.BytesIO()  # as a page would offer it for download
    write_xlsx(built, held)
    members = load_workbook(held)["成员"]
    long = next(row[0] for row in members.iter_rows() if str(row[0].value).startswith("李秀英"))
    assert members.column_dimensions["A"].width == 60 and long.alignment.wrap_text
    assert not members["A1"].alignment.wrap_text


async def test_a_branch_report_has_no_branch_column_and_sees_no_other_branch(
        year: None, settings: Settings, tmp_path: Path) -> None:
    built = await report(settings, "第二党支部", Q4, TODAY)
    assert not built.has_branches and built.checkin_rate == pytest.approx(1 / 10) and built.makeup_rate is None
    write_xlsx(built, tmp_path / "second.xlsx")
    book = load_workbook(tmp_path / "second.xlsx")
    assert book.sheetnames == ["成员", "汇总"]
    assert _rows(book["成员"])[0][:2] == ("姓名", "10月积分") and len(_rows(book["成员"])) == 11
    assert "李秀英" not in {row[0] for row in _rows(book["成员"])}
    assert _row(book["汇总"], "补学率")[1].value is None  # nobody missed a meeting: no rate, not 0%


async def test_a_committee_over_two_villages_names_each_branch_by_its_path(
        db: SessionMaker, settings: Settings, clock: Clock, tmp_path: Path) -> None:
    async with db.begin() as session:  # tests/villages.csv under one township 党委
        await apply_rows(session, [replace(r, branch=f"某镇党委/{r.branch}")
                                   for r in read_rows(ROOT / "tests/villages.csv")], clock())
        await _points(session, "李强", "某镇党委/乙村党总支/第一党支部/第一党小组", 2,
                      datetime(2026, 11, 5, 9, 0, tzinfo=TZ))
    built = await report(settings, "某镇党委", Q4, TODAY)
    assert [b.name for b in built.branches] == ["乙村党总支", "乙村党总支/第一党支部", "甲村党总支", "甲村党总支/第一党支部"]
    assert sorted((r.name, r.branch, r.points) for r in built.rows if r.name in ("王芳", "李强")) == [
        ("李强", "乙村党总支/第一党支部", 2), ("李强", "甲村党总支/第一党支部", 0),  # a 党小组 counts with its branch
        ("王芳", "乙村党总支/第一党支部", 0), ("王芳", "甲村党总支/第一党支部", 0)]
    write_xlsx(built, tmp_path / "town.xlsx")
    members = load_workbook(tmp_path / "town.xlsx")["成员"]
    assert ("李强", "乙村党总支/第一党支部", 0, 2, 0, 2) in [row[:6] for row in _rows(members)]

    village = await report(settings, "甲村党总支", Q4, TODAY)  # names no longer repeat, and 乙村 is not there
    assert [b.name for b in village.branches] == ["甲村党总支", "第一党支部"]
    assert {r.branch for r in village.rows} == {"甲村党总支", "第一党支部"} and len(village.rows) == 7


async def test_palmbot_report_for_a_year_has_twelve_months_of_real_points(
        year: None, cli_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "2026.xlsx"
    assert await asyncio.to_thread(main, ["report", "--org", GENERAL, "--year", "2026", "--output", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}: {GENERAL} 2026年, 22 members\n"
    book = load_workbook(out)
    members = book["成员"]
    head = _rows(members)[0]
    assert head[2:15] == (*(f"{m}月积分" for m in range(1, 13)), "年度积分")
    assert [c.value for c in _row(members, "李秀英")[2:15]] == [0, 5, *[0] * 8, 3, 0, 8]
    assert [c.value for c in _row(members, "马丽娟")[2:15]] == [0, 0, 4, *[0] * 9, 4]
    summary = book["汇总"]
    assert _row(summary, "期间")[1].value == "2026年" and _row(summary, "积分合计")[1].value == 12
    assert _chart_series(summary) == [(["积分合计"], [0, 5, 4, 0, 0, 0, 0, 0, 0, 0, 3, 0],
                                       [f"{m}月" for m in range(1, 13)])]
    for sheet in book:
        _assert_fits(sheet)

    csv_out = tmp_path / "2026.csv"
    argv = ["report", "--org", "第一党支部", "--year", "2026", "--format", "csv", "--output", str(csv_out)]
    assert await asyncio.to_thread(main, argv) == 0
    with csv_out.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][1:14] == [*(f"{m}月积分" for m in range(1, 13)), "年度积分"]
    assert next(r for r in rows if r[0] == "李秀英")[1:14] == ["0", "5", *["0"] * 8, "3", "0", "8"]


def test_a_quarter_that_is_a_year_or_both_or_neither_flag_is_refused_in_one_line(
        ops_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--output", "r.xlsx"]
    assert main(["report", "--org", GENERAL, "--quarter", "2026", *out]) == 2
    err = capsys.readouterr().err
    assert err == "palmbot: --quarter '2026' is not a quarter such as 2026Q4 (a whole year: --year 2026)\n"
    assert main(["report", "--org", GENERAL, "--year", "26", *out]) == 2
    assert capsys.readouterr().err == "palmbot: --year 26 is not a year such as 2026\n"
    for argv, said in ((["--quarter", "2026Q4", "--year", "2026"], "argument --year: not allowed with argument --quarter"),
                       ([], "one of the arguments --quarter --year is required")):
        with pytest.raises(SystemExit) as exited:
            main(["report", "--org", GENERAL, *argv, *out])
        err = capsys.readouterr().err
        assert exited.value.code == 2 and said in err and "Traceback" not in err, err
    assert main(["report", "--org", "第一党支部", "--quarter", "2026Q4", "--format", "csv", "--sheet", "支部", *out]) == 2
    assert "no 支部 under it" in capsys.readouterr().err
    assert not Path("r.xlsx").exists()

