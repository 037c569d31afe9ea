"""A browser without a browser: signs a phone's owner in to the console through `后台` and keeps their cookie,
so tests read pages and submit forms (with the page's form token) as that person."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.test_utils import TestClient

from tests.phone import Phone

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Console:
    """One person's browser session against the test app; `text` is the last page read."""

    def __init__(self, client: TestClient, http: aiohttp.ClientSession) -> None:  # type: ignore[type-arg]
        self.client, self.http, self.text, self.status = client, http, "", 0

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def get(self, path: str, **params: Any) -> str:
        """GET a console path; the page's text (also kept in `text`, the status in `status`)."""
        async with self.http.get(self.url(path), params=params, allow_redirects=True) as resp:
            self.status, self.text = resp.status, await resp.text()
        return self.text

    @property
    def csrf(self) -> str:
        found = CSRF.search(self.text)
        assert found, "the last page has no form token"
        return found.group(1)

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]] | None = None, *,
                   token: str | None = None) -> str:
        """POST a form with the last page's form token (or `token`); follows the redirect after it."""
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        fields.append(("csrf", self.csrf if token is None else token))
        async with self.http.post(self.url(path), data=fields, allow_redirects=True) as resp:
            self.status, self.text = resp.status, await resp.text()
        return self.text

    async def close(self) -> None:
        await self.http.close()


def link_in(reply: str | None) -> str:
    """The console path and query of the link in a `后台` reply (the host is the configured public_url)."""
    found = re.search(r"https?://\S+", reply or "")
    assert found, reply
    parts = urlsplit(found.group(0))
    return f"{parts.path}?{parts.query}"


async def sign_in(client: TestClient, phone: Phone, landing: str = "/console/audit") -> Console:  # type: ignore[type-arg]
    """The phone's owner (bound already) sends `后台` and opens the link in a fresh browser, landing on
    `landing`."""
    console = Console(client, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    await console.get(link_in(await phone.send("后台")) + f"&next={landing}")
    assert console.status == 200, console.text
    return console
