"""The console's 会议与台账 page (issue 15), in the two villages whose branches share names (tests/villages.csv):
a month's meetings with their state and attendance, one meeting's attendance by member with its minutes, planning
through the chat's own `会议 …`, and the year's 台账 workbook of an organisation of the viewer's subtree."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from bot.console import auth
from bot.ops.cli import main
from bot.storage.db import SessionMaker
from bot.storage.models import AuditEntry, Campaign, Delivery, Meeting
from bot.wechat.fake import FakeWeChat
from scheduler.delivery_loop import deliver_due
from tests import meeting_rows
from tests.conftest import Clock, services_of
from tests.console import Console, sign_in
from tests.console_pages import part, rows
from tests.test_villages import (  # noqa: F401 (fixtures)
    BRANCH,
    GROUP,
    TZ,
    A,
    B,
    Village,
    live,
    member_ids,
    org_ids,
    village_roster,
    villages,
)

PLAN = {"kind": "党员大会", "day": "2026-12-20", "at": "14:30", "minutes": "120", "place": "村委会",
        "topic": "学习全会精神"}
MINUTES = "传达学习了全会精神，讨论了明年春耕安排。"


@pytest.fixture
def december(clock: Clock) -> None:
    """Everyone binds (and so opens their 48-hour window) two days before the meeting."""
    clock.now = datetime(2026, 12, 18, 9, 0, tzinfo=TZ)


async def open_console(live: TestClient, village: Village, consoles: list[Console],  # type: ignore[type-arg]  # noqa: F811
                       who: str = "书记") -> Console:
    console = await sign_in(live, village.role(who), landing="/console/meetings")
    consoles.append(console)
    return console


async def plan(console: Console, org: int, **changes: str) -> str:
    await console.get("/console/meetings")
    return await console.post("/console/meetings", {"org": str(org), **PLAN, **changes})


def without_number(push: str) -> str:
    return re.sub(r"请假 \d+ ", "请假 N ", push)


async def test_a_meeting_planned_from_the_form_is_saved_audited_and_announced_as_from_chat(
        december: None, villages: dict[str, Village], live: TestClient, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        wechat: FakeWeChat, consoles: list[Console]) -> None:
    a, b = villages[A], villages[B]
    ids = await org_ids(db)
    console = await open_console(live, a, consoles)
    page = await console.get("/console/meetings")
    assert console.status == 200 and f"{A}{BRANCH}" in page and B not in page  # the viewer's subtree only
    planned = await plan(console, ids[A + BRANCH])
    assert console.status == 200, planned
    reply = part(planned, "outcome")
    found = re.search(r"已安排 (\d+) 号会议", reply)
    assert found and "已通知参会党员 6 人" in reply, reply
    number = int(found.group(1))
    assert rows(planned, "meetings")[0][:6] == (f"{number} 号", "12-20 14:30–16:30", "党员大会", A + BRANCH,
                                               "村委会 · 学习全会精神", "计划中")
    chat = await b.secretary.says("会议 党员大会 12月20日 14:30 村委会 学习全会精神")  # the same plan in chat
    assert "已安排" in chat
    await deliver_due(services_of(live))

    for name in ("王芳", "李强"):  # the namesakes of each village got their own village's notice, alike
        ours, theirs = a[name].pushed(), b[name].pushed()
        assert len(ours) == len(theirs) == 1 and f"请假 {number} 理由" in ours[0]
        assert without_number(ours[0]) == without_number(theirs[0])
    async with db() as session:
        web, from_chat = list(await session.scalars(select(Meeting).order_by(Meeting.id)))
        assert (web.org_id, web.kind, web.place, web.topic, web.starts_at, web.ends_at) == (
            ids[A + BRANCH], "党员大会", "村委会", "学习全会精神", from_chat.starts_at, from_chat.ends_at)
        audited = {e.subject: e for e in await session.scalars(select(AuditEntry).where(
            AuditEntry.action == "meeting_plan"))}
        assert audited[f"meeting:{web.id}"].detail == audited[f"meeting:{from_chat.id}"].detail
        notice = await session.scalar(select(Campaign.id).where(Campaign.key.startswith(f"meeting:{web.id}:")))
        audience = set(await session.scalars(select(Delivery.member_id).where(Delivery.campaign_id == notice)))
    people = await member_ids(db)
    assert audience == {people[a[n].number] for n in ("张建华", "王芳", "刘洋", "李强", "赵敏", "孙丽")}

    assert "已向书记提交请假" in await a["王芳"].says(f"请假 {number} 外出务工")
    page = await console.get(f"/console/meetings/{number}")
    seats = {name: rest for name, *rest in rows(page, "seats")}
    assert "计划中" in part(page, "state") and len(seats) == 6
    assert seats["王芳"] == [A + BRANCH, "—", "", "请假待批", ""] and seats["李强"] == [A + GROUP, "—", "", "", ""]


async def test_a_kind_the_organisation_does_not_hold_is_refused_with_the_chats_reason(
        december: None, villages: dict[str, Village], live: TestClient, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        consoles: list[Console]) -> None:
    a = villages[A]
    ids = await org_ids(db)
    console = await open_console(live, a, consoles)
    page = await plan(console, ids[A + BRANCH], kind="党小组会")
    assert console.status == 400 and "党小组会由党小组召开" in part(page, "outcome")
    assert 'value="村委会"' in page and 'value="学习全会精神"' in page  # the form keeps what was typed
    assert "党小组会由党小组召开" in await a.secretary.says("会议 党小组会 12月22日 19:00 活动室 学习党章")  # as chat
    page = await plan(console, ids[A + GROUP], kind="党员大会")
    assert console.status == 400 and "由党支部（或以上）召开" in part(page, "outcome")
    async with db() as session:
        assert list(await session.scalars(select(Meeting))) == []


@pytest.mark.parametrize(("changes", "refused"), [
    ({"at": ""}, "请填写开始时间"),
    ({"day": "12月20日"}, "请选择会议日期"),
    ({"day": "0001-01-02"}, "请选择会议日期"),  # a year nobody means: never a 500
    ({"day": "1999-01-02"}, "请选择会议日期"),
    ({"day": "2099-01-01"}, "太远了"),
    ({"minutes": "5"}, "会议时长应在 15 到 720 分钟之间"),
    ({"place": " "}, "请填写会议地点和议题"),
    ({"kind": "座谈会"}, "请选择会议类型"),
    ({"place": "村" * 101}, "会议地点最多 100 字"),  # the chat's own limit and reply
])
async def test_a_plan_missing_or_wrong_in_a_field_is_400_and_saves_nothing(
        december: None, villages: dict[str, Village], live: TestClient, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        consoles: list[Console], changes: dict[str, str], refused: str) -> None:
    console = await open_console(live, villages[A], consoles)
    page = await plan(console, (await org_ids(db))[A + BRANCH], **changes)
    assert console.status == 400 and refused in part(page, "outcome")
    async with db() as session:
        assert list(await session.scalars(select(Meeting))) == []


async def test_planning_in_another_villages_branch_or_without_the_token_is_403(
        december: None, villages: dict[str, Village], live: TestClient, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        consoles: list[Console]) -> None:
    console = await open_console(live, villages[A], consoles)
    await plan(console, (await org_ids(db))[B + BRANCH])  # a branch of the same name, in the other village
    assert console.status == 403
    await console.get("/console/meetings")
    await console.post("/console/meetings", {"org": str((await org_ids(db))[A + BRANCH]), **PLAN}, token="")
    assert console.status == 403
    async with db() as session:
        assert list(await session.scalars(select(Meeting))) == []


async def stored_month(db: SessionMaker, both: dict[str, Village]) -> dict[str, int]:
    """December in village A's branch: a meeting held (attendance, 补学, 送学, minutes, a photo), one planned, one
    called off; and one held in village B's branch. Their numbers by name."""
    a, people = both[A], await member_ids(db)

    def who(name: str) -> int:
        return people[a[name].number]

    async with db.begin() as session:
        ours, theirs = [await meeting_rows.org_id(session, v + BRANCH) for v in (A, B)]
        held = await meeting_rows.meeting(session, org=ours, kind="党员大会", closed=True,
                                          starts_at=datetime(2026, 12, 10, 14, 30, tzinfo=TZ))
        await meeting_rows.attendance(session, held, [
            (who("张建华"), "present", None), (who("王芳"), "late", None), (who("刘洋"), "leave", "送学"),
            (who("李强"), "absent", "补学"), (who("赵敏"), "absent", None), (who("孙丽"), "exempt", None)])
        await meeting_rows.minute(session, held, author=who("张建华"), text=MINUTES,
                                  at=datetime(2026, 12, 10, 17, 0, tzinfo=TZ))
        await meeting_rows.minute(session, held, author=who("张建华"), photo_url="https://example.com/a.jpg",
                                  at=datetime(2026, 12, 10, 17, 1, tzinfo=TZ))
        planned = await meeting_rows.meeting(session, org=ours, kind="党课", topic="重温入党誓词", place="村史馆",
                                             starts_at=datetime(2026, 12, 28, 9, 0, tzinfo=TZ))
        cancelled = await meeting_rows.meeting(session, org=ours, kind="支委会", topic="研究发展党员",
                                               starts_at=datetime(2026, 12, 22, 9, 0, tzinfo=TZ))
        cancelled.cancelled_at = datetime(2026, 12, 15, 9, 0, tzinfo=TZ)
        other = await meeting_rows.meeting(session, org=theirs, kind="党员大会", topic="乙村的会", closed=True,
                                           starts_at=datetime(2026, 12, 11, 14, 30, tzinfo=TZ))
    return {"held": held.id, "planned": planned.id, "cancelled": cancelled.id, "other": other.id}


