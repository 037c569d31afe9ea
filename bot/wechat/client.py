"""Our asyncio WeChat API client: token handling, retries, rate limit, and WeChat's error codes.

Policy, from WeChat's rules (../shared/research/wechat-anchors.md §1.3–1.5):
- 40001/40014/42001 (token refused): fetch a new token once and retry once, never in a loop;
- -1 (busy) and network errors or timeouts: retry with growing, jittered backoff, a few times;
- 45009 (daily quota): stop, raise QuotaExceeded; the caller pauses its campaign until tomorrow;
- anything else: raise WeChatError with WeChat's code and message.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.config import Settings
from bot.db import SessionMaker
from bot.outbound import Clock
from bot.wechat.ratelimit import RateLimiter
from bot.wechat.tokens import DatabaseTokens, RedisTokens, TokenCache, TokenStore

TOKEN_REFUSED = {40001, 40014, 42001}
BUSY = -1
QUOTA = 45009
WINDOW_CLOSED = {45015, 45047}  # outside the 48-hour window, or its message count used up
NOT_FOLLOWING = 43004


class WeChatError(Exception):
    """WeChat answered with an error code (or could not be reached: code None)."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"{code}: {message}" if code is not None else message)
        self.code = code


class QuotaExceeded(WeChatError):
    """45009: today's quota for this API is used up."""


class WeChatClient:
    """JSON calls to the WeChat API with the shared access token."""

    def __init__(self, http: aiohttp.ClientSession, base: str, tokens: TokenStore, limiter: RateLimiter, *,
                 attempts: int = 4, backoff: float = 0.5, timeout: float = 10.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._http, self._base, self._tokens, self._limiter = http, base.rstrip("/"), tokens, limiter
        self._attempts, self._backoff, self._sleep = attempts, backoff, sleep
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send_text(self, openid: str, text: str) -> None:
        """A customer-service text message (only inside the member's 48-hour window)."""
        await self.call("/cgi-bin/message/custom/send",
                        {"touser": openid, "msgtype": "text", "text": {"content": text}})

    async def send_news(self, openid: str, title: str, description: str, url: str, picurl: str = "") -> None:
        """A customer-service news message: one article card that opens `url`."""
        article = {"title": title, "description": description, "url": url, "picurl": picurl}
        await self.call("/cgi-bin/message/custom/send",
                        {"touser": openid, "msgtype": "news", "news": {"articles": [article]}})

    async def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str = "") -> None:
        """A template message (verified service accounts), for notices when the window is closed."""
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                   "data": {k: {"value": v} for k, v in data.items()}}
        if url:
            payload["url"] = url
        await self.call("/cgi-bin/message/template/send", payload)

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("/cgi-bin/menu/create", menu, limited=False)

    async def call(self, path: str, payload: dict[str, Any], *, limited: bool = True) -> dict[str, Any]:
        """POST `payload` to `path`; returns WeChat's answer or raises WeChatError."""
        token = await self._tokens.get()
        refetched = False
        attempt = 0
        while True:
            attempt += 1
            if limited:
                await self._limiter.acquire()
            code, answer = await self._attempt(path, payload, token)
            if code == 0:
                return answer
            if code in TOKEN_REFUSED and not refetched:
                token, refetched = await self._tokens.rejected(token), True
                continue
            message = str(answer.get("errmsg", ""))
            if code == QUOTA:
                raise QuotaExceeded(code, message)
            if code in (None, BUSY) and attempt < self._attempts:
                await self._sleep(self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
                continue
            raise WeChatError(code, message)

    async def _attempt(self, path: str, payload: dict[str, Any], token: str) -> tuple[int | None, dict[str, Any]]:
        """One POST: WeChat's error code (None when it could not be reached) and its answer."""
        try:
            answer = await self._post(path, payload, token)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, {"errmsg": f"network error: {exc!r}"}
        return int(answer.get("errcode", 0)), answer

    async def _post(self, path: str, payload: dict[str, Any], token: str) -> dict[str, Any]:
        async with self._http.post(f"{self._base}{path}", params={"access_token": token}, json=payload,
                                   timeout=self._timeout) as resp:
            resp.raise_for_status()
            data: dict[str, Any] = await resp.json(content_type=None)
            return data


async def fetch_stable_token(http: aiohttp.ClientSession, base: str, appid: str, secret: str,
                             force: bool) -> tuple[str, int]:
    """WeChat's stable_token: the same token for every caller while valid (force only after a refusal)."""
    payload = {"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force}
    async with http.post(f"{base.rstrip('/')}/cgi-bin/stable_token", json=payload,
                         timeout=aiohttp.ClientTimeout(total=10)) as resp:
        data = await resp.json(content_type=None)
    if "access_token" not in data:
        raise WeChatError(data.get("errcode"), f"stable_token: {data.get('errmsg', '')}")
    return str(data["access_token"]), int(data.get("expires_in", 7200))


def build_client(settings: Settings, sessionmaker: SessionMaker, clock: Clock, http: aiohttp.ClientSession,
                 redis: Any = None, **options: Any) -> WeChatClient:
    """The client for the configured account: the shared token (in Redis when given), the send rate."""

    async def fetch(force: bool) -> tuple[str, int]:
        return await fetch_stable_token(http, settings.wechat_api_base, settings.wechat_appid,
                                        settings.wechat_secret, force)

    cache: TokenCache = (RedisTokens(redis, settings.wechat_appid) if redis is not None
                         else DatabaseTokens(sessionmaker, settings.wechat_appid))
    return WeChatClient(http, settings.wechat_api_base, TokenStore(cache, fetch, clock),
                        RateLimiter(settings.send_rate), **options)
