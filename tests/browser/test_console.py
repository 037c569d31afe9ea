"""The web console in Chromium, at phone width (WeChat's browser) and desktop width (issue 15): signing in by
the link from `后台`, the link refused on reuse and after expiry, and every page drawn and photographed."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp.test_utils import TestClient
from playwright.async_api import Page
from sqlalchemy import select

from bot.db import SessionMaker
from bot.models import AuditEntry, Member, PointEntry
from bot.wechat.fake import FakeWeChat
from scheduler import jobs
from scheduler.delivery_loop import deliver_due
from tests.browser.conftest import DESKTOP, PageMaker, Screen, Shot
from tests.conftest import Clock, services_of
from tests.console import link_in
from tests.phone import Phone

SECRETARY_1, SECRETARY_2, ABOVE = "13800000001", "13800000011", "13800000021"
PHOTO_PAGE = ("<div style='width:320px;height:200px;display:flex;align-items:center;justify-content:center;"
              "background:linear-gradient(135deg,#7cb342,#2e7d32);color:#fff;font:28px sans-serif'>{}</div>")


async def open_link(page: Page, live_url: str, phone: Phone, landing: str = "") -> str:
    """The phone's owner asks for a link in chat and opens it in the browser; the path of the link."""
    link = link_in(await phone.send("后台"))
    await page.goto(live_url + link + (f"&next={landing}" if landing else ""))
    return link


async def test_a_secretary_signs_in_by_the_link_from_the_chat(
        page: Page, screen: Screen, live_url: str, member: Callable[[str], Phone], shot: Shot) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    await open_link(page, live_url, secretary, "/console/audit")
    assert page.url == f"{live_url}/console/audit"  # the token has left the address bar
    assert await page.locator("header .who").inner_text() == "张建国 · 塘约村党总支/第一党支部"
    cookies = await page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [("palmbot_console", True, "Lax")]
    await shot(page, f"audit-{screen.name}")
    await page.get_by_role("button", name="退出").click()
    await page.wait_for_load_state()
    assert "已退出后台" in await page.inner_text("main")
    await page.goto(f"{live_url}/console/audit")
    assert "请先登录" in await page.inner_text("main")


async def test_a_link_is_refused_on_reuse_and_after_ten_minutes(
        page: Page, screen: Screen, live_url: str, member: Callable[[str], Phone], clock: Clock,
        shot: Shot) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    used = await open_link(page, live_url, secretary, "/console/audit")
    response = await page.goto(live_url + used)
    assert response is not None and response.status == 403
    assert "登录链接已失效" in await page.inner_text("main")
    await shot(page, f"link-refused-{screen.name}")
    late = link_in(await secretary.send("后台"))
    clock.advance(minutes=11)
    response = await page.goto(live_url + late)
    assert response is not None and response.status == 403


async def photo_of(new_page: PageMaker, words: str) -> bytes:
    """A PNG a member might send: drawn by the browser itself, so screenshots show a real picture."""
    painter = await new_page(DESKTOP)
    await painter.set_content(PHOTO_PAGE.format(words))
    return await painter.locator("div").screenshot()


async def claim_with_photo(phone: Phone, wechat: FakeWeChat, new_page: PageMaker, text: str) -> int:
    """The member records volunteer service in chat and sends a photo of it (kept by WeChat for three days)."""
    claim = await phone.volunteer(text)
    await phone.photo(f"http://example.invalid/{claim}.jpg")
    wechat.received_photo(list(wechat.media)[-1], await photo_of(new_page, text.split()[-1]), "image/png")
    return claim


async def test_a_secretary_approves_two_claims_at_once_and_each_member_is_told(
        page: Page, screen: Screen, live_url: str, live: TestClient, member: Callable[[str], Phone],  # type: ignore[type-arg]
        wechat: FakeWeChat, db: SessionMaker, new_page: PageMaker, shot: Shot) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    li, wang = await member("13800000002").bound("李秀英"), await member("13800000003").bound("王德明")
    first = await claim_with_photo(li, wechat, new_page, "2 社区环境整治")
    second = await claim_with_photo(wang, wechat, new_page, "3 义务巡逻")
    await jobs.keep_photos(services_of(live))  # the sweep keeps both photos before WeChat forgets them
    await open_link(page, live_url, secretary)
    assert page.url == f"{live_url}/console/todo"  # a secretary lands on the to-do page
    for claim in (first, second):
        await page.locator(f"#claim-{claim} input[type=checkbox]").check()
        assert await page.locator(f"#claim-{claim} img").evaluate("img => img.naturalWidth") > 100
    await shot(page, f"todo-{screen.name}")
    await page.locator("#approve").click()
    await page.wait_for_load_state()
    flash = await page.locator(".flash").inner_text()
    assert f"已确认志愿服务 {first} 号：李秀英 2 小时" in flash and f"已确认志愿服务 {second} 号：王德明 3 小时" in flash
    await deliver_due(services_of(live))
    assert any(f"你的志愿服务 {first} 号（2 小时，社区环境整治）已确认" in m for m in li.pushed())
    assert any(f"你的志愿服务 {second} 号（3 小时，义务巡逻）已确认" in m for m in wang.pushed())
    async with db() as session:
        zhang = await session.scalar(select(Member.id).where(Member.name == "张建国"))
        trail = (await session.execute(select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.subject))).all()
        assert sorted(trail) == [(zhang, "volunteer_approve", f"volunteer:{first}"),
                                 (zhang, "volunteer_approve", f"volunteer:{second}")]
        points = (await session.execute(select(PointEntry.event_key, PointEntry.delta))).all()
        assert sorted(points) == [(f"volunteer:{first}", 2), (f"volunteer:{second}", 3)]


async def test_a_branch_secretary_gets_403_on_another_branchs_claim(
        page: Page, screen: Screen, live_url: str, member: Callable[[str], Phone], wechat: FakeWeChat,
        new_page: PageMaker, shot: Shot) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    ma = await member("13800000012").bound("马丽娟")  # 第二党支部
    claim = await claim_with_photo(ma, wechat, new_page, "2 清理河道")
    await open_link(page, live_url, secretary)
    response = await page.goto(f"{live_url}/console/claims/{claim}")
    assert response is not None and response.status == 403
    assert "无权查看" in await page.inner_text("main") and "清理河道" not in await page.content()
    photo = await page.goto(f"{live_url}/console/media/{claim}")
    assert photo is not None and photo.status == 403
    await page.goto(f"{live_url}/console/claims/{claim}")
    await shot(page, f"forbidden-{screen.name}")
