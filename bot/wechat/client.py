"""Our asyncio WeChat API client: token handling, retries, rate limit, and WeChat's error codes.

What each failure leads to is the taxonomy's (bot/wechat/errors.py, from WeChat's rules in
../shared/research/wechat-anchors.md §1.3–1.5): a transient one (busy, network, timeout, HTTP 5xx,
an answer that is not JSON, at the token endpoint as at the others) is retried in the call with
growing, jittered backoff; a refused token is refetched once and the call retried once; 45009 raises
QuotaExceeded; anything else raises WeChatError carrying its rule, for the caller to act on.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from bot.config import Settings
from bot.pushes.outbound import Clock
from bot.storage.db import SessionMaker
from bot.wechat.errors import Action, Failure, QuotaExceeded, WeChatError
from bot.wechat.ratelimit import RateLimiter
from bot.wechat.tokens import DatabaseTokens, RedisTokens, Refreshed, TokenCache, TokenStore

TIMEOUT = 10.0  # seconds for one HTTP exchange with WeChat
MEDIA_BYTES = 10 * 1024 * 1024  # the largest media file we take (WeChat's photos are at most a few MB)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Media:
    """A media file WeChat answered: its MIME type (`image/jpeg`) and bytes."""

    content_type: str
    data: bytes


_RESERVED: ContextVar[bool] = ContextVar("palmbot_send_slot_reserved", default=False)


class WeChatClient:
    """JSON calls to the WeChat API with the shared access token."""

    def __init__(self, http: aiohttp.ClientSession, base: str, tokens: TokenStore, limiter: RateLimiter, *,
                 backoff: float = 0.5, timeout: float = TIMEOUT,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._http, self._base, self._tokens, self._limiter = http, base.rstrip("/"), tokens, limiter
        self._backoff, self._sleep = backoff, sleep
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

    async def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str = "",
                            client_msg_id: str = "") -> None:
        """A template message (verified service accounts), for notices when the window is closed.

        `client_msg_id` makes WeChat send one message per (openid, id) for 10 minutes, so a retry
        after a timeout cannot duplicate it (template message doc).
        """
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                   "data": {k: {"value": v} for k, v in data.items()}}
        if url:
            payload["url"] = url
        if client_msg_id:
            payload["client_msg_id"] = client_msg_id
        await self.call("/cgi-bin/message/template/send", payload)

    async def reserve(self) -> None:
        """Wait for a slot under the send rate now; the next rate-limited call of this task uses it instead of
        waiting. The delivery worker reserves before it marks a row `sending`, so a crash finds `sending` only
        the rows whose call was really under way, not those still waiting for their turn."""
        await self._limiter.acquire()
        _RESERVED.set(True)

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("/cgi-bin/menu/create", menu, limited=False)

    async def call(self, path: str, payload: dict[str, Any], *, limited: bool = True) -> dict[str, Any]:
        """POST `payload` to `path`; returns WeChat's answer or raises WeChatError (QuotaExceeded on 45009)."""

        async def post(token: str) -> dict[str, Any]:
            return _answered(await post_json(self._http, f"{self._base}{path}", payload, self._timeout,
                                             params={"access_token": token}))

        return await self._with_token(post, limited=limited)

    async def media(self, media_id: str) -> Media:
        """A temporary media file (a photo a member sent; WeChat keeps it three days), as bytes and content type.

        Raises WeChatError like `call`: 40007 when WeChat no longer knows the id (expired or invalid)."""

        async def get(token: str) -> Media:
            return await get_media(self._http, f"{self._base}/cgi-bin/media/get", self._timeout,
                                   params={"access_token": token, "media_id": media_id})

        return await self._with_token(get, limited=False)

    async def web_openid(self, code: str, *, appid: str, secret: str) -> str:
        """The openid behind a web-authorisation `code` (网页授权, scope snsapi_base: a member opening our page
        from the account's menu), exchanged once at `sns/oauth2/access_token`; WeChatError when WeChat refuses
        the code (40029: invalid or used, 40163: used already) or cannot be reached. Needs no access token."""
        answer = _answered(await request_json(
            self._http, "GET", f"{self._base}/sns/oauth2/access_token", self._timeout,
            params={"appid": appid, "secret": secret, "code": code, "grant_type": "authorization_code"}))
        if not answer.get("openid"):
            raise WeChatError(None, "sns/oauth2/access_token answered no openid")
        return str(answer["openid"])

    async def _with_token(self, exchange: Callable[[str], Awaitable[T]], *, limited: bool) -> T:
        """One exchange with the shared token: transient failures retried with backoff, a refused token
        refetched once, 45009 raised as QuotaExceeded, anything else raised as its WeChatError."""
        token: str | None = None
        stale: str | None = None  # a token WeChat refused, to replace before the next attempt
        attempt = 0
        while True:
            attempt += 1
            try:
                if token is None:
                    token = await (self._tokens.rejected(stale) if stale else self._tokens.get())
                if limited and not _RESERVED.get():
                    await self._limiter.acquire()
                _RESERVED.set(False)
                return await exchange(token)
            except WeChatError as exc:
                error = exc
            rule = error.rule
            if rule.action is Action.NEW_TOKEN and stale is None and token is not None:
                stale, token = token, None
                continue
            if rule.action is Action.QUOTA:
                raise QuotaExceeded(error.failure, error.message)
            if attempt >= rule.in_call:
                raise error
            await self._sleep(self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))


