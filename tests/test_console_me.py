"""A member's own page in the console (issue 15), reached by the one-time link `我的` sends: this year's points by
month (the chart's numbers are the ledger's), the stars and their history, the ledger with reasons, the lessons
read and the quiz answers; never another member's rows, and a secretary's page is their own."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.repo import points
from bot.storage.db import SessionMaker
from bot.storage.models import ConsoleLink, HeldStar, Member, PointEntry, StarChange
from tests.conftest import TZ, Clock, services_of
from tests.console import Console, link_in, sign_in
from tests.phone import Phone

Phones = Callable[[str], Phone]
LI, WANG, SECRETARY = "13800000002", "13800000003", "13800000001"
CHART = re.compile(r'<script type="application/json" id="points-chart-data">(.*?)</script>', re.DOTALL)
CAP = 10  # content/rules.toml monthly_cap


async def opened(phone: Phone, browser: Console) -> Console:
    """The browser after opening the link the phone's `我的` returned."""
    await browser.get(link_in(await phone.send("我的")))
    assert browser.status == 200, browser.text
    return browser


async def member_id(db: SessionMaker, name: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Member.id).where(Member.name == name))
    assert found is not None
    return found


async def ledger(db: SessionMaker, name: str, *rows: tuple[datetime, int, str]) -> None:
    """Ledger entries for the member, as the chat's actions write them."""
    who = await member_id(db, name)
    async with db.begin() as session:
        for at, delta, reason in rows:
            await points.add(session, member_id=who, action="test", delta=delta, reason=reason,
                             event_key=f"test:{who}:{at.isoformat()}:{reason}", at=at)


async def months_in_ledger(db: SessionMaker, name: str) -> list[int]:
    """January to this month (November 2026) of the member's ledger: each month's sum, counted up to the cap."""
    who = await member_id(db, name)
    async with db() as session:
        rows = (await session.execute(select(PointEntry.occurred_at, PointEntry.delta)
                                      .where(PointEntry.member_id == who))).all()
    sums = [0] * 11
    for at, delta in rows:
        local = at.astimezone(TZ)
        if local.year == 2026:
            sums[local.month - 1] += delta
    return [max(0, min(CAP, total)) for total in sums]


def chart(page: str) -> dict[str, object]:
    found = CHART.search(page)
    assert found, page
    data: dict[str, object] = json.loads(found.group(1))
    return data


def at(month: int, day: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, 9, 30, tzinfo=TZ)


async def test_wode_sends_a_one_time_link_to_the_members_own_page(
        member: Phones, browsers: Callable[[], Console], db: SessionMaker) -> None:
    li = await member(LI).bound("李秀英")
    reply = await li.send("我的")
    assert reply and "10分钟内有效" in reply and "/console/login?t=" in reply and reply.endswith("&next=/console/me")
    first = browsers()
    await first.get(link_in(reply))
    assert first.status == 200 and 'id="me-title"' in first.text and "李秀英" in first.text
    assert "/console/static/echarts.simple.min.js" in first.text and "/console/static/charts.js" in first.text
    again = browsers()
    await again.get(link_in(reply))
    assert again.status == 403 and "登录链接已失效" in again.text
    await again.get("/console/me")
    assert again.status == 401
    assert "同志的积分" in (await li.send("我的积分") or "")  # the longer command words keep their meaning
    assert "11月积分榜" in (await li.send("我的排行") or "")
    for unknown in ("我的党费", "我的 学习记录"):  # no such command: not understood (the menu, or an offer to ask the
        reply = await li.send(unknown)  # secretary), and no link is made
        assert reply and "/console/login" not in reply and "「帮助」" in reply, (unknown, reply)
    stranger = member("13900000009")
    assert "请先绑定" in (await stranger.send("我的") or "")
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(ConsoleLink)) == 1


async def test_the_chart_holds_the_ledgers_months_and_the_list_its_entries_with_reasons(
        member: Phones, browsers: Callable[[], Console], db: SessionMaker) -> None:
    await ledger(db, "李秀英", (at(1), 3, "签到：一月主题党日"), (at(3), 5, "答对微党课题目"), (at(3, 20), 2, "志愿服务"),
                 (at(5), 8, "志愿服务 4 小时"), (at(5, 11), 6, "验收微心愿"), (at(11, 2), 4, "签到：十一月"),
                 (at(11, 3), -1, "调整：重复签到"), (at(12, 20, 2025), 6, "去年的记录"))
    await ledger(db, "王德明", (at(3), 7, "王德明的记录"), (at(6), 9, "王德明六月"))
    li = await member(LI).bound("李秀英")
    page = (await opened(li, browsers())).text
    shown = chart(page)
    assert shown["categories"] == list(range(1, 12)) and shown["type"] == "bar"
    data = shown["series"][0]["data"]  # type: ignore[index]
    assert data == await months_in_ledger(db, "李秀英") == [3, 0, 7, 0, 10, 0, 0, 0, 0, 0, 3]
    assert "今年累计 <strong>23</strong> 分" in page
    assert "今年累计：23 分" in (await li.send("积分") or "")  # the same year as chat's 积分
    for reason in ("签到：一月主题党日", "验收微心愿", "调整：重复签到"):
        assert reason in page
    assert "-1" in page and "+8" in page and "今年共 7 条" in page
    assert "去年的记录" not in page and "王德明" not in page


