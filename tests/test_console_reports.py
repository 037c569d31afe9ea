"""The console's 报表 page (issue 15), on the year of tests/test_report.py: the charts' numbers are
`bot.reports.report.build`'s for the same organisation and period, the downloads are the workbook and CSV
`bot.reports.layout` writes, another branch's organisation is 403, and a period not understood or not begun is
400."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from bot.console import auth
from bot.reports.layout import write_csv, write_xlsx
from bot.reports.report import Report, build
from bot.roster.imports import apply_rows, read_rows
from bot.rules.periods import Period, quarter_of, year_of
from bot.storage.db import SessionMaker
from bot.storage.models import Member, Organisation
from tests.conftest import Clock, services_of
from tests.console import Console, sign_in
from tests.phone import Phone
from tests.test_report import FIRST, GENERAL, SECOND, year  # noqa: F401  (`year` is a fixture used below)
from tests.test_villages import ROSTER

Phones = Callable[[str], Phone]
ABOVE, BRANCH_1, BRANCH_2 = "13800000021", "13800000001", "13800000011"
NAMES = {ABOVE: "彭光明", BRANCH_1: "张建国", BRANCH_2: "孙卫东"}
TODAY = date(2026, 11, 16)  # the clock's
Q4, YEAR = quarter_of(TODAY), year_of(TODAY)


async def signed_in(member: Phones, live: TestClient, consoles: list[Console], phone: str,  # type: ignore[type-arg]
                    name: str = "") -> Console:
    console = await sign_in(live, await member(phone).bound(name or NAMES[phone]), landing="/console/reports")
    consoles.append(console)
    return console


async def org_id(db: SessionMaker, path: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Organisation.id).where(Organisation.path == path))
    assert found is not None, path
    return found


async def built(live: TestClient, db: SessionMaker, path: str, period: Period) -> Report:  # type: ignore[type-arg]
    """The report as `bot.reports.report.build` gives it, for the same organisation, period and day as the
    page."""
    svc = services_of(live)
    async with db() as session:
        return await build(session, org_id=await org_id(db, path), period=period, rules=svc.content.rules,
                           tz=svc.settings.timezone, today=TODAY)


def chart(page: str, name: str) -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="{name}-chart-data">(.*?)</script>', page, re.DOTALL)
    assert found, name
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


@pytest.mark.usefixtures("year")
@pytest.mark.parametrize(("period", "value"), [(Q4, "2026Q4"), (YEAR, "2026")])
async def test_a_general_branchs_charts_hold_the_reports_numbers_for_each_branch(
        member: Phones, live: TestClient, db: SessionMaker, consoles: list[Console], period: Period,  # type: ignore[type-arg]
        value: str) -> None:
    console = await signed_in(member, live, consoles, ABOVE)
    page = await console.get("/console/reports", period=value)
    assert console.status == 200, page
    report = await built(live, db, GENERAL, period)
    branches = report.by_branch()
    assert len(branches) == 3 and report.summary().points == (12 if period == YEAR else 3)
    points = chart(page, "points")
    assert points["categories"] == list(report.months) and points["format"] == "{value}月"
    assert points["series"] == [{"name": b.name, "data": list(b.months)} for b in branches]
    stars = chart(page, "stars")
    assert list(zip(stars["categories"], stars["series"][0]["data"], strict=True)) == report.star_distribution()
    rates = chart(page, "rates")
    assert rates["percent"] is True and rates["categories"] == [b.name for b in branches]
    assert rates["series"] == [{"name": "签到率", "data": [b.checkin_rate for b in branches]},
                               {"name": "补学率", "data": [b.makeup_rate for b in branches]}]
    assert chart(page, "wishes")["series"] == [{"name": b.name, "data": list(b.wishes)} for b in branches]
    whole = report.summary()
    assert f'id="checkin-rate">{percent(whole.checkin_rate)}<' in page
    assert f'id="makeup-rate">{percent(whole.makeup_rate)}<' in page
    assert f'id="members">{whole.members}<' in page and f'id="points">{whole.points}<' in page
    assert f"{report.label}报表" in page and "第二党支部" in page and 'id="branches"' in page
    assert "/console/static/echarts.simple.min.js" in page


@pytest.mark.usefixtures("year")
async def test_a_branchs_page_is_this_quarter_by_default_with_its_own_numbers(
        member: Phones, live: TestClient, db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    page = (await signed_in(member, live, consoles, BRANCH_1)).text
    report = await built(live, db, FIRST, Q4)
    assert "2026Q4报表（截至今天）" in page and not report.has_branches
    assert chart(page, "points")["series"] == [{"name": "积分合计", "data": [0, 3, 0]}]
    assert chart(page, "wishes")["series"] == [{"name": "微心愿", "data": list(report.wishes)}]
    assert 'id="rates-chart"' not in page and 'id="branches"' not in page and "sheet=branches" not in page
    assert 'id="checkin-rate">15.0%<' in page and 'id="makeup-rate">50.0%<' in page  # chat 报表 says 15% and 50%
    assert "第二党支部" not in page and "马丽娟" not in page
    assert '<option value="2026Q4" selected>2026Q4</option>' in page and '<option value="2026">2026年</option>' in page
    assert '<option value="2025Q1">' in page and '<option value="2027' not in page


@pytest.mark.usefixtures("year")
async def test_the_downloads_are_the_workbook_and_csv_of_the_same_report(
        member: Phones, live: TestClient, db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    console = await signed_in(member, live, consoles, ABOVE)
    general = await org_id(db, GENERAL)
    assert f'href="/console/reports/download?org={general}&amp;period=2026Q4&amp;format=xlsx"' in console.text
    report = await built(live, db, GENERAL, Q4)
    async with console.http.get(console.url("/console/reports/download"),
                                params={"org": str(general), "period": "2026Q4", "format": "xlsx"}) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert "filename*=UTF-8''%E5%A1%98%E7%BA%A6%E6%9D%91" in resp.headers["Content-Disposition"]
        got = load_workbook(io.BytesIO(await resp.read()))
    expected = io.BytesIO()
    write_xlsx(report, expected)
    want = load_workbook(expected)
    assert got.sheetnames == want.sheetnames == ["成员", "汇总", "支部"]
    for sheet in want.sheetnames:
        assert list(got[sheet].iter_rows(values_only=True)) == list(want[sheet].iter_rows(values_only=True))
        assert len(got[sheet]._charts) == len(want[sheet]._charts)
    for key, sheet in (("members", "成员"), ("summary", "汇总"), ("branches", "支部")):
        async with console.http.get(console.url("/console/reports/download"),
                                    params={"period": "2026Q4", "format": "csv", "sheet": key}) as resp:
            assert resp.status == 200 and resp.content_type == "text/csv"
            body = await resp.read()
        written = io.BytesIO()
        write_csv(report, written, sheet=sheet)
        assert body == written.getvalue() and body.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows[0][0] == {"成员": "姓名", "汇总": "项目", "支部": "支部"}[sheet]
    assert next(r for r in rows if r and r[0] == "第一党支部")[1:5] == ["10", "3", "15.0%", "50.0%"]


@pytest.mark.usefixtures("year")
async def test_a_download_not_offered_is_refused_clearly(
        member: Phones, live: TestClient, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    console = await signed_in(member, live, consoles, BRANCH_1)
    for query, status, said in (({"format": "pdf"}, 400, "没有这种下载"), ({"format": "csv", "sheet": "成员"}, 400, "没有这种下载"),
                                ({"format": "csv", "sheet": "branches"}, 404, "支部汇总表不存在"),
                                ({"format": "xlsx", "period": "2027Q1"}, 400, "没有看懂要哪个季度或年份")):
        await console.get("/console/reports/download", **query)
        assert (console.status, said in console.text) == (status, True), (query, console.text)


@pytest.mark.usefixtures("year")
@pytest.mark.parametrize("asked", ["2027Q1", "2027", "2026Q5", "明年", "2026-11", "13"])
async def test_a_period_not_understood_or_not_begun_is_400_with_what_to_choose(
        member: Phones, live: TestClient, consoles: list[Console], asked: str) -> None:  # type: ignore[type-arg]
    console = await signed_in(member, live, consoles, ABOVE)
    await console.get("/console/reports", period=asked)
    assert console.status == 400 and "没有看懂要哪个季度或年份" in console.text and f"「{asked}」" in console.text
    assert "例如 2026Q3 或 2026" in console.text


@pytest.mark.usefixtures("year")
async def test_another_branchs_organisation_is_403_on_the_page_and_the_download(
        member: Phones, live: TestClient, db: SessionMaker, clock: Clock, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    first = await signed_in(member, live, consoles, BRANCH_1)
    second, general = await org_id(db, SECOND), await org_id(db, GENERAL)
    for foreign in (second, general):
        for path, extra in (("/console/reports", {}), ("/console/reports/download", {"format": "xlsx"})):
            await first.get(path, org=str(foreign), **extra)
            assert first.status == 403 and "无权查看" in first.text
    await first.get("/console/reports", org="abc")
    assert first.status == 404
    above = await signed_in(member, live, consoles, ABOVE)
    page = await above.get("/console/reports", org=str(second), period="2026")
    assert above.status == 200 and "塘约村党总支/第二党支部" in page and "2026年报表" in page
    assert chart(page, "points")["series"] == [{"name": "积分合计", "data": [0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]}]

    async with db.begin() as session:
        li = await session.scalar(select(Member).where(Member.name == "李秀英"))
        assert li is not None
        token = await auth.issue_link(session, member_id=li.id, now=clock())
    plain = Console(live, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    consoles.append(plain)
    await plain.get("/console/reports/download", format="xlsx")
    assert plain.status == 401
    await plain.get(f"/console/login?t={token}&next=/console/reports")
    assert plain.status == 403 and "仅书记和管理员可用" in plain.text
    await plain.get("/console/reports/download", format="csv")
    assert plain.status == 403


async def test_two_villages_report_only_their_own(
        member: Phones, live: TestClient, db: SessionMaker, clock: Clock, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    async with db.begin() as session:
        await apply_rows(session, read_rows(ROSTER), clock())
    jia = await signed_in(member, live, consoles, "13900000101", "周国庆")
    assert "甲村党总支" in jia.text and "乙村" not in jia.text
    assert [s["name"] for s in chart(jia.text, "points")["series"]] == ["甲村党总支", "第一党支部"]
    yi_branch = await signed_in(member, live, consoles, "13900000211", "钱卫国")
    assert "甲村" not in yi_branch.text
    for foreign in ("甲村党总支/第一党支部", "甲村党总支"):
        await yi_branch.get("/console/reports", org=str(await org_id(db, foreign)))
        assert yi_branch.status == 403 and "甲村" not in yi_branch.text
    await jia.get("/console/reports/download", org=str(await org_id(db, "乙村党总支/第一党支部")), format="csv")
    assert jia.status == 403


@pytest.mark.usefixtures("year")
@pytest.mark.parametrize(("asked", "label"), [("2026Q3", "2026Q3报表<"), ("三季度", "2026Q3报表<"), ("q4", "2026Q4报表（截至今天）"),
                                              ("2026年", "2026年报表（截至今天）"), ("2025", "2025年报表<"),
                                              ("", "2026Q4报表（截至今天）")])
async def test_a_period_is_read_as_people_write_it(
        member: Phones, live: TestClient, consoles: list[Console], asked: str, label: str) -> None:  # type: ignore[type-arg]
    console = await signed_in(member, live, consoles, BRANCH_1)
    await console.get("/console/reports", period=asked)
    assert console.status == 200 and label in console.text
