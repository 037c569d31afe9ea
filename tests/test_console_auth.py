"""Signing in to the web console (issue 15): the one-time link from `后台`, the session cookie, the form token,
expiry and signing out, and every page scoped to the viewer's subtree."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.console import auth
from bot.ops.simulator import Simulator
from bot.storage.db import SessionMaker
from bot.storage.models import AuditEntry, ConsoleLink, ConsoleSession, InboundMessage, Member
from bot.wechat.fake import FakeWeChat
from tests.conftest import SECRET, AppMaker, Clock
from tests.console import Console, link_in, sign_in
from tests.phone import Phone

SECRETARY_1, SECRETARY_2, MEMBER = "13800000001", "13800000011", "13800000002"


async def test_a_link_signs_in_once_and_the_cookie_keeps_the_session(
        member: Callable[[str], Phone], browsers: Callable[[], Console], db: SessionMaker) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    reply = await secretary.send("后台")
    assert "10分钟内有效" in (reply or "") and "/console/login?t=" in (reply or "")
    link = link_in(reply)
    first, second = browsers(), browsers()
    page = await first.get(link + "&next=/console/audit")
    assert first.status == 200 and "张建国" in page and "塘约村党总支/第一党支部" in page  # landed on a page
    cookie = next(c for c in first.http.cookie_jar if c.key == "palmbot_console")
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/console"
    assert not cookie["secure"]  # plain HTTP here; see the HTTPS test
    await second.get(link)  # the same link again, from another browser
    assert second.status == 403 and "已经用过、已超过 10 分钟" in second.text
    await second.get("/console/audit")
    assert second.status == 401 and "发送「后台」" in second.text
    async with db() as session:  # neither token is kept in the clear
        stored = await session.scalar(select(ConsoleLink.token_hash))
        assert stored == auth.digest(link.split("t=")[1]) and link.split("t=")[1] not in stored
        assert await session.scalar(select(ConsoleSession.token_hash)) == auth.digest(cookie.value)


async def test_a_link_older_than_ten_minutes_is_refused(
        member: Callable[[str], Phone], browsers: Callable[[], Console], clock: Clock) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    link = link_in(await secretary.send("后台"))
    clock.advance(minutes=10, seconds=1)
    console = browsers()
    await console.get(link)
    assert console.status == 403 and "登录链接已失效" in console.text


async def test_two_browsers_racing_for_one_link_sign_in_once(
        member: Callable[[str], Phone], browsers: Callable[[], Console], db: SessionMaker) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    link = link_in(await secretary.send("后台"))
    racers = [browsers() for _ in range(4)]
    await asyncio.gather(*(r.get(link + "&next=/console/audit") for r in racers))
    assert sorted(r.status for r in racers) == [200, 403, 403, 403]
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(ConsoleSession)) == 1


async def test_only_secretaries_and_administrators_get_a_link(member: Callable[[str], Phone], db: SessionMaker) -> None:
    plain = await member(MEMBER).bound("李秀英")
    reply = await plain.send("后台")
    assert "/console/login" not in (reply or "") and "书记" in (reply or "")
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(ConsoleLink)) == 0


async def test_a_session_ends_after_eight_hours_and_on_sign_out(
        member: Callable[[str], Phone], live: TestClient, clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    console = await sign_in(live, secretary)
    await console.get("/console/audit")
    assert console.status == 200
    clock.advance(hours=8, seconds=1)
    await console.get("/console/audit")
    assert console.status == 401
    again = await sign_in(live, secretary)
    await again.get("/console/audit")
    await again.post("/console/logout")
    assert again.status == 200 and "已退出后台" in again.text
    assert not [c for c in again.http.cookie_jar if c.key == "palmbot_console" and c.value]
    await again.get("/console/audit")
    assert again.status == 401
    await console.close()
    await again.close()


async def test_quitting_in_chat_ends_every_session_of_the_sender(
        member: Callable[[str], Phone], live: TestClient) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    phone_browser, pc_browser = await sign_in(live, secretary), await sign_in(live, secretary)
    assert "已退出 2 处" in (await secretary.send("退出后台") or "")
    for browser in (phone_browser, pc_browser):
        await browser.get("/console/audit")
        assert browser.status == 401
        await browser.close()


async def test_a_form_without_its_token_is_refused(member: Callable[[str], Phone], live: TestClient) -> None:  # type: ignore[type-arg]
    console = await sign_in(live, await member(SECRETARY_1).bound("张建国"))
    await console.get("/console/audit")
    await console.post("/console/logout", token="")
    assert console.status == 403 and "页面已过期" in console.text
    await console.post("/console/logout", token="forged" + console.csrf)
    assert console.status == 403
    await console.get("/console/audit")
    assert console.status == 200  # still signed in: the forged forms did nothing
    await console.close()


@pytest.mark.parametrize("wanted, landed", [
    ("/console/audit", "/console/audit"),
    ("//evil.example.com/x", "/console/"),
    ("https://evil.example.com/", "/console/"),
    ("/console//evil.example.com", "/console/"),
])
async def test_after_sign_in_only_a_console_page_may_follow(
        member: Callable[[str], Phone], live: TestClient, wanted: str, landed: str) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    link = link_in(await secretary.send("后台"))
    resp = await live.get(link, params={"next": wanted}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == landed


async def test_pages_are_kept_out_of_frames_and_caches_and_https_cookies_are_secure(
        member: Callable[[str], Phone], live: TestClient) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    resp = await live.get(link_in(await secretary.send("后台")), allow_redirects=False,
                          headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in resp.headers["Set-Cookie"] and "HttpOnly" in resp.headers["Set-Cookie"]
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"


async def test_the_link_token_never_reaches_the_access_log(
        member: Callable[[str], Phone], live: TestClient, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    link = link_in(await secretary.send("后台"))
    with caplog.at_level(logging.INFO):  # a new connection: aiohttp decides on access logging per connection
        async with aiohttp.ClientSession() as fresh:
            await fresh.get(live.make_url(link), allow_redirects=False)
            await fresh.get(live.make_url("/healthz"))  # written after the login's line, so that one is in
    token = link.split("t=")[1]
    assert any("/console/login" in r.getMessage() for r in caplog.records)
    assert not any(token in r.getMessage() for r in caplog.records)


async def test_the_audit_page_shows_only_the_viewers_subtree(
        member: Callable[[str], Phone], live: TestClient, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    async with db.begin() as session:
        people = {m.name: m for m in await session.scalars(select(Member))}
        for name, detail in (("李秀英", "一支部的记录"), ("马丽娟", "二支部的记录")):
            session.add(AuditEntry(actor_id=None, member_id=people[name].id, org_id=people[name].org_id,
                                   action="points_correct", subject="points", detail=detail, at=clock()))
        session.add(AuditEntry(actor_id=people["张建国"].id, member_id=None, org_id=people["李秀英"].org_id,
                               action="meeting_plan", subject="meeting:4", detail="党员大会", at=clock()))
    first = await sign_in(live, await member(SECRETARY_1).bound("张建国"))
    page = await first.get("/console/audit")
    assert "一支部的记录" in page and "二支部的记录" not in page and "调整积分" in page
    assert "安排会议（4 号会议）" in page  # a row about a meeting names it
    above = await sign_in(live, await member("13800000021").bound("彭光明"))  # the 党总支's secretary
    page = await above.get("/console/audit")
    assert "一支部的记录" in page and "二支部的记录" in page
    for console in (first, above):
        await console.close()


async def test_a_member_signed_in_cannot_open_a_secretarys_page(
        member: Callable[[str], Phone], live: TestClient, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    """A member's session (from `我的`, later) reaches no secretary page: made here straight in the database."""
    async with db.begin() as session:
        li = await session.scalar(select(Member).where(Member.name == "李秀英"))
        assert li is not None
        token = await auth.issue_link(session, member_id=li.id, now=clock())
    console = Console(live, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    await console.get(f"/console/login?t={token}&next=/console/audit")
    assert console.status == 403 and "仅书记和管理员可用" in console.text
    await console.close()


async def test_quitting_in_chat_voids_a_link_not_yet_opened_and_members_may_quit_too(
        member: Callable[[str], Phone], browsers: Callable[[], Console]) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    link = link_in(await secretary.send("后台"))
    reply = await secretary.send("退出后台") or ""
    assert "目前没有登录中的网页" in reply and "还没打开的登录链接已作废" in reply
    console = browsers()
    await console.get(link)
    assert console.status == 403 and "已退出" in console.text
    plain = await member(MEMBER).bound("李秀英")
    mine = link_in(await plain.send("我的"))
    assert "作废" in (await plain.send("退出后台") or "")
    await console.get(mine)
    assert console.status == 403


async def test_the_stored_reply_never_holds_a_usable_link(
        member: Callable[[str], Phone], db: SessionMaker) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    token = link_in(await secretary.send("后台")).split("t=")[1]
    async with db() as session:
        stored = [r for r in await session.scalars(select(InboundMessage.reply)) if r and "/console/login" in r]
    assert stored and all(token not in r and "login?t=…" in r for r in stored)


async def test_the_page_after_signing_out_shows_nobody_and_the_menu_marks_one_page(
        member: Callable[[str], Phone], live: TestClient) -> None:  # type: ignore[type-arg]
    console = await sign_in(live, await member(SECRETARY_1).bound("张建国"), landing="/console/meetings")
    assert console.text.count('aria-current="page"') == 1 and 'href="/console/meetings" class="here"' in console.text
    await console.post("/console/logout")
    assert "已退出后台" in console.text and "张建国" not in console.text and "/console/todo" not in console.text
    await console.close()


@pytest.mark.parametrize("path", [
    "/console/meetings?month=0001-01", "/console/oversight?month=0001-01", "/console/reports?period=0001",
    "/console/reports?period=0001Q1", "/console/reports/download?period=9999&format=xlsx",
    "/console/meetings?month=9999-12", "/console/nowhere",
])
async def test_a_year_nobody_means_or_an_unknown_page_is_a_clear_4xx(
        member: Callable[[str], Phone], live: TestClient, consoles: list[Console], path: str) -> None:  # type: ignore[type-arg]
    consoles.append(console := await sign_in(live, await member(SECRETARY_1).bound("张建国")))
    await console.get(path)
    assert console.status in (400, 404) and "<h1>" in console.text, (path, console.status)


async def test_a_quarter_nobody_means_is_refused_in_chat(member: Callable[[str], Phone]) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    reply = await secretary.send("报表 0001Q1") or ""
    assert "抱歉" not in reply and "0001Q1" in reply


@pytest.fixture
async def web_auth(make_client: AppMaker, wechat: FakeWeChat, roster: None) -> TestClient:  # type: ignore[type-arg]
    """The bot on a verified service account: the console signs in by WeChat's web authorisation (the fake's)."""
    return await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base, wechat_oauth_base=wechat.base,
                             wechat_web_auth=True)


