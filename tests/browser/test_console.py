"""The web console in Chromium, at phone width (WeChat's browser) and desktop width (issue 15): signing in by
the link from `后台`, the link refused on reuse and after expiry, and every page drawn and photographed."""

from __future__ import annotations

from collections.abc import Callable

from playwright.async_api import Page

from tests.browser.conftest import Screen, Shot
from tests.conftest import Clock
from tests.console import link_in
from tests.phone import Phone

SECRETARY_1 = "13800000001"


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
