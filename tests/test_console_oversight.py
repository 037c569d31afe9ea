"""The console's 督办 page (issue 15): on the three-branch tree of tests/test_oversight.py, the colours and reasons
equal chat `督办`'s for the same data and month; the month selector reads months as chat does; drilling down
shows an organisation's own subtree and only within the viewer's; two villages never see each other."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.console import auth
from bot.roster.imports import apply_rows, read_rows
from bot.storage.db import SessionMaker
from bot.storage.models import Member, Organisation
from tests.conftest import Clock
from tests.console import Console, sign_in
from tests.phone import Phone
from tests.test_oversight import EXPECTED, full, tree  # noqa: F401  (`tree` is a fixture used below)
from tests.test_villages import ROSTER

Phones = Callable[[str], Phone]
ABOVE, BRANCH_1 = "13800000021", "13800000001"
Shown = dict[str, tuple[str, tuple[str, ...]]]  # path: (红/黄/绿, reasons)
ROW = re.compile(r'<tr data-org="(\d+)" data-colour="(\w+)">(.*?)</tr>', re.DOTALL)
ORG = re.compile(r'data-label="组织">(.*?)</td>', re.DOTALL)
COLOURS = {"red": "红", "yellow": "黄", "green": "绿"}


def chat_view(reply: str) -> Shown:
    """{path: (colour, reasons)} as the chat 督办 reply lists them."""
    shown: Shown = {}
    path = ""
    for line in reply.splitlines():
        if heading := re.fullmatch(r"【(红|黄|绿)】(\S+)", line):
            path = heading.group(2)
            shown[path] = (heading.group(1), ())
        elif reason := re.fullmatch(r"  · (.+)", line):
            shown[path] = (shown[path][0], (*shown[path][1], reason.group(1)))
    return shown


def page_view(page: str) -> Shown:
    """{path: (colour, reasons)} as the console's 督办 table lists them."""
    shown: Shown = {}
    for _, colour, cells in ROW.findall(page):
        path = html.unescape(re.sub(r"<[^>]+>", "", ORG.findall(cells)[0])).strip()
        reasons = tuple(html.unescape(r) for r in re.findall(r"<li>(.*?)</li>", cells))
        assert f'class="tag {colour}">{COLOURS[colour]}<' in cells
        shown[path] = (COLOURS[colour], reasons)
    return shown


def links(page: str) -> dict[str, str]:
    """{path: drill-down address} of the organisations the table links."""
    return {html.unescape(path): html.unescape(href)
            for href, path in re.findall(r'<a href="(/console/oversight\?org=[^"]+)">([^<]+)</a>', page)}


async def org_id(db: SessionMaker, path: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Organisation.id).where(Organisation.path == path))
    assert found is not None, path
    return found


@pytest.mark.usefixtures("tree")
@pytest.mark.parametrize(("said", "query"), [("督办", {}), ("督办 11月", {"month": "2026-11"}),
                                            ("督办 12月", {"month": "2026-12"}), ("督办 10月", {"month": "10月"})])
async def test_the_page_shows_the_colours_and_reasons_chat_shows(
        member: Phones, live: TestClient, consoles: list[Console], said: str, query: dict[str, str]) -> None:  # type: ignore[type-arg]
    above = await member(ABOVE).bound("彭光明")
    reply = await above.send(said)
    assert reply is not None
    console = await sign_in(live, above, landing="/console/oversight")
    consoles.append(console)
    page = await console.get("/console/oversight", **query)
    assert console.status == 200, page
    assert page_view(page) == chat_view(reply) and len(chat_view(reply)) == len(EXPECTED)
    counts = re.search(r"红 (\d+)，黄 (\d+)，绿 (\d+)", reply)
    assert counts and all(f"{name} {n}<" in page for name, n in zip("红黄绿", counts.groups(), strict=True))
    month = re.search(r"(\d{4}年\d{1,2}月)督办", reply)
    assert month and f"{month.group(1)}督办" in page


