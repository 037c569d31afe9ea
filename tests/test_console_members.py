"""The console's 成员 page (issue 15): the roster of the viewer's subtree only (two villages whose branches share
names: tests/villages.csv), search, unbinding and moving through the chat's and the operator's functions, and
importing a roster file with a preview of every row before only the good rows are applied."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from io import BytesIO
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from openpyxl import Workbook
from sqlalchemy import select

from bot.console import auth, roster_import
from bot.console import members as members_page
from bot.console.roster_import import packed
from bot.ops.simulator import openid_for
from bot.roster.imports import apply_rows, read_rows
from bot.storage.db import SessionMaker
from bot.storage.models import AuditEntry, Member, Organisation
from tests.conftest import Clock
from tests.console import Console, sign_in
from tests.phone import Phone

Phones = Callable[[str], Phone]
VILLAGES = Path(__file__).with_name("villages.csv")
B_SECRETARY, B_WANG, B_CHEN, B_HUANG = "13900000211", "13900000212", "13900000213", "13900000222"
A_SECRETARY, A_WANG, A_LI = "13900000111", "13900000112", "13900000121"
B_BRANCH, B_GROUP = "乙村党总支/第一党支部", "乙村党总支/第一党支部/第一党小组"
A_BRANCH, A_GROUP = "甲村党总支/第一党支部", "甲村党总支/第一党支部/第一党小组"
HEADER = "姓名,手机号,支部,角色,入党日期\n"

Snapshot = dict[str, tuple[str, str, str, str]]


@pytest.fixture
async def villages(db: SessionMaker, clock: Clock, roster: None) -> None:
    """甲村 and 乙村 beside the demo village, each with a 第一党支部 and a 第一党小组 under it."""
    async with db.begin() as session:
        await apply_rows(session, read_rows(VILLAGES), clock())


@pytest.fixture
async def b_secretary(villages: None, member: Phones, live: TestClient) -> AsyncIterator[Console]:  # type: ignore[type-arg]
    """钱卫国, secretary of 乙村党总支/第一党支部 (and its 第一党小组), on the 成员 page."""
    console = await sign_in(live, await member(B_SECRETARY).bound("钱卫国"), landing="/console/members")
    yield console
    await console.close()


async def org_ids(db: SessionMaker) -> dict[str, int]:
    async with db() as session:
        return {path: id_ for id_, path in await session.execute(select(Organisation.id, Organisation.path))}


async def snapshot(db: SessionMaker) -> Snapshot:
    """Every member by phone: name, organisation path, role, date joined."""
    async with db() as session:
        rows = await session.execute(select(Member.phone, Member.name, Organisation.path, Member.role,
                                            Member.joined_on).join(Organisation))
        return {phone: (name, path, role, str(joined or "")) for phone, name, path, role, joined in rows}


async def member_of(db: SessionMaker, phone: str) -> Member:
    async with db() as session:
        found = await session.scalar(select(Member).where(Member.phone == phone))
        assert found is not None
        return found


async def audit_rows(db: SessionMaker) -> list[tuple[int | None, int | None, int, str, str, str]]:
    async with db() as session:
        return [tuple(row) for row in await session.execute(  # type: ignore[misc]
            select(AuditEntry.actor_id, AuditEntry.member_id, AuditEntry.org_id, AuditEntry.action,
                   AuditEntry.subject, AuditEntry.detail).order_by(AuditEntry.id))]


def row_of(page: str, member_id: int) -> str:
    return page.split(f'id="member-{member_id}"')[1].split("</tr>")[0]


def flash(page: str) -> str:
    return page.split('id="flash" role="status">')[1].split("</div>")[0]


async def test_the_roster_shows_only_the_viewers_subtree_with_phones_masked(
        b_secretary: Console, member: Phones, db: SessionMaker) -> None:
    wang = await member(B_WANG).bound("王芳")
    page = await b_secretary.get("/console/members")
    assert b_secretary.status == 200 and "共 6 人" in page
    shown = set(re.findall(r'<td data-label="姓名">([^<]+)</td>', page))
    assert shown == {"钱卫国", "王芳", "陈静", "李强", "黄磊", "郑红"}
    row = row_of(page, (await member_of(db, B_WANG)).id)
    assert B_BRANCH in row and "*******0212" in row and "已绑定" in row and "党员" in row
    li = row_of(page, (await member_of(db, "13900000221")).id)
    assert B_GROUP in li and "未绑定" in li and "0221" in li
    for hidden in (B_WANG, A_WANG, "0112", "0121", wang.openid, openid_for(B_SECRETARY), "甲村", "张建国"):
        assert hidden not in page, hidden


async def test_search_by_name_or_phone_tail_and_filter_by_organisation(
        b_secretary: Console, db: SessionMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    names = re.compile(r'<td data-label="姓名">([^<]+)</td>')
    assert names.findall(await b_secretary.get("/console/members", q="王芳")) == ["王芳"]
    assert B_BRANCH in b_secretary.text and "0112" not in b_secretary.text  # 甲村's 王芳 is not 钱卫国's
    assert names.findall(await b_secretary.get("/console/members", q="0221")) == ["李强"]
    assert names.findall(await b_secretary.get("/console/members", q="%")) == []
    ids = await org_ids(db)
    await b_secretary.get("/console/members", org=str(ids[B_GROUP]))
    assert set(names.findall(b_secretary.text)) == {"李强", "黄磊", "郑红"}
    await b_secretary.get("/console/members", org=str(ids[A_GROUP]))
    assert b_secretary.status == 403 and "李强" not in b_secretary.text
    await b_secretary.get("/console/members", q="1", org=str(ids[B_GROUP]))  # phones ending in 1: 李强 (0221)
    assert names.findall(b_secretary.text) == ["李强"]
    monkeypatch.setattr(members_page, "PER_PAGE", 4)
    await b_secretary.get("/console/members", q="2", org=str(ids[B_BRANCH]))  # the branch and its group
    assert set(names.findall(b_secretary.text)) == {"王芳", "黄磊"} and "共 2 人" in b_secretary.text
    await b_secretary.get("/console/members", org=str(ids[B_BRANCH]))
    assert "共 6 人" in b_secretary.text and "第 1 / 2 页" in b_secretary.text
    assert f'href="/console/members?org={ids[B_BRANCH]}&amp;page=2"' in b_secretary.text
    await b_secretary.get("/console/members", org=str(ids[B_BRANCH]), page="2")
    assert len(names.findall(b_secretary.text)) == 2


@pytest.mark.parametrize("channel", ["chat", "console"])
async def test_unbinding_is_the_chats(b_secretary: Console, member: Phones, db: SessionMaker, channel: str) -> None:
    await member(B_WANG).bound("王芳")
    wang = await member_of(db, B_WANG)
    if channel == "chat":
        reply = await member(B_SECRETARY).send("解绑 王芳")
    else:
        await b_secretary.get("/console/members")
        assert f'href="/console/members/{wang.id}/unbind"' in row_of(b_secretary.text, wang.id)
        await b_secretary.get(f"/console/members/{wang.id}/unbind")
        assert "解除「王芳」的微信绑定" in b_secretary.text and "确认解绑" in b_secretary.text
        reply = flash(await b_secretary.post(f"/console/members/{wang.id}/unbind"))
        assert b_secretary.status == 200 and "未绑定" in row_of(b_secretary.text, wang.id)
    assert reply == f"已解除「王芳」（{B_BRANCH}）的微信绑定，已记入操作记录。对方可以重新发送「绑定 姓名 手机号后四位」绑定。"
    assert (await member_of(db, B_WANG)).openid is None
    actor = await member_of(db, B_SECRETARY)
    assert await audit_rows(db) == [(actor.id, wang.id, wang.org_id, "unbind", f"member:{wang.id}", "解除微信绑定")]


async def test_unbinding_oneself_or_another_villages_member_is_refused(
        b_secretary: Console, member: Phones, db: SessionMaker) -> None:
    await member(A_WANG).bound("王芳")
    me, theirs = await member_of(db, B_SECRETARY), await member_of(db, A_WANG)
    assert "/unbind" not in row_of(b_secretary.text, me.id)
    await b_secretary.get(f"/console/members/{me.id}/unbind")  # refused when the page opens, as moving is
    assert b_secretary.status == 403 and "不能解除自己的微信绑定" in b_secretary.text
    await b_secretary.get("/console/members")
    await b_secretary.post(f"/console/members/{me.id}/unbind")
    assert b_secretary.status == 400 and "不能解除自己的微信绑定" in flash(b_secretary.text)
    await b_secretary.get(f"/console/members/{theirs.id}/unbind")
    assert b_secretary.status == 403 and "王芳" not in b_secretary.text
    await b_secretary.get("/console/members")
    await b_secretary.post(f"/console/members/{theirs.id}/unbind")
    assert b_secretary.status == 403
    for bad in ("0", "abc", "99999999"):
        await b_secretary.get(f"/console/members/{bad}/unbind")
        assert b_secretary.status == 404 and "这名党员不存在" in b_secretary.text
    assert (await member_of(db, B_SECRETARY)).openid and (await member_of(db, A_WANG)).openid
    assert await audit_rows(db) == []


async def test_moving_within_the_subtree_keeps_the_member_and_audits_both_organisations(
        b_secretary: Console, db: SessionMaker) -> None:
    chen, ids = await member_of(db, B_CHEN), await org_ids(db)
    page = await b_secretary.get(f"/console/members/{chen.id}/move")
    assert b_secretary.status == 200 and f'<option value="{ids[B_GROUP]}">{B_GROUP}</option>' in page
    assert "甲村" not in page and f'<option value="{ids[B_BRANCH]}">' not in page  # where 陈静 is already
    await b_secretary.post(f"/console/members/{chen.id}/move", {"org": str(ids[B_GROUP])})
    assert b_secretary.status == 200
    assert flash(b_secretary.text) == f"已把「陈静」从 {B_BRANCH} 转到 {B_GROUP}，积分、星级和记录随本人保留，已记入操作记录。"
    assert (await member_of(db, B_CHEN)).org_id == ids[B_GROUP]
    actor = (await member_of(db, B_SECRETARY)).id
    detail = f"{B_BRANCH} → {B_GROUP}"
    assert await audit_rows(db) == [(actor, chen.id, ids[B_BRANCH], "member_leave", f"member:{chen.id}", detail),
                                    (actor, chen.id, ids[B_GROUP], "member_join", f"member:{chen.id}", detail)]


async def test_moving_to_an_organisation_outside_the_subtree_is_refused(
        b_secretary: Console, db: SessionMaker) -> None:
    chen, ids = await member_of(db, B_CHEN), await org_ids(db)
    for target in (ids[A_BRANCH], ids["乙村党总支"], ids["塘约村党总支/第一党支部"]):
        await b_secretary.get(f"/console/members/{chen.id}/move")
        await b_secretary.post(f"/console/members/{chen.id}/move", {"org": str(target)})
        assert b_secretary.status == 403 and "不属于您管理的组织" in b_secretary.text
    await b_secretary.get(f"/console/members/{chen.id}/move")
    await b_secretary.post(f"/console/members/{chen.id}/move", {"org": "x"})
    assert b_secretary.status == 400
    assert (await member_of(db, B_CHEN)).org_id == ids[B_BRANCH]
    assert await audit_rows(db) == []


FORMULA = '=HYPERLINK("http://evil.example/","点击查看")'
ROSTER = HEADER + (
    "新人,13900000299,乙村党总支/第一党支部,党员,2020-01-01\n"  # 2 new
    "坏号,12345,第一党支部,党员,\n"  # 3 a bad phone
    "队长甲,13900000298,第一党支部,队长,\n"  # 4 an unknown role
    "外村人,13900000297,甲村党总支/第一党支部,党员,\n"  # 5 a branch of the other village
    "新人二,13900000299,第一党支部,党员,\n"  # 6 the phone of line 2 again
    "陈静,13900000213,第一党支部,书记,2016-02-26\n"  # 7 a secretary of the importer's own branch: not theirs to make
    "黄磊,13900000222,乙村党总支/第一党支部,党员,2017-11-11\n"  # 8 moved up from the group
    "王芳,13900000112,乙村党总支/第一党支部,党员,2011-08-02\n"  # 9 甲村's 王芳's phone
    "\n"
    "郑红,13900000223,第一党小组,党员,2020-03-03\n"  # 11 unchanged
    "无名村,13900000296,丙村党总支,党员,\n"  # 12 no such organisation
    "李强,13900000221,第一党小组,书记,2013-06-30\n"  # 13 changed: the group below gets a secretary
    "钱卫国,13900000211,第一党小组,书记,2006-04-18\n"  # 14 the importer moving himself
    '"=HYPERLINK(""http://evil.example/"",""点击查看"")",13900000295,第一党支部,党员,\n'  # 15 a spreadsheet's formula
)


async def upload(console: Console, name: str, data: bytes) -> str:
    """Choose a file on the import page and send it (multipart, with the page's form token)."""
    form = aiohttp.FormData()
    form.add_field("csrf", console.csrf)
    form.add_field("file", BytesIO(data), filename=name, content_type="application/octet-stream")
    async with console.http.post(console.url("/console/members/import"), data=form) as resp:
        console.status, console.text = resp.status, await resp.text()
    return console.text


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, name
    return found.group(1)


async def apply_previewed(console: Console) -> str:
    return await console.post("/console/members/import/apply", {"cells": hidden(console.text, "cells"),
                                                                "digest": hidden(console.text, "digest")})


def bad_rows(page: str) -> dict[str, str]:
    """The preview's bad rows: line → why."""
    return {line: html.unescape(why.strip()) for line, why in re.findall(
        r'<tr id="bad-(\d+)">\s*<td data-label="行号">第 \d+ 行</td>\s*<td data-label="问题" class="red">([^<]+)', page)}


def good_rows(page: str) -> dict[str, str]:
    """The preview's good rows: line → its cells as read, tags and all."""
    return {line: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
            for line, body in re.findall(r'<tr id="good-(\d+)">(.*?)</tr>', page, re.DOTALL)}


async def test_the_import_preview_judges_every_row_and_changes_nothing(
        b_secretary: Console, db: SessionMaker) -> None:
    before, audit_before = await snapshot(db), await audit_rows(db)
    await b_secretary.get("/console/members/import")
    page = await upload(b_secretary, "名册.csv", ROSTER.encode())
    assert b_secretary.status == 200
    assert bad_rows(page) == {
        "3": "手机号「12345」不是 11 位手机号", "4": "角色「队长」应为 党员、书记 或 管理员",
        "5": "支部「甲村党总支/第一党支部」不在您管理的组织内",
        "6": "手机号尾号 0299 在文件中重复出现（以第一次出现的行为准）",
        "7": f"书记、管理员由上级组织任免：您只能任免您下级组织的书记、管理员，{B_BRANCH} 不在其中",
        "9": "手机号尾号 0112 是其他组织的党员，不能在这里修改",
        "12": "没有「丙村党总支」这个组织（新建组织请联系系统管理员）",
        "14": "不能通过导入修改您自己的角色或组织，请由上级组织办理",
        "15": f"姓名「{FORMULA}」不能以 = + - @ 开头"}
    good = good_rows(page)
    assert set(good) == {"2", "8", "11", "13"}
    assert f"新人 *******0299 {B_BRANCH} 党员 新增" in good["2"]
    assert f"黄磊 *******0222 {B_BRANCH} 党员 转入 从 {B_GROUP} 转来" in good["8"]
    assert f"郑红 *******0223 {B_GROUP} 党员 无变化" in good["11"]
    assert f"李强 *******0221 {B_GROUP} 书记 修改 角色变更：党员 → 书记" in good["13"]
    assert '<span class="tag red">角色变更：党员 → 书记</span>' in page
    assert "其中 1 人的角色将变更" in page.split('id="apply"')[1]
    assert "确认导入 4 行" in page and "13900000299" not in page
    assert await snapshot(db) == before and await audit_rows(db) == audit_before


async def test_applying_changes_exactly_the_good_rows_inside_the_subtree(
        b_secretary: Console, db: SessionMaker) -> None:
    before = await snapshot(db)
    await b_secretary.get("/console/members/import")
    await upload(b_secretary, "roster.csv", ROSTER.encode())
    page = await apply_previewed(b_secretary)
    assert b_secretary.status == 200
    summary = "新增 1 人，更新 3 人（其中转组织 1 人）；有问题的 9 行未导入；另有 3 名党员不在文件中，已保留"
    assert flash(page) == f"名册已导入：{summary}。已记入操作记录。"
    expected = dict(before)
    expected["13900000299"] = ("新人", B_BRANCH, "党员", "2020-01-01")
    expected[B_HUANG] = ("黄磊", B_BRANCH, "党员", "2017-11-11")
    expected["13900000221"] = ("李强", B_GROUP, "书记", "2013-06-30")
    assert await snapshot(db) == expected  # nothing else: not 甲村's 王芳, not 陈静, not 钱卫国, not a bad row
    actor, ids = (await member_of(db, B_SECRETARY)).id, await org_ids(db)
    huang, li = await member_of(db, B_HUANG), await member_of(db, "13900000221")
    detail = f"{B_GROUP} → {B_BRANCH}"
    assert await audit_rows(db) == [
        (actor, huang.id, ids[B_GROUP], "member_leave", f"member:{huang.id}", detail),
        (actor, huang.id, ids[B_BRANCH], "member_join", f"member:{huang.id}", detail),
        (actor, li.id, ids[B_GROUP], "role_change", f"member:{li.id}", "党员 → 书记"),
        (actor, None, ids[B_BRANCH], "roster_import", "roster", summary)]
    trail = await b_secretary.get("/console/audit")
    assert "变更角色" in trail and "党员 → 书记" in trail and summary in trail


async def test_a_row_for_a_branch_outside_the_subtree_is_never_applied(
        b_secretary: Console, db: SessionMaker) -> None:
    before = await snapshot(db)
    await b_secretary.get("/console/members/import")
    page = await upload(b_secretary, "x.csv", (HEADER + f"外村人,13900000297,{A_BRANCH},党员,\n"
                                                        f"李强,{A_LI},{B_BRANCH},党员,\n").encode())
    assert "不在您管理的组织内" in page and "是其他组织的党员" in page and "没有可以导入的行" in page
    assert 'name="cells"' not in page  # nothing to confirm
    await b_secretary.get("/console/members/import")
    await upload(b_secretary, "x.csv", (HEADER + f"新人,13900000299,{B_BRANCH},党员,\n").encode())
    forged = HEADER + f"外村人,13900000297,{A_BRANCH},党员,\n"  # the cells swapped for another file's
    await b_secretary.post("/console/members/import/apply", {"cells": packed([r.split(",") for r in
                                                                                forged.splitlines()]),
                                                               "digest": hidden(b_secretary.text, "digest")})
    assert b_secretary.status == 400 and "不在您管理的组织内" in b_secretary.text
    assert await snapshot(db) == before


async def test_a_roster_changed_since_the_preview_is_previewed_again(b_secretary: Console, db: SessionMaker) -> None:
    await b_secretary.get("/console/members/import")
    await upload(b_secretary, "roster.csv", ROSTER.encode())
    stale = b_secretary.text
    assert "转入" in stale
    branch = (await org_ids(db))[B_BRANCH]
    async with db.begin() as session:  # meanwhile 黄磊 is moved to the branch by someone else
        huang = await session.scalar(select(Member).where(Member.phone == B_HUANG))
        assert huang is not None
        huang.org_id = branch
    before = await snapshot(db)
    page = await apply_previewed(b_secretary)
    assert b_secretary.status == 409 and "预览之后名册有了变化" in page
    assert "从 乙村党总支/第一党支部/第一党小组 转来" not in page  # the new preview: 黄磊 is unchanged now
    assert await snapshot(db) == before
    await apply_previewed(b_secretary)  # confirming the new preview applies it
    assert b_secretary.status == 200 and (await snapshot(db))["13900000299"][0] == "新人"


async def test_an_xlsx_roster_is_previewed_alike(b_secretary: Console) -> None:
    book = Workbook()
    book.active.append(["姓名", "手机号", "支部", "角色", "入党日期"])
    book.active.append(["新人", 13900000299, B_GROUP, "党员", "2020-01-01"])
    book.active.append(["坏号", 123, B_GROUP, "党员", None])
    data = BytesIO()
    book.save(data)
    await b_secretary.get("/console/members/import")
    page = await upload(b_secretary, "roster.xlsx", data.getvalue())
    assert 'id="good-2"' in page and "新增" in page and "手机号「123」不是 11 位手机号" in page


@pytest.mark.parametrize(("name", "data", "status", "seen"), [
    ("roster.xlsx", b"not a workbook", 400, "无法读取这个文件"),
    ("roster.csv", b"\xff\xfe\x00\x00", 400, "无法读取这个文件"),
    ("", b"", 400, "请选择要导入的名册文件"),
    ("roster.csv", "姓名,支部\n李秀英,第一党支部\n".encode(), 200, "第 1 行"),
    ("roster.csv", "姓名,支部\n李秀英,第一党支部\n".encode(), 200, "表头缺少必需的列"),
    ("roster.csv", b"", 200, "文件是空的"),
])
async def test_a_file_that_is_no_roster_is_refused_clearly(
        b_secretary: Console, db: SessionMaker, name: str, data: bytes, status: int, seen: str) -> None:
    before = await snapshot(db)
    await b_secretary.get("/console/members/import")
    page = await upload(b_secretary, name, data)
    assert b_secretary.status == status and seen in page and "确认导入" not in page
    assert await snapshot(db) == before


@pytest.mark.parametrize("cells", ["", "!!!", "eJzLSM3JyQcABiwCFQ=="])
async def test_forged_cells_are_400(b_secretary: Console, cells: str) -> None:
    await b_secretary.post("/console/members/import/apply", {"cells": cells, "digest": "x"})
    assert b_secretary.status == 400 and "请重新上传名册文件" in b_secretary.text


async def test_signed_out_is_401_and_a_plain_member_403(
        villages: None, live: TestClient, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        stranger = Console(live, http)
        for path in ("/console/members", "/console/members/import", "/console/members/1/move"):
            await stranger.get(path)
            assert stranger.status == 401
        async with db.begin() as session:
            token = await auth.issue_link(session, member_id=(await member_of(db, B_WANG)).id, now=clock())
        await stranger.get(f"/console/login?t={token}&next=/console/members")
        assert stranger.status == 403 and "仅书记和管理员可用" in stranger.text
        await stranger.get("/console/members/import")
        assert stranger.status == 403


FIRST = "塘约村党总支/第一党支部"
ZHANG, LI_XIUYING, WANG_DEMING, SUN, PENG, TIAN = ("13800000001", "13800000002", "13800000003", "13800000011",
                                                   "13800000021", "13800000022")
SIGNED_IN = {ZHANG: "张建国", PENG: "彭光明", TIAN: "田秀芝"}
Signer = Callable[..., Awaitable[Console]]


@pytest.fixture
async def signed_in(member: Phones, live: TestClient) -> AsyncIterator[Signer]:  # type: ignore[type-arg]
    """Sign a demo secretary in by phone, landing on the import page (or `landing`)."""
    opened: list[Console] = []

    async def open_console(phone: str, landing: str = "/console/members/import") -> Console:
        opened.append(await sign_in(live, await member(phone).bound(SIGNED_IN[phone]), landing=landing))
        return opened[-1]

    yield open_console
    for console in opened:
        await console.close()


async def test_an_import_never_changes_the_importers_own_role_or_organisation(
        signed_in: Signer, db: SessionMaker) -> None:
    before = await snapshot(db)
    zhang = await signed_in(ZHANG)
    page = await upload(zhang, "x.csv", (HEADER + "张建国,13800000001,第一党支部,党员,\n").encode())
    assert bad_rows(page) == {"2": "不能通过导入修改您自己的角色或组织，请由上级组织办理"}
    assert "没有可以导入的行" in page and 'name="cells"' not in page
    for same in ("张建国,13800000001,第一党支部,书记,1998-07-01", "张建国,13800000001,第一党支部,,"):
        await upload(zhang, "x.csv", (HEADER + same + "\n").encode())
        assert bad_rows(zhang.text) == {} and "无变化" in good_rows(zhang.text)["2"], same
    peng = await signed_in(PENG)
    await upload(peng, "x.csv", (HEADER + "彭光明,13800000021,第一党支部,书记,1990-07-01\n").encode())
    assert bad_rows(peng.text) == {"2": "不能通过导入修改您自己的角色或组织，请由上级组织办理"}
    assert await snapshot(db) == before and (await member_of(db, ZHANG)).role == "书记"


async def test_only_the_level_above_appoints_or_removes_secretaries_and_administrators(
        signed_in: Signer, db: SessionMaker) -> None:
    zhang = await signed_in(ZHANG)
    page = await upload(zhang, "x.csv", (HEADER + "新书记,13800000099,第一党支部,书记,\n"
                                                 "李秀英,13800000002,第一党支部,管理员,2005-06-15\n").encode())
    refused = f"书记、管理员由上级组织任免：您只能任免您下级组织的书记、管理员，{FIRST} 不在其中"
    assert bad_rows(page) == {"2": refused, "3": refused} and "没有可以导入的行" in page
    assert "13800000099" not in await snapshot(db) and (await member_of(db, LI_XIUYING)).role == "党员"

    peng = await signed_in(PENG)
    page = await upload(peng, "x.csv", (HEADER + "李秀英,13800000002,第一党支部,书记,2005-06-15\n"
                                                 "张建国,13800000001,第一党支部,党员,1998-07-01\n"
                                                 "孙卫东,13800000011,第一党支部,书记,2001-07-01\n"
                                                 "田秀芝,13800000022,第一党支部,管理员,2003-07-01\n").encode())
    assert bad_rows(page) == {"5": "书记、管理员由上级组织任免：您只能任免您下级组织的书记、管理员，塘约村党总支 不在其中"}
    good = good_rows(page)
    assert "角色变更：党员 → 书记" in good["2"] and "角色变更：书记 → 党员" in good["3"]
    assert "转入 从 塘约村党总支/第二党支部 转来" in good["4"] and "角色变更" not in good["4"]
    assert "其中 2 人的角色将变更" in page
    await apply_previewed(peng)
    assert peng.status == 200
    roles = {phone: (path, role) for phone, (_, path, role, _) in (await snapshot(db)).items()}
    assert (roles[LI_XIUYING], roles[ZHANG], roles[SUN], roles[TIAN]) == (
        (FIRST, "书记"), (FIRST, "党员"), (FIRST, "书记"), ("塘约村党总支", "管理员"))
    ids, actor = await org_ids(db), (await member_of(db, PENG)).id
    li, zhang_id = (await member_of(db, LI_XIUYING)).id, (await member_of(db, ZHANG)).id
    changed = [row for row in await audit_rows(db) if row[3] == "role_change"]
    assert changed == [(actor, li, ids[FIRST], "role_change", f"member:{li}", "党员 → 书记"),
                       (actor, zhang_id, ids[FIRST], "role_change", f"member:{zhang_id}", "书记 → 党员")]


async def test_a_blank_optional_cell_keeps_what_the_roster_has(signed_in: Signer, db: SessionMaker) -> None:
    async with db.begin() as session:
        li = await session.scalar(select(Member).where(Member.phone == LI_XIUYING))
        assert li is not None
        li.category, li.language = "流动", "bo"
    zhang = await signed_in(ZHANG)
    page = await upload(zhang, "x.csv", (HEADER + "李秀英,13800000002,第一党支部,党员,\n").encode())
    assert "无变化" in good_rows(page)["2"] and "空" not in good_rows(page)["2"]
    page = await upload(zhang, "x.csv", ("姓名,手机号,支部,角色,入党日期,类别,语言\n"
                                         "李秀英,13800000002,第一党支部,,,,\n"
                                         "王德明,13800000003,第一党支部,,,离退休,\n").encode())
    good = good_rows(page)
    assert "无变化" in good["2"] and "修改 类别：空 → 离退休" in good["3"] and "入党日期" not in good["3"]
    await apply_previewed(zhang)
    async with db() as session:
        kept = (await session.execute(select(Member.role, Member.joined_on, Member.category, Member.language)
                                      .where(Member.phone.in_([LI_XIUYING, WANG_DEMING])).order_by(Member.phone))).all()
    assert [tuple(map(str, row)) for row in kept] == [("党员", "2005-06-15", "流动", "bo"),
                                                       ("党员", "1988-02-29", "离退休", "zh")]


async def test_moving_oneself_is_refused(signed_in: Signer, db: SessionMaker) -> None:
    peng = await signed_in(PENG, landing="/console/members")
    me, sun, ids = await member_of(db, PENG), await member_of(db, SUN), await org_ids(db)
    assert "/move" not in row_of(peng.text, me.id) and f"/console/members/{sun.id}/move" in row_of(peng.text, sun.id)
    await peng.get(f"/console/members/{me.id}/move")
    assert peng.status == 403 and "不能把自己转到其他组织" in peng.text
    await peng.get("/console/members")
    await peng.post(f"/console/members/{me.id}/move", {"org": str(ids[FIRST])})
    assert peng.status == 403 and "不能把自己转到其他组织" in peng.text
    assert (await member_of(db, PENG)).org_id == ids["塘约村党总支"] and await audit_rows(db) == []


async def test_moving_a_secretary_is_for_the_level_above(
        b_secretary: Console, signed_in: Signer, db: SessionMaker) -> None:
    ids = await org_ids(db)
    async with db.begin() as session:  # 李强 is made secretary of 乙村's group
        li = await session.scalar(select(Member).where(Member.phone == "13900000221"))
        assert li is not None
        li.role = "书记"
    await b_secretary.get(f"/console/members/{li.id}/move")
    await b_secretary.post(f"/console/members/{li.id}/move", {"org": str(ids[B_BRANCH])})
    assert b_secretary.status == 403 and "书记、管理员由上级组织任免" in b_secretary.text
    assert (await member_of(db, "13900000221")).org_id == ids[B_GROUP]
    peng, sun = await signed_in(PENG, landing="/console/members"), await member_of(db, SUN)
    await peng.get(f"/console/members/{sun.id}/move")
    await peng.post(f"/console/members/{sun.id}/move", {"org": str(ids[FIRST])})  # between branches below
    assert peng.status == 200 and (await member_of(db, SUN)).org_id == ids[FIRST]


async def test_an_upload_over_the_row_limit_is_refused_before_any_check(
        signed_in: Signer, db: SessionMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(roster_import, "MOST_ROWS", 3)
    zhang = await signed_in(ZHANG)
    rows = [f"新人{n},1380000009{n},第一党支部,党员,\n" for n in range(4)]
    await upload(zhang, "x.csv", (HEADER + "\n".join(rows[:3]) + "\n\n").encode())  # empty lines do not count
    assert zhang.status == 200 and "确认导入 3 行" in zhang.text
    page = await upload(zhang, "x.csv", (HEADER + "".join(rows)).encode())
    assert zhang.status == 413 and "一次最多导入 3 行" in page and "确认导入" not in page
    await zhang.get("/console/members/import")
    await zhang.post("/console/members/import/apply",
                     {"cells": packed([HEADER.strip().split(","), *(r.strip().split(",") for r in rows)]),
                      "digest": "x"})
    assert zhang.status == 413 and "一次最多导入 3 行" in zhang.text
    assert "13800000090" not in await snapshot(db)


async def test_an_upload_over_the_size_limit_is_refused_in_chinese(signed_in: Signer) -> None:
    zhang = await signed_in(ZHANG)
    page = await upload(zhang, "big.csv", (HEADER.encode() + b"x" * (1024 * 1024)))
    assert zhang.status == 413 and "文件太大" in page and "1 MB" in page and "Maximum request body" not in page
