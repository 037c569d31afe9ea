"""The console's 待办 page and a claim's page (issue 15): pending claims approved or rejected several at once exactly
as chat `通过` / `驳回` does (the member's push, the audit row, the ledger entry), photos fetched once from WeChat
and served from the database, leave requests granted or refused, wishes accepted with the resident's contact
shown to the secretary only; another branch's rows are 403 by URL and form, unknown ones 404."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.console import auth
from bot.message import media
from bot.ops.simulator import Simulator
from bot.repo import volunteer
from bot.services import Services
from bot.storage.db import SessionMaker
from bot.storage.models import AuditEntry, KeptMedia, LeaveRequest, Member, PointEntry, VolunteerClaim
from bot.storage.models import MediaStatus as M
from bot.wechat.fake import PHOTO, FakeWeChat
from scheduler import jobs
from scheduler.delivery_loop import deliver_due
from tests.conftest import SECRET, AppMaker, Clock, services_of
from tests.console import Console, sign_in
from tests.phone import Phone
from tests.test_villages import village_roster  # noqa: F401 (a fixture)

ZHANG, SUN, PENG = "13800000001", "13800000011", "13800000021"  # secretaries: branch 1, branch 2, the 党总支
LI, WANG, MA = "13800000002", "13800000003", "13800000012"  # members: branch 1, branch 1, branch 2
TODO = "/console/todo"
RESIDENT, RESIDENT_PHONE = "王秀兰", "13912345678"


@pytest.fixture
def browse(live: TestClient, consoles: list[Console]) -> Callable[[Phone], Awaitable[Console]]:  # type: ignore[type-arg]
    async def open_for(phone: Phone) -> Console:
        consoles.append(await sign_in(live, phone, landing=TODO))
        return consoles[-1]

    return open_for


async def keep_photos(live: TestClient) -> int:  # type: ignore[type-arg]
    svc: Services = services_of(live)
    assert svc.wechat is not None
    return await media.keep_due(svc.sessionmaker, svc.wechat, svc.clock)


async def statuses(db: SessionMaker) -> dict[int, str]:
    async with db() as session:
        return {c.id: c.status for c in await session.scalars(select(VolunteerClaim))}


async def trail(db: SessionMaker) -> list[tuple[int | None, int | None, str, str, str]]:
    async with db() as session:
        return [tuple(r) for r in await session.execute(  # type: ignore[misc]
            select(AuditEntry.actor_id, AuditEntry.member_id, AuditEntry.action, AuditEntry.subject,
                   AuditEntry.detail).order_by(AuditEntry.id))]


async def ledger(db: SessionMaker) -> list[tuple[int, str, int, str]]:
    async with db() as session:
        return [tuple(r) for r in await session.execute(  # type: ignore[misc]
            select(PointEntry.member_id, PointEntry.event_key, PointEntry.delta, PointEntry.reason)
            .order_by(PointEntry.id))]


async def member_id(db: SessionMaker, phone: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Member.id).where(Member.phone == phone))
        assert found is not None
        return found


def flash(page: str) -> str:
    found = re.search(r'<div class="flash" id="flash" role="status">(.*?)</div>', page, re.DOTALL)
    assert found, page
    return found.group(1).strip()


async def test_approving_two_claims_at_once_does_what_chat_does(
        member: Callable[[str], Phone], browse: Callable[[Phone], Awaitable[Console]], live: TestClient,  # type: ignore[type-arg]
        db: SessionMaker) -> None:
    secretary = await member(ZHANG).bound("张建国")
    li, wang = await member(LI).bound("李秀英"), await member(WANG).bound("王德明")
    first, second = await li.volunteer("2 社区环境整治"), await wang.volunteer("3 义务巡逻")
    by_chat = await li.volunteer("1 看望老党员")
    chat_reply = await secretary.send(f"通过 {by_chat}")
    assert chat_reply == f"已确认志愿服务 {by_chat} 号：李秀英 1 小时，计 1 分。已通知本人。"

    console = await browse(secretary)
    assert "李秀英" in console.text and "王德明" in console.text and "塘约村党总支/第一党支部" in console.text
    assert "义务巡逻" in console.text and "3 小时" in console.text and "共 2 条" in console.text
    await console.post(TODO, [("action", "approve"), ("claim", str(first)), ("claim", str(second))])
    assert console.status == 200
    assert flash(console.text) == (f"{first} 号：已确认志愿服务 {first} 号：李秀英 2 小时，计 2 分。已通知本人。\n"
                                   f"{second} 号：已确认志愿服务 {second} 号：王德明 3 小时，计 3 分。已通知本人。")
    assert "没有待审核的志愿服务记录" in console.text

    await deliver_due(services_of(live))
    assert any(f"你的志愿服务 {first} 号（2 小时，社区环境整治）已确认，计 2 分" in m for m in li.pushed())
    assert any(f"你的志愿服务 {second} 号（3 小时，义务巡逻）已确认，计 3 分" in m for m in wang.pushed())
    zhang, li_id, wang_id = [await member_id(db, p) for p in (ZHANG, LI, WANG)]
    assert await trail(db) == [  # the console's rows are the chat's, row for row
        (zhang, li_id, "volunteer_approve", f"volunteer:{by_chat}", "1 小时 看望老党员，计 1 分"),
        (zhang, li_id, "volunteer_approve", f"volunteer:{first}", "2 小时 社区环境整治，计 2 分"),
        (zhang, wang_id, "volunteer_approve", f"volunteer:{second}", "3 小时 义务巡逻，计 3 分")]
    assert await ledger(db) == [
        (li_id, f"volunteer:{by_chat}", 1, "志愿服务（每小时）：看望老党员"),
        (li_id, f"volunteer:{first}", 2, "志愿服务（每小时）：社区环境整治"),
        (wang_id, f"volunteer:{second}", 3, "志愿服务（每小时）：义务巡逻")]
    await console.post(TODO, [("action", "approve"), ("claim", str(first))])  # pressed again: nothing twice
    assert flash(console.text) == f"志愿服务 {first} 号已经审核过了，无需重复操作。"
    assert len(await ledger(db)) == 3


async def test_rejecting_several_needs_one_reason_and_tells_each_member(
        member: Callable[[str], Phone], browse: Callable[[Phone], Awaitable[Console]], live: TestClient,  # type: ignore[type-arg]
        db: SessionMaker) -> None:
    secretary = await member(ZHANG).bound("张建国")
    li, wang = await member(LI).bound("李秀英"), await member(WANG).bound("王德明")
    first, second = await li.volunteer("8 社区环境整治"), await wang.volunteer("6 义务巡逻")
    console = await browse(secretary)
    ticked = [("claim", str(first)), ("claim", str(second))]

    await console.post(TODO, [("action", "reject"), ("reason", "  "), *ticked])
    assert console.status == 400 and "请填写理由" in flash(console.text) and "没有做任何更改" in console.text
    await console.post(TODO, [("action", "reject"), ("reason", "长" * 101), *ticked])
    assert console.status == 400 and flash(console.text) == "理由最多 100 字，请精简后重新发送。"
    await console.post(TODO, [("action", "approve")])
    assert console.status == 400 and "请先勾选" in flash(console.text)
    assert set((await statuses(db)).values()) == {"pending"} and await trail(db) == []

    await console.post(TODO, [("action", "reject"), ("reason", "时长与活动记录不符"), *ticked])
    assert console.status == 200
    assert flash(console.text) == (f"{first} 号：已驳回志愿服务 {first} 号，理由：时长与活动记录不符。已通知本人。\n"
                                   f"{second} 号：已驳回志愿服务 {second} 号，理由：时长与活动记录不符。已通知本人。")
    await deliver_due(services_of(live))
    for phone in (li, wang):
        assert any("未通过确认" in m and "理由：时长与活动记录不符" in m for m in phone.pushed())
    assert [row[2:] for row in await trail(db)] == [
        ("volunteer_reject", f"volunteer:{first}", "8 小时，驳回：时长与活动记录不符"),
        ("volunteer_reject", f"volunteer:{second}", "6 小时，驳回：时长与活动记录不符")]
    assert await ledger(db) == []


async def test_another_branchs_claim_is_403_by_url_and_form_and_an_unknown_one_404(
        member: Callable[[str], Phone], browse: Callable[[Phone], Awaitable[Console]], db: SessionMaker) -> None:
    zhang, sun = await member(ZHANG).bound("张建国"), await member(SUN).bound("孙卫东")
    ma = await member(MA).bound("马丽娟")
    theirs = await ma.volunteer("2 清理河道")
    await ma.photo("http://example.invalid/river.jpg")
    console = await browse(zhang)
    assert "马丽娟" not in console.text and "清理河道" not in console.text

    for path in (f"/console/claims/{theirs}", f"/console/media/{theirs}"):
        await console.get(path)
        assert console.status == 403 and "无权查看" in console.text, path
    await console.get(TODO)
    await console.post(f"/console/claims/{theirs}", {"action": "approve"})
    assert console.status == 403
    await console.get(TODO)
    await console.post(TODO, [("action", "approve"), ("claim", str(theirs))])
    assert console.status == 403
    await console.get(TODO)
    await console.post(TODO, [("action", "reject"), ("reason", "不符"), ("claim", str(theirs))])
    assert console.status == 403
    assert await statuses(db) == {theirs: "pending"} and await trail(db) == [] and await ledger(db) == []

    for path in ("/console/claims/99999", "/console/claims/abc", "/console/claims/99999999999",
                 "/console/claims/99999999999999999999", "/console/media/99999", "/console/media/99999999999"):
        await console.get(path)
        assert console.status == 404 and "没有找到" in console.text, path

    own = await browse(sun)
    await own.get(f"/console/claims/{theirs}")
    assert own.status == 200 and "马丽娟" in own.text and "塘约村党总支/第二党支部" in own.text
    above = await browse(await member(PENG).bound("彭光明"))
    assert "马丽娟" in above.text and "清理河道" in above.text


async def test_a_plain_member_and_a_signed_out_browser_are_refused(
        member: Callable[[str], Phone], live: TestClient, db: SessionMaker, clock: Clock,  # type: ignore[type-arg]
        consoles: list[Console]) -> None:
    li = await member(LI).bound("李秀英")
    claim = await li.volunteer("2 社区环境整治")
    async with db.begin() as session:
        token = await auth.issue_link(session, member_id=await member_id(db, LI), now=clock())
    console = Console(live, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    consoles.append(console)
    await console.get(f"/console/login?t={token}&next={TODO}")
    assert console.status == 403 and "仅书记和管理员可用" in console.text
    for path in (f"/console/claims/{claim}", f"/console/media/{claim}"):
        await console.get(path)
        assert console.status == 403, path
    await console.post(TODO, [("action", "approve"), ("claim", str(claim))])
    assert console.status == 403 and await statuses(db) == {claim: "pending"}
    stranger = Console(live, aiohttp.ClientSession())
    consoles.append(stranger)
    await stranger.get(TODO)
    assert stranger.status == 401


async def test_every_pending_claim_is_listed_twenty_to_a_page(
        member: Callable[[str], Phone], browse: Callable[[Phone], Awaitable[Console]], db: SessionMaker, clock: Clock) -> None:
    secretary = await member(ZHANG).bound("张建国")
    async with db.begin() as session:
        li = await session.scalar(select(Member).where(Member.phone == LI))
        assert li is not None
        ids = [await volunteer.create(session, member_id=li.id, org_id=li.org_id, minutes=60,
                                      description=f"服务第{n}次", now=clock()) for n in range(1, 26)]
    console = await browse(secretary)
    assert "共 25 条" in console.text and "第 1 / 2 页" in console.text
    assert [int(i) for i in re.findall(r'name="claim" value="(\d+)"', console.text)] == ids[:20]
    await console.get(TODO, page="2")
    assert [int(i) for i in re.findall(r'name="claim" value="(\d+)"', console.text)] == ids[20:]
    assert "服务第25次" in console.text and "服务第20次" not in console.text
    await console.post(TODO + "?page=2", [("action", "approve"), ("claim", str(ids[24]))])
    assert "计 1 分" in flash(console.text) and "共 24 条" in console.text


async def test_a_photo_is_fetched_once_kept_and_served_to_its_branch_only(
        member: Callable[[str], Phone], browse: Callable[[Phone], Awaitable[Console]], live: TestClient,  # type: ignore[type-arg]
        wechat: FakeWeChat, db: SessionMaker) -> None:
    secretary = await member(ZHANG).bound("张建国")
    li = await member(LI).bound("李秀英")
    claim = await li.volunteer("2 社区环境整治")
    assert "照片已附在志愿服务" in (await li.photo("http://example.invalid/clean-up.jpg") or "")
    console = await browse(secretary)
    assert "照片正在从微信取回" in console.text and f'src="/console/media/{claim}"' not in console.text

    assert sorted(await asyncio.gather(keep_photos(live), keep_photos(live))) == [0, 1]  # two replicas at once
    await jobs.keep_photos(services_of(live))  # the scheduler's sweep
    assert wechat.calls["media_get"] == 1  # once, however often the sweep runs or the page is read
    async with db() as session:
        kept = await session.scalar(select(KeptMedia))
        assert kept is not None and kept.status == M.KEPT and kept.data == PHOTO and kept.content_type == "image/png"

    await console.get(TODO)
    assert f'src="/console/media/{claim}"' in console.text and "照片正在从微信取回" not in console.text
    await console.get(f"/console/claims/{claim}")
    assert console.status == 200 and 'class="photo large"' in console.text and "社区环境整治" in console.text
    async with console.http.get(console.url(f"/console/media/{claim}")) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/png"
        assert resp.headers["X-Content-Type-Options"] == "nosniff" and await resp.read() == PHOTO
    assert wechat.calls["media_get"] == 1

    await console.get(f"/console/claims/{claim}")
    await console.post(f"/console/claims/{claim}", {"action": "approve"})
    assert flash(console.text) == f"已确认志愿服务 {claim} 号：李秀英 2 小时，计 2 分。已通知本人。"
    assert "已通过</span>（张建国" in console.text and 'id="approve"' not in console.text
    other = await browse(await member(SUN).bound("孙卫东"))
    async with other.http.get(other.url(f"/console/media/{claim}")) as resp:
        assert resp.status == 403 and not (await resp.read()).startswith(PHOTO[:8])


async def test_a_photo_wechat_no_longer_has_is_said_so_and_a_passing_failure_is_tried_again(
        member: Callable[[str], Phone], browse: Callable[[Phone], Awaitable[Console]], live: TestClient,  # type: ignore[type-arg]
        wechat: FakeWeChat, db: SessionMaker, clock: Clock) -> None:
    secretary = await member(ZHANG).bound("张建国")
    li = await member(LI).bound("李秀英")
    later = await li.volunteer("1 看望老党员")
    await li.photo("http://example.invalid/a.jpg")
    wechat.fail_next(*[-1] * 4)  # busy through every try of the first call
    clock.advance(minutes=11)
    expired = await li.volunteer("2 社区环境整治")
    await li.photo("http://example.invalid/b.jpg")
    wechat.media.pop(list(wechat.media)[-1])  # WeChat no longer has it: media/get answers 40007
    clock.advance(minutes=11)
    await li.volunteer("1 走访困难户")
    await li.photo("http://example.invalid/c.svg")
    wechat.received_photo(list(wechat.media)[-1], b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")

    assert await keep_photos(live) == 0
    async with db() as session:
        rows = sorted((k.status, k.failure or "") for k in await session.scalars(select(KeptMedia)))
    assert [status for status, _ in rows] == [M.LOST, M.LOST, M.RETRY]
    assert "40007" in rows[0][1] and "not a photo: image/svg+xml" in rows[1][1]
    console = await browse(secretary)
    assert console.status == 200 and console.text.count("照片未能保存") == 2 and "照片正在从微信取回" in console.text
    await console.get(f"/console/claims/{expired}")
    assert console.status == 200 and "照片未能保存" in console.text and "<img" not in console.text
    await console.get(f"/console/media/{expired}")
    assert console.status == 404

    assert await keep_photos(live) == 0  # too soon to try again; the lost one never again
    clock.advance(minutes=6)
    assert await keep_photos(live) == 1
    assert wechat.calls["media_get"] == 4 + 1 + 1 + 1
    await console.get(f"/console/claims/{later}")
    assert f'src="/console/media/{later}"' in console.text


async def test_the_sandbox_shows_the_claim_and_says_why_there_is_no_photo(
        make_client: AppMaker, roster: None, sim: Simulator, clock: Clock, consoles: list[Console]) -> None:
    sandbox = await make_client()
    secretary = Phone(sandbox, sim, clock, ZHANG)
    li = Phone(sandbox, sim, clock, LI)
    await secretary.bind("张建国")
    await li.bind("李秀英")
    claim = await li.volunteer("2 社区环境整治")
    await li.photo("http://example.invalid/clean-up.jpg")
    consoles.append(await sign_in(sandbox, secretary, landing=f"/console/claims/{claim}"))
    page = consoles[-1].text
    assert "社区环境整治" in page and "试用环境未配置微信 AppSecret" in page and "<img" not in page


async def test_leave_is_granted_and_refused_from_the_console_as_in_chat(
        member: Callable[[str], Phone], browse: Callable[[Phone], Awaitable[Console]], live: TestClient,  # type: ignore[type-arg]
        db: SessionMaker) -> None:
    secretary, other = await member(ZHANG).bound("张建国"), await member(SUN).bound("孙卫东")
    li, wang, ma = (await member(LI).bound("李秀英"), await member(WANG).bound("王德明"),
                    await member(MA).bound("马丽娟"))
    assert "已安排" in (await secretary.send("会议 党员大会 11月20日 14:30 村委会 学习全会精神") or "")
    assert "已安排" in (await other.send("会议 党员大会 11月20日 9:00 村委会 学习全会精神") or "")
    for phone, reason in ((li, "外出务工赶不回来"), (wang, "家里有事"), (ma, "身体不适")):
        assert "已向书记提交请假" in (await phone.send(f"请假 {reason}") or "")
    async with db() as session:
        asked = {r.reason: r.id for r in await session.scalars(select(LeaveRequest))}

    console = await browse(secretary)
    assert "外出务工赶不回来" in console.text and "家里有事" in console.text and "身体不适" not in console.text
    await console.post(TODO, {"action": "grant", "leave": str(asked["外出务工赶不回来"])})
    assert console.status == 200 and re.fullmatch(r"已准许李秀英的请假（\d+ 号会议 党员大会），已通知本人。",
                                                  flash(console.text))
    await console.post(TODO, {"action": "refuse", "leave": str(asked["家里有事"]), "reason": ""})
    assert console.status == 400 and "请填写理由" in flash(console.text)
    await console.post(TODO, {"action": "grant", "leave": str(asked["身体不适"])})
    assert console.status == 403
    await console.get(TODO)
    for unknown in ("99999", "99999999999", "x"):
        await console.post(TODO, {"action": "grant", "leave": unknown})
        assert console.status == 404, unknown
    await console.get(TODO)
    await console.post(TODO, {"action": "refuse", "leave": str(asked["家里有事"]), "reason": "会议内容重要"})
    assert re.fullmatch(r"已不准王德明的请假（\d+ 号会议 党员大会），已通知本人。", flash(console.text))
    assert "没有待批的请假申请" in console.text

    await deliver_due(services_of(live))
    assert "请假已获批准" in li.pushed()[-1]
    assert "未获批准" in wang.pushed()[-1] and "理由：会议内容重要" in wang.pushed()[-1]
    assert [row[2] for row in await trail(db) if row[2].startswith("leave")] == ["leave_grant", "leave_refuse"]
    async with db() as session:
        decided = {r.reason: r.status for r in await session.scalars(select(LeaveRequest))}
    assert decided == {"外出务工赶不回来": "granted", "家里有事": "refused", "身体不适": "pending"}
    assert "没有待处理的请假" in (await secretary.send("准假 李秀英") or "")  # chat sees the console's decision


async def test_a_wish_shows_the_residents_contact_to_its_secretary_only(
        member: Callable[[str], Phone], browse: Callable[[Phone], Awaitable[Console]], live: TestClient,  # type: ignore[type-arg]
        db: SessionMaker) -> None:
    secretary, other = await member(ZHANG).bound("张建国"), await member(SUN).bound("孙卫东")
    li = await member(LI).bound("李秀英")
    posted = await secretary.send(f"心愿 想要一台收音机听新闻 {RESIDENT} {RESIDENT_PHONE}")
    found = re.search(r"(\d+) 号", posted or "")
    assert found, posted
    wish = found.group(1)
    replies = [await li.send("心愿"), await li.send(f"认领 {wish}")]

    console = await browse(secretary)
    assert RESIDENT in console.text and RESIDENT_PHONE in console.text and "认领中" in console.text
    assert 'name="wish"' not in console.text  # nothing to accept before the member reports it done
    await console.post(TODO, {"action": "accept", "wish": wish})
    assert flash(console.text) == f"{wish} 号微心愿还没有报完成（或已经验收过），暂不能验收。"
    replies.append(await li.send(f"完成 {wish}"))
    await console.get(TODO)
    assert "已报完成" in console.text and f'name="wish" value="{wish}"' in console.text
    theirs = await browse(other)
    assert RESIDENT_PHONE not in theirs.text and RESIDENT not in theirs.text
    await theirs.post(TODO, {"action": "accept", "wish": wish})
    assert theirs.status == 403

    await console.post(TODO, {"action": "accept", "wish": wish})
    assert flash(console.text) == f"{wish} 号微心愿已验收，认领的党员计 2 分，已通知本人。"
    assert "没有党员认领中的微心愿" in console.text
    await deliver_due(services_of(live))
    li_id = await member_id(db, LI)
    assert await ledger(db) == [(li_id, f"wish:{wish}", 2, "认领并完成微心愿：想要一台收音机听新闻")]
    assert [row[2:4] for row in await trail(db)] == [("wish_accept", f"wish:{wish}")]
    replies += [await li.send("心愿"), await li.send("通知")]
    for text in replies + li.pushed():
        assert RESIDENT_PHONE not in (text or "") and RESIDENT not in (text or ""), text


@pytest.mark.usefixtures("village_roster")
async def test_a_branch_secretary_gets_403_on_the_same_named_branch_of_another_village(
        make_client: AppMaker, sim: Simulator, clock: Clock, wechat: FakeWeChat,
        consoles: list[Console]) -> None:
    """甲村 and 乙村 each have a 第一党支部 (tests/villages.csv): names never decide what a secretary may open."""
    app = await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base, send_rate=10_000.0)
    phones = {number: Phone(app, sim, clock, number, wechat) for number in ("13900000111", "13900000211", "13900000212")}
    for number, name in (("13900000111", "张建华"), ("13900000211", "钱卫国"), ("13900000212", "王芳")):
        await phones[number].bind(name)
    claim = await phones["13900000212"].volunteer("2 清理河道")  # 乙村's 王芳
    for number, status in (("13900000111", 403), ("13900000211", 200)):
        consoles.append(await sign_in(app, phones[number], landing=TODO))
        assert ("清理河道" in consoles[-1].text) == (status == 200)
        await consoles[-1].get(f"/console/claims/{claim}")
        assert consoles[-1].status == status, number