@pytest.mark.usefixtures("tree")
async def test_the_month_the_page_shows_first_is_this_month_and_its_reasons_are_the_trees(
        member: Phones, live: TestClient, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    console = await sign_in(live, await member(ABOVE).bound("彭光明"), landing="/console/oversight")
    consoles.append(console)
    shown = page_view(console.text)
    assert {path: colour for path, (colour, _) in shown.items()} == EXPECTED
    assert shown[full("第二党支部")][1] == ("11月主题党日没有在10月25日前报备计划",)
    assert shown[full("第一党支部/第一党小组")][1] == ("11月没有开展党小组活动",)
    assert "2026年11月督办" in console.text and '<option value="2026-12"' in console.text
    assert '<option value="2026-11" selected>' in console.text


@pytest.mark.usefixtures("tree")
@pytest.mark.parametrize("asked", ["13月", "2027-01", "十一月", "2026-11-03"])
async def test_a_month_not_understood_or_after_next_is_400_as_chat_refuses_it(
        member: Phones, live: TestClient, consoles: list[Console], asked: str) -> None:  # type: ignore[type-arg]
    above = await member(ABOVE).bound("彭光明")
    assert (await above.send(f"督办 {asked}") or "").startswith("没有看懂要哪个月")
    console = await sign_in(live, above)
    consoles.append(console)
    await console.get("/console/oversight", month=asked)
    assert console.status == 400 and "没有看懂要哪个月" in console.text and html.escape(asked) in console.text


@pytest.mark.usefixtures("tree")
async def test_drilling_down_shows_an_organisations_own_subtree_and_only_the_viewers(
        member: Phones, live: TestClient, db: SessionMaker, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    above = await sign_in(live, await member(ABOVE).bound("彭光明"), landing="/console/oversight")
    consoles.append(above)
    linked = links(above.text)
    first, second = await org_id(db, full("第一党支部")), await org_id(db, full("第二党支部"))
    assert set(linked) == {full("第一党支部"), full("第二党支部")}  # those with organisations under them
    assert linked[full("第一党支部")] == f"/console/oversight?org={first}&month=2026-11"
    page = await above.get(linked[full("第一党支部")])
    assert above.status == 200
    assert page_view(page) == {p: (c, r) for p, (c, r) in page_view(await above.get("/console/oversight")).items()
                               if p.startswith(full("第一党支部"))}
    assert len(page_view(page)) == 2 and links(page) == {}
    assert 'href="/console/oversight?month=2026-11">塘约村党总支</a>' in page  # the way back up

    branch = await sign_in(live, await member(BRANCH_1).bound("张建国"), landing="/console/oversight")
    consoles.append(branch)
    assert set(page_view(branch.text)) == {full("第一党支部"), full("第一党支部/第一党小组")}
    group = await org_id(db, full("第一党支部/第一党小组"))
    for foreign in (second, await org_id(db, full("第二党支部/第一党小组")), await org_id(db, "塘约村党总支")):
        await branch.get("/console/oversight", org=str(foreign))
        assert branch.status == 403 and "无权查看" in branch.text
        assert full("第二党支部") not in branch.text
    await branch.get("/console/oversight", org=str(group), month="2026-12")
    assert branch.status == 200 and set(page_view(branch.text)) == {full("第一党支部/第一党小组")}
    for bad in ("abc", "-1", "99999999999999"):
        await branch.get("/console/oversight", org=bad)
        assert branch.status == 404 and "没有找到" in branch.text


@pytest.mark.usefixtures("tree")
async def test_members_are_refused_and_a_signed_out_browser_is_401(
        member: Phones, live: TestClient, db: SessionMaker, clock: Clock, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    async with db.begin() as session:
        li = await session.scalar(select(Member).where(Member.name == "李秀英"))
        assert li is not None
        token = await auth.issue_link(session, member_id=li.id, now=clock())
    plain = Console(live, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    consoles.append(plain)
    await plain.get("/console/oversight")
    assert plain.status == 401
    await plain.get(f"/console/login?t={token}&next=/console/oversight")
    assert plain.status == 403 and "仅书记和管理员可用" in plain.text


async def test_two_villages_each_see_only_their_own(
        member: Phones, live: TestClient, db: SessionMaker, clock: Clock, consoles: list[Console]) -> None:  # type: ignore[type-arg]
    async with db.begin() as session:
        await apply_rows(session, read_rows(ROSTER), clock())
    for phone, name, village, other in (("13900000101", "周国庆", "甲村党总支", "乙村党总支"),
                                        ("13900000211", "钱卫国", "乙村党总支/第一党支部", "甲村党总支")):
        console = await sign_in(live, await member(phone).bound(name), landing="/console/oversight")
        consoles.append(console)
        shown = page_view(console.text)
        assert shown and all(path.startswith(village) for path in shown), shown
        assert other[:2] not in console.text
        for foreign in (other, f"{other[:5]}/第一党支部", f"{other[:5]}/第一党支部/第一党小组"):
            await console.get("/console/oversight", org=str(await org_id(db, foreign)))
            assert console.status == 403 and other[:2] not in console.text
    jia = consoles[0]
    await jia.get("/console/oversight", org=str(await org_id(db, "甲村党总支/第一党支部")))
    assert set(page_view(jia.text)) == {"甲村党总支/第一党支部", "甲村党总支/第一党支部/第一党小组"}
