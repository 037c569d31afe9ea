"""Browser fixtures: Debian's Chromium driven by Playwright (async API) against the app on a real port.

Chromium is the system's (`PALMBOT_CHROMIUM`, default /usr/bin/chromium), never one Playwright downloads.
Where it or the `playwright` package is missing, every test in this folder is skipped, saying what to install.

The browser is started for each test: Playwright's async objects belong to the event loop that made them,
and the app's fixtures (`live`, `db`) run on each test's own loop. Starting Playwright and Chromium costs
about half a second of a test.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp.test_utils import TestClient

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Route

HERE = Path(__file__).resolve().parent
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # without these Chromium's own calls home are refused by a closed network, and stall it
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# WeChat's in-app browser on Android, where the console opens from the chat.
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 14; V2309A Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/130.0.6723.103 Mobile Safari/537.36 XWEB/1300199 MMWEBSDK/20241202 "
    "MMWEBID/2622 MicroMessenger/8.0.56.2800(0x28003856) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
LOCAL = "http://127.0.0.1:"


@dataclass(frozen=True)
class Screen:
    """A device to open pages on: viewport in CSS pixels, device pixels per CSS pixel, touch and user agent."""

    name: str
    width: int
    height: int
    scale: float = 1
    mobile: bool = False
    user_agent: str | None = None


# A phone lays a page out as WeChat does: at 980 px unless the page has
# <meta name="viewport" content="width=device-width, initial-scale=1">.
PHONE = Screen("phone", 375, 812, scale=2, mobile=True, user_agent=WECHAT_UA)
DESKTOP = Screen("desktop", 1280, 800)


def chromium_path() -> Path:
    return Path(os.environ.get("PALMBOT_CHROMIUM", "/usr/bin/chromium"))


@functools.cache
def missing() -> str | None:
    """Why browser tests cannot run here (what to install), or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -e '.[dev]'"
    exe = chromium_path()
    if not os.access(exe, os.X_OK):
        return f"Chromium not found at {exe}: apt-get install chromium (or point PALMBOT_CHROMIUM at it)"
    return None


class Unavailable(pytest.File):
    """A test module of this folder where browser tests cannot run: skipped, never imported."""

    def collect(self) -> Iterable[pytest.Item]:
        raise pytest.skip.Exception(f"browser tests skipped: {missing()}", allow_module_level=True)


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """This folder's test modules, or in their place a skip where Chromium or Playwright is missing."""
    return Unavailable.from_parent(parent, path=module_path) if missing() else None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if (reason := missing()) and terminalreporter.stats.get("skipped"):
        terminalreporter.write_line(f"browser tests skipped: {reason}", yellow=True)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Chromium, headless, for this test."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
        yield chromium
        await chromium.close()


@dataclass
class Violations:
    """What the pages of one test did that a console page must never do."""

    outside: list[str] = field(default_factory=list)  # requests beyond 127.0.0.1 (a CDN, say): aborted
    errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors


PageMaker = Callable[[Screen], Awaitable["Page"]]


@pytest.fixture
def violations() -> Violations:
    """What this test's pages did wrong so far; `new_page` fails the test at its end unless it is empty."""
    return Violations()


@pytest.fixture
async def new_page(browser: Browser, violations: Violations) -> AsyncIterator[PageMaker]:
    """new_page(PHONE or DESKTOP): a page in a fresh context (its own cookies) on that screen.

    Requests beyond 127.0.0.1 are aborted, and they or an uncaught JavaScript error fail the test.
    """

    async def make(screen: Screen) -> Page:
        context = await browser.new_context(
            viewport={"width": screen.width, "height": screen.height}, device_scale_factor=screen.scale,
            is_mobile=screen.mobile, has_touch=screen.mobile, user_agent=screen.user_agent,
            locale="zh-CN", timezone_id="Asia/Shanghai",
        )
        await context.route(lambda url: not url.startswith(LOCAL), _refuse(violations.outside))
        page = await context.new_page()
        page.on("pageerror", lambda error: violations.errors.append(str(error)))
        return page

    yield make
    assert violations == Violations(), "a page reached beyond 127.0.0.1 (serve it from our own static files) or threw"


def _refuse(outside: list[str]) -> Callable[[Route], Awaitable[None]]:
    async def handler(route: Route) -> None:
        outside.append(route.request.url)
        await route.abort()

    return handler


@pytest.fixture
async def phone_page(new_page: PageMaker) -> Page:
    """A page at 375×812, device scale 2, touch, WeChat's Android user agent (MicroMessenger)."""
    return await new_page(PHONE)


@pytest.fixture
async def desktop_page(new_page: PageMaker) -> Page:
    """A page at 1280×800."""
    return await new_page(DESKTOP)


@pytest.fixture(params=[PHONE, DESKTOP], ids=lambda screen: screen.name)
def screen(request: pytest.FixtureRequest) -> Screen:
    """Each screen in turn: a test that takes it (or `page`) runs once on a phone and once on a desktop."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def page(new_page: PageMaker, screen: Screen) -> Page:
    """A page on `screen`."""
    return await new_page(screen)


@pytest.fixture
def live_url(live: TestClient) -> str:  # type: ignore[type-arg]
    """The `live` app (fake WeChat API, demo roster) at http://127.0.0.1:<port>, no trailing slash."""
    return str(live.make_url("")).rstrip("/")


Shot = Callable[["Page", str], Awaitable[Path]]


def screenshots_dir() -> Path:
    return Path(os.environ.get("PALMBOT_SCREENSHOTS", HERE / "screenshots"))


@pytest.fixture
def shot() -> Shot:
    """await shot(page, "todo-phone"): the whole page as <screenshots>/todo-phone.png; returns the path.

    The folder is tests/browser/screenshots/ (git-ignored), or $PALMBOT_SCREENSHOTS.
    """

    async def take(page: Page, name: str) -> Path:
        path = screenshots_dir() / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        await page.evaluate("Promise.all([...document.images].map(img => img.decode().catch(() => null)))")
        await page.screenshot(path=path, full_page=True)
        return path

    return take
