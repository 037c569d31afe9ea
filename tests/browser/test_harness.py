"""The browser harness end to end: Chromium reaches the live app on its port at both widths, screenshots are
saved, and a page that reaches beyond 127.0.0.1 or throws is caught."""

from __future__ import annotations

import json

from playwright.async_api import Page

from tests.browser.conftest import Screen, Shot, Violations


async def test_chromium_reads_healthz_on_each_screen(page: Page, screen: Screen, live_url: str, shot: Shot) -> None:
    response = await page.goto(live_url + "/healthz")

    assert response is not None and response.status == 200
    assert json.loads(await page.inner_text("body")) == {"status": "ok"}
    width, scale, layout = await page.evaluate("[screen.width, devicePixelRatio, innerWidth]")
    assert (width, scale) == (screen.width, screen.scale)
    assert ("MicroMessenger" in await page.evaluate("navigator.userAgent")) == screen.mobile
    png = (await shot(page, f"healthz-{screen.name}")).read_bytes()
    assert png.startswith(b"\x89PNG")
    assert int.from_bytes(png[16:20], "big") == layout * scale  # IHDR width: the page in device pixels


async def test_a_request_beyond_127_0_0_1_and_an_uncaught_error_are_caught(
        desktop_page: Page, violations: Violations) -> None:
    outcome = await desktop_page.evaluate(
        "fetch('https://cdn.example.com/echarts.min.js').then(() => 'loaded', () => 'refused')")
    await desktop_page.evaluate("setTimeout(() => { throw new Error('chart init failed') })")
    await desktop_page.wait_for_timeout(100)

    assert outcome == "refused"
    assert violations.outside == ["https://cdn.example.com/echarts.min.js"]
    assert violations.errors == ["chart init failed"]
    violations.outside.clear()  # otherwise new_page fails this test at its end, as it should
    violations.errors.clear()