async def test_the_month_lists_the_subtrees_meetings_with_state_attendance_and_catch_ups(
        december: None, villages: dict[str, Village], live: TestClient, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        consoles: list[Console]) -> None:
    numbers = await stored_month(db, villages)
    console = await open_console(live, villages[A], consoles)
    listed = {row[0]: row for row in rows(await console.get("/console/meetings"), "meetings")}
    assert set(listed) == {f"{numbers[n]} 号" for n in ("held", "planned", "cancelled")}  # not village B's
    held = listed[f"{numbers['held']} 号"]
    assert held[1:] == ("12-10 14:30–16:30", "党员大会", A + BRANCH, "村委会 · 学习全会精神", "已结束",
                        "出席 1，迟到 1，请假 1，免于参加 1，缺席 2", "补学 1，送学 1")
    assert listed[f"{numbers['planned']} 号"][5:] == ("计划中", "—", "—")
    assert listed[f"{numbers['cancelled']} 号"][5] == "已取消"
    await console.get("/console/meetings", month="2026-11")
    assert console.status == 200 and "这个月没有会议" in console.text
    await console.get("/console/meetings", month="十三月")
    assert console.status == 400 and "没有看懂月份" in console.text


async def test_a_meetings_page_shows_each_members_attendance_catch_up_and_minutes_in_its_branch_only(
        december: None, villages: dict[str, Village], live: TestClient, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        consoles: list[Console]) -> None:
    numbers = await stored_month(db, villages)
    console = await open_console(live, villages[A], consoles)
    page = await console.get(f"/console/meetings/{numbers['held']}")
    assert console.status == 200 and "已结束" in part(page, "state")
    seats = {name: rest for name, *rest in rows(page, "seats")}
    assert seats["王芳"] == [A + BRANCH, "迟到", "14:30", "", ""]
    assert seats["李强"] == [A + GROUP, "缺席", "", "", "补学（12-11）"]
    assert seats["刘洋"] == [A + BRANCH, "请假", "", "", "送学（12-11）"]
    assert seats["赵敏"][1] == "缺席" and seats["赵敏"][4] == "未补学"
    assert MINUTES in part(page, "minutes") and "照片 1 张" in part(page, "photos")
    assert "出席 1 人，迟到 1 人，请假 1 人，免于参加 1 人，缺席 2 人；补学 1 人，送学 1 人" in part(page, "counts")

    theirs = await open_console(live, villages[B], consoles)
    await theirs.get(f"/console/meetings/{numbers['held']}")
    assert theirs.status == 403 and "无权查看" in theirs.text
    for bad in (numbers["other"] + 1000, "abc"):
        await theirs.get(f"/console/meetings/{bad}")
        assert theirs.status == 404
    above = await open_console(live, villages[A], consoles, who="管理员")  # the 党总支's administrator
    await above.get(f"/console/meetings/{numbers['held']}")
    assert above.status == 200


