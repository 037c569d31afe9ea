"""The web console in Chromium, at phone width (WeChat's browser) and desktop width (issue 15): signing in by
the link from `后台`, the link refused on reuse and after expiry, and every page drawn and photographed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp.test_utils import TestClient
from playwright.async_api import Page
from sqlalchemy import select

from bot.storage.db import SessionMaker
from bot.storage.models import AuditEntry, Member, PointEntry
from bot.wechat.fake import FakeWeChat
from scheduler import jobs
from scheduler.delivery_loop import deliver_due
from tests.browser.conftest import DESKTOP, PageMaker, Screen, Shot
from tests.conftest import Clock, services_of
from tests.console import link_in
from tests.phone import Phone
from tests.test_console_stars import open_reviews

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
    await page.locator(f"#claim-{first} input[type=checkbox]").check()
    await page.locator("#select-all").check()  # 全选本页 ticks the rest
    for claim in (first, second):
        assert await page.locator(f"#claim-{claim} input[type=checkbox]").is_checked()
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


async def test_a_secretary_composes_previews_and_sends_a_notice_and_watches_its_receipts(
        page: Page, screen: Screen, live_url: str, live: TestClient, member: Callable[[str], Phone],  # type: ignore[type-arg]
        clock: Clock, shot: Shot) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    li, ma = await member("13800000002").bound("李秀英"), await member("13800000012").bound("马丽娟")
    await open_link(page, live_url, secretary, "/console/notices")
    text = "12月20日下午两点在村委会召开党员大会，学习全会精神，请准时参加。"
    await page.locator("#notice-body").fill(text)
    await page.locator("#notice-ack").check()
    await page.locator("#preview-button").click()
    await page.wait_for_load_state()
    assert text in await page.locator("#push").inner_text()
    assert "塘约村党总支/第一党支部" in await page.locator("#audience").inner_text()
    assert "共 10 人" in await page.locator("#audience").inner_text()
    await shot(page, f"notice-preview-{screen.name}")
    await page.locator("#send-button").click()
    await page.wait_for_load_state()
    await deliver_due(services_of(live))
    assert any(text in m for m in li.pushed()) and not any(text in m for m in ma.pushed())  # 第一党支部 only
    clock.advance(minutes=5)
    await li.send("收到")
    await page.goto(f"{live_url}/console/notices")
    await page.locator("#sent a").first.click()
    await page.wait_for_load_state()
    counts = await page.locator("#counts").inner_text()
    assert "已回复「收到」1 人" in counts
    assert "李秀英" in await page.locator("main").inner_text()
    await shot(page, f"notice-{screen.name}")


async def test_the_report_page_draws_its_charts_from_our_own_files(
        page: Page, screen: Screen, live_url: str, member: Callable[[str], Phone], shot: Shot) -> None:
    secretary = await member(ABOVE).bound("彭光明")  # the 党总支: a chart per branch
    first, second = await member(SECRETARY_1).bound("张建国"), await member(SECRETARY_2).bound("孙卫东")
    for number, name, approver in (("13800000002", "李秀英", first), ("13800000012", "马丽娟", second)):
        claim = await (await member(number).bound(name)).volunteer("3 社区环境整治")
        await approver.send(f"通过 {claim}")
    scripts: list[tuple[str, str | None]] = []
    page.on("response", lambda r: scripts.append((r.url, r.headers.get("content-encoding")))
            if r.url.endswith(".js") else None)
    await open_link(page, live_url, secretary, "/console/reports")
    charts = page.locator(".chart")
    await page.locator(".chart[data-drawn=true]").first.wait_for()
    assert await charts.count() >= 3
    for index in range(await charts.count()):
        chart = charts.nth(index)
        assert await chart.get_attribute("data-drawn") == "true"
        assert await chart.locator("canvas").count() == 1
    assert (f"{live_url}/console/static/echarts.simple.min.js", "gzip") in scripts  # served compressed
    legend = await page.locator(".chart-legend").first.inner_text()
    assert "第一党支部" in legend and "第二党支部" in legend
    await shot(page, f"reports-{screen.name}")


async def test_the_first_page_a_secretary_opens_weighs_under_300_kb(
        page: Page, screen: Screen, live_url: str, member: Callable[[str], Phone]) -> None:
    secretary = await member(SECRETARY_1).bound("张建国")
    await open_link(page, live_url, secretary)
    await page.wait_for_load_state("networkidle")
    weight = await page.evaluate(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".reduce((sum, e) => sum + e.transferSize, 0)")
    assert 0 < weight < 300_000, weight


PAGES = ("notices", "meetings?month=2026-12", "stars", "members", "oversight", "audit", "me")  # the rest: above


async def test_every_page_opens_at_both_widths_and_is_photographed(
        page: Page, screen: Screen, live_url: str, member: Callable[[str], Phone], db: SessionMaker, clock: Clock,
        tmp_path: Path, shot: Shot) -> None:
    """Each page of a 党总支 secretary with something on it; its screenshot for README and for people to look at."""
    secretary = await member(ABOVE).bound("彭光明")
    zhang = await member(SECRETARY_1).bound("张建国")
    assert "已安排" in (await zhang.send("会议 党员大会 12月20日 14:30 村委会 学习全会精神") or "")
    await open_reviews(db, clock)
    li = await member("13800000002").bound("李秀英")
    await zhang.send(f"通过 {await li.volunteer('2 社区环境整治')}")
    await open_link(page, live_url, secretary, "/console/todo")
    for path in PAGES:
        response = await page.goto(f"{live_url}/console/{path}")
        assert response is not None and response.status == 200, path
        if await page.locator(".chart").count():
            await page.locator(".chart[data-drawn=true]").first.wait_for()
        await shot(page, f"{path.split('?')[0]}-{screen.name}")
    await page.goto(f"{live_url}/console/meetings?month=2026-12")
    await page.locator("main a[href^='/console/meetings/']").first.click()
    await page.wait_for_load_state()
    assert "学习全会精神" in await page.inner_text("main")
    await shot(page, f"meeting-{screen.name}")
    roster = tmp_path / "名册.csv"
    roster.write_text("姓名,手机号,支部,角色,入党日期\n新党员,13800000099,塘约村党总支/第一党支部,党员,2024-07-01\n"
                      "错号码,1380000,塘约村党总支/第一党支部,党员,2024-07-01\n", encoding="utf-8")
    await page.goto(f"{live_url}/console/members/import")
    await page.locator("#file").set_input_files(roster)
    await page.locator("#upload button").click()
    await page.wait_for_load_state()
    shown = await page.inner_text("main")
    assert "新党员" in shown and "第 3 行" in shown and "不是 11 位手机号" in shown
    await shot(page, f"members-import-{screen.name}")