def _answered(answer: dict[str, Any]) -> dict[str, Any]:
    """WeChat's answer when it says ok (errcode 0 or none); its error otherwise."""
    code = int(answer.get("errcode") or 0)
    if code:
        raise WeChatError(code, str(answer.get("errmsg", "")))
    return answer


async def post_json(http: aiohttp.ClientSession, url: str, payload: dict[str, Any], timeout: aiohttp.ClientTimeout,
                    params: dict[str, str] | None = None) -> dict[str, Any]:
    """One POST to WeChat and its JSON answer; every way it can fail raises WeChatError with its `Failure`."""
    return await request_json(http, "POST", url, timeout, params=params, payload=payload)


async def request_json(http: aiohttp.ClientSession, method: str, url: str, timeout: aiohttp.ClientTimeout, *,
                       params: dict[str, str] | None = None, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """One request to WeChat (`payload` as its JSON body) and the JSON object it answers; every way it can fail
    (5xx, 4xx, a timeout, the network, HTML or another non-object) raises WeChatError with its `Failure`."""
    try:
        async with http.request(method, url, params=params, json=payload, timeout=timeout) as resp:
            if resp.status >= 500:
                raise WeChatError(Failure.HTTP_5XX, f"HTTP {resp.status} from {url}")
            if resp.status >= 400:
                raise WeChatError(None, f"HTTP {resp.status} from {url}")
            text = await resp.text()
    except TimeoutError as exc:
        raise WeChatError(Failure.TIMEOUT, f"no answer from {url} within {timeout.total} s") from exc
    except aiohttp.ClientError as exc:
        raise WeChatError(Failure.NETWORK, f"network error: {exc!r}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise WeChatError(Failure.NOT_JSON, f"not JSON from {url}: {text[:60]!r}") from exc
    if not isinstance(data, dict):
        raise WeChatError(Failure.NOT_JSON, f"not a JSON object from {url}: {text[:60]!r}")
    return data


async def get_media(http: aiohttp.ClientSession, url: str, timeout: aiohttp.ClientTimeout,
                    params: dict[str, str]) -> Media:
    """One GET of a media file. WeChat answers the file itself (`Content-Type: image/jpeg`), or a JSON error
    such as `{"errcode": 40007, "errmsg": "invalid media_id"}` with status 200; every failure raises
    WeChatError with its code or `Failure`, and a file over MEDIA_BYTES or of another kind than an image is
    refused (None code)."""
    try:
        async with http.get(url, params=params, timeout=timeout) as resp:
            if resp.status >= 500:
                raise WeChatError(Failure.HTTP_5XX, f"HTTP {resp.status} from {url}")
            if resp.status >= 400:
                raise WeChatError(None, f"HTTP {resp.status} from {url}")
            kind = resp.content_type
            body = await resp.content.read(MEDIA_BYTES + 1)
    except TimeoutError as exc:
        raise WeChatError(Failure.TIMEOUT, f"no answer from {url} within {timeout.total} s") from exc
    except aiohttp.ClientError as exc:
        raise WeChatError(Failure.NETWORK, f"network error: {exc!r}") from exc
    if kind.startswith("image/"):
        if len(body) > MEDIA_BYTES:
            raise WeChatError(None, f"media over {MEDIA_BYTES} bytes")
        return Media(kind, body)
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise WeChatError(Failure.NOT_JSON, f"neither an image nor JSON from {url}: {body[:60]!r}") from exc
    _answered(data if isinstance(data, dict) else {})
    raise WeChatError(None, f"not an image ({kind}) from {url}")


async def fetch_stable_token(http: aiohttp.ClientSession, base: str, appid: str, secret: str,
                             force: bool, timeout: float = TIMEOUT) -> tuple[str, int]:
    """WeChat's stable_token: the same token for every caller while valid (force only after a refusal).

    Raises WeChatError like any call, so a token endpoint that times out or answers an HTML page is
    one more transient failure of the call that needed the token.
    """
    payload = {"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force}
    data = await post_json(http, f"{base.rstrip('/')}/cgi-bin/stable_token", payload,
                           aiohttp.ClientTimeout(total=timeout))
    if "access_token" not in data:
        code = data.get("errcode")
        raise WeChatError(int(code) if isinstance(code, int) else None, f"stable_token: {data.get('errmsg', '')}")
    return str(data["access_token"]), int(data.get("expires_in", 7200))


def build_client(settings: Settings, sessionmaker: SessionMaker, clock: Clock, http: aiohttp.ClientSession,
                 redis: Any = None, on_refresh: Refreshed | None = None, **options: Any) -> WeChatClient:
    """The client for the configured account: the shared token (in Redis when given, `on_refresh` told of each
    fetch), the send rate."""

    async def fetch(force: bool) -> tuple[str, int]:
        return await fetch_stable_token(http, settings.wechat_api_base, settings.wechat_appid,
                                        settings.wechat_secret, force, options.get("timeout", TIMEOUT))

    cache: TokenCache = (RedisTokens(redis, settings.wechat_appid) if redis is not None
                         else DatabaseTokens(sessionmaker, settings.wechat_appid))
    return WeChatClient(http, settings.wechat_api_base, TokenStore(cache, fetch, clock, on_refresh),
                        RateLimiter(settings.send_rate), **options)