async def test_the_ledger_download_is_the_palmbot_ledger_workbook_of_the_subtree(
        december: None, villages: dict[str, Village], live: TestClient, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        consoles: list[Console], cli_env: None, tmp_path: Path) -> None:
    await stored_month(db, villages)
    ids = await org_ids(db)
    console = await open_console(live, villages[A], consoles, who="管理员")
    async with console.http.get(console.url("/console/meetings/ledger"), params={"org": ids[A], "year": "2026"}) as resp:
        assert resp.status == 200 and resp.content_type.endswith("spreadsheetml.sheet")
        assert "attachment" in resp.headers["Content-Disposition"]
        downloaded = load_workbook(io.BytesIO(await resp.read()))
    out = tmp_path / "cli.xlsx"
    assert await asyncio.to_thread(main, ["ledger", "--org", A, "--year", "2026", "--out", str(out)]) == 0
    written = load_workbook(out)
    assert downloaded.sheetnames == written.sheetnames
    for name in written.sheetnames:
        assert list(downloaded[name].values) == list(written[name].values), name
    general = list(downloaded["党员大会"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in general] == [A + BRANCH] and general[0][5] == "学习全会精神"
    assert not [cell for sheet in downloaded for row in sheet.values for cell in row
                if isinstance(cell, str) and (B in cell or "乙村的会" in cell)]  # nothing of village B
    assert list(downloaded["支委会"].values)[1:] == []  # the one called off is no row of the 台账

    theirs = await open_console(live, villages[B], consoles)
    async with theirs.http.get(theirs.url("/console/meetings/ledger"), params={"org": ids[A + BRANCH],
                                                                               "year": "2026"}) as resp:
        assert resp.status == 403
    for query in ({"org": ids[B + BRANCH], "year": "1999"}, {"org": "第一党支部", "year": "2026"}, {}):
        async with theirs.http.get(theirs.url("/console/meetings/ledger"), params=query) as resp:
            assert resp.status == 400 and "请选择组织和年份" in await resp.text()


async def test_signed_out_is_401_and_a_member_is_403(
        december: None, villages: dict[str, Village], live: TestClient, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        clock: Clock, consoles: list[Console]) -> None:
    browser = Console(live, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    consoles.append(browser)
    await browser.get("/console/meetings")
    assert browser.status == 401
    async with db.begin() as session:  # a member's session (from `我的`), made straight in the database
        token = await auth.issue_link(session, member_id=(await member_ids(db))[villages[A]["王芳"].number],
                                      now=clock())
    for path in ("/console/meetings", "/console/meetings/1", "/console/meetings/ledger?org=1&year=2026"):
        await browser.get(f"/console/login?t={token}&next={path}" if path == "/console/meetings" else path)
        assert browser.status == 403 and "仅书记和管理员可用" in browser.text, path


async def test_the_month_links_stop_at_the_years_a_person_may_name(
        december: None, villages: dict[str, Village], live: TestClient, consoles: list[Console]) -> None:  # type: ignore[type-arg]  # noqa: F811
    console = await open_console(live, villages[A], consoles)
    first = await console.get("/console/meetings", month="2000-01")
    assert console.status == 200 and 'id="previous-month"' not in first and "month=2000-02" in first
    last = await console.get("/console/meetings", month="2100-12")
    assert console.status == 200 and 'id="next-month"' not in last and "month=2100-11" in last