async def test_no_address_shows_another_members_page(
        member: Phones, browsers: Callable[[], Console], db: SessionMaker) -> None:
    await ledger(db, "王德明", (at(3), 7, "王德明的记录"))
    await ledger(db, "李秀英", (at(4), 2, "李秀英的记录"))
    browser = await opened(await member(LI).bound("李秀英"), browsers())
    wang = await member_id(db, "王德明")
    for query in ({"member": str(wang)}, {"member_id": str(wang)}, {"id": str(wang)}):
        page = await browser.get("/console/me", **query)
        assert browser.status == 200 and "李秀英的记录" in page and "王德明" not in page
        assert chart(page)["series"] == [{"name": "积分", "data": [0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]}]


async def test_stars_held_and_their_history(member: Phones, browsers: Callable[[], Console], db: SessionMaker) -> None:
    li, wang = await member_id(db, "李秀英"), await member_id(db, "王德明")
    async with db.begin() as session:
        session.add_all([
            HeldStar(member_id=li, star="学习星", since="2026Q3"),
            StarChange(member_id=li, star="学习星", granted=True, quarter="2026Q3", reason="本季度答对12题",
                       at=at(10, 1)),
            StarChange(member_id=li, star="服务星", granted=False, quarter="2026Q3", reason="本季度无志愿服务",
                       at=at(10, 1)),
            HeldStar(member_id=wang, star="服务星", since="2026Q3"),
            StarChange(member_id=wang, star="服务星", granted=True, quarter="2026Q3", reason="王德明的服务", at=at(10, 1)),
        ])
    page = (await opened(await member(LI).bound("李秀英"), browsers())).text
    assert "现有 1 颗星" in page and '<span class="tag held">★ 学习星</span>' in page
    assert '<span class="tag">☆ 服务星</span>' in page
    assert "获得学习星" in page and "本季度答对12题" in page and "摘去服务星" in page and "本季度无志愿服务" in page
    assert "王德明的服务" not in page and "2026-10-01" in page


async def test_lessons_read_and_quiz_answers_from_the_chat(
        member: Phones, browsers: Callable[[], Console], live: TestClient, clock: Clock) -> None:  # type: ignore[type-arg]
    li = await member(LI).bound("李秀英")
    content = services_of(live).content
    first = content.lesson_for(clock().date())
    assert first is not None and first.quiz is not None
    await li.send("微课")
    wrong = next(option for option in first.quiz.options if option != first.quiz.answer)
    await li.send(f"答 {wrong}")
    clock.advance(days=1)
    second = content.lesson_for(clock().date())
    assert second is not None and second.id != first.id
    await li.send("微课")
    page = (await opened(li, browsers())).text
    assert first.title in page and second.title in page
    assert f"选 {wrong}，<span class=\"red\">答错</span>" in page and "未答" in page
    assert "今年学习微党课 2 课，答题 1 道，答对 0 道" in page
    wang = await member(WANG).bound("王德明")
    await wang.send("微课")
    await wang.send(f"答 {second.quiz.answer if second.quiz else 'A'}")
    page = (await opened(li, browsers())).text
    assert "答对 0 道" in page and "答对</span>" not in page


async def test_a_secretarys_own_page_is_their_own(
        member: Phones, live: TestClient, browsers: Callable[[], Console], db: SessionMaker) -> None:  # type: ignore[type-arg]
    await ledger(db, "张建国", (at(2), 6, "张建国自己的记录"))
    await ledger(db, "李秀英", (at(2), 4, "李秀英的记录"))
    secretary = await member(SECRETARY).bound("张建国")
    console = await sign_in(live, secretary, landing="/console/me")
    page = await console.get("/console/me")
    assert "张建国自己的记录" in page and "李秀英" not in page
    assert chart(page)["series"] == [{"name": "积分", "data": [0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0]}]
    assert 'href="/console/audit"' in page  # a secretary's page keeps the secretary's tabs
    await console.close()
    page = (await opened(secretary, browsers())).text  # `我的` works for a secretary too
    assert "张建国自己的记录" in page


async def test_the_ledger_pages_fifty_entries_at_a_time(
        member: Phones, browsers: Callable[[], Console], db: SessionMaker) -> None:
    await ledger(db, "李秀英", *((at(1 + i % 10, 1 + i % 28), 1, f"第{i}条") for i in range(55)))
    browser = await opened(await member(LI).bound("李秀英"), browsers())
    assert "第 1 / 2 页" in browser.text and browser.text.count('<td data-label="积分">+1</td>') == 50
    await browser.get("/console/me", page="2")
    assert browser.text.count('<td data-label="积分">+1</td>') == 5
    assert chart(browser.text)["series"] == chart(await browser.get("/console/me"))["series"]