async def through_wechat(client: TestClient, console: Console, wechat: FakeWeChat, openid: str | None,  # type: ignore[type-arg]
                         landing: str = "/console/audit") -> tuple[str, str]:
    """The menu's address opened in WeChat's browser by `openid`: our redirect to WeChat, WeChat's straight back
    to us with a code; the address WeChat sent the browser back to, and the page at last."""
    async with console.http.get(client.make_url("/console/wechat"), params={"next": landing},
                                allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        to_wechat = resp.headers["Location"]
    assert to_wechat.endswith("#wechat_redirect") and "scope=snsapi_base" in to_wechat
    wechat.browser = openid
    async with console.http.get(to_wechat.split("#")[0], allow_redirects=False) as resp:
        back = resp.headers.get("Location", "")
    path = back[back.index("/console/"):] if back else "/console/wechat/back"
    return back, await console.get(path)


async def test_a_verified_account_signs_in_from_the_menu_by_wechat_web_authorisation(
        web_auth: TestClient, sim: Simulator, clock: Clock, wechat: FakeWeChat,  # type: ignore[type-arg]
        consoles: list[Console]) -> None:
    secretary = await Phone(web_auth, sim, clock, SECRETARY_1, wechat).bound("张建国")
    consoles.append(console := Console(web_auth, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))))
    back, page = await through_wechat(web_auth, console, wechat, secretary.openid)
    assert "code=" in back and console.status == 200 and "审计记录" in page and "张建国" in page
    async with console.http.get(console.url(back[back.index("/console/"):]), allow_redirects=False) as resp:
        assert resp.status == 403  # the same code again (WeChat's codes are good once): refused
    consoles.append(other := Console(web_auth, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))))
    await other.get(back[back.index("/console/"):])  # someone else's browser given the return address
    assert other.status == 403


async def test_web_authorisation_refuses_an_unbound_openid_and_is_off_unless_switched_on(
        web_auth: TestClient, live: TestClient, wechat: FakeWeChat, browsers: Callable[[], Console],  # type: ignore[type-arg]
        consoles: list[Console]) -> None:
    consoles.append(console := Console(web_auth, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))))
    _, page = await through_wechat(web_auth, console, wechat, "o_nobody_bound_here")
    assert console.status == 403 and "请先绑定" in page
    off = browsers()  # `live`: the same account without wechat_web_auth
    await off.get("/console/wechat")
    assert off.status == 404 and "未开通微信授权登录" in off.text


@pytest.mark.parametrize(("path", "page"), [
    ("/console/stars/confirm", "/console/stars"), ("/console/stars/1/overrule", "/console/stars"),
    ("/console/members/import/apply", "/console/members"),
])
async def test_reloading_an_actions_address_goes_back_to_its_page(
        member: Callable[[str], Phone], live: TestClient, consoles: list[Console], path: str, page: str) -> None:  # type: ignore[type-arg]
    consoles.append(console := await sign_in(live, await member(SECRETARY_1).bound("张建国")))
    async with console.http.get(console.url(path), allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == page
