"""A fake WeChat API: the endpoints our client uses, with WeChat's rules, records and failures on demand.

It is a real component: `make run` sends through it (mounted at /fake-wechat) so `palmbot chat`
shows pushes as they arrive, and the tests and `make bench` drive it. It enforces what WeChat
enforces and we must honour: tokens expire and can be revoked, customer-service messages need the
member's 48-hour window, the daily quota runs out, template fields have their limits; and it can be
told to be busy or slow, to fail at any endpoint the ways the error taxonomy (bot/wechat/errors.py)
lists, or to refuse some members for good.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from yarl import URL

from bot.wechat.errors import Failure
from bot.wechat.templates import field_problem

WINDOW = timedelta(hours=48)
PER_INTERACTION = 5  # customer-service messages a member's one message allows
TOKEN_LIFETIME = 7200
MEDIA_KEPT = timedelta(days=3)  # how long WeChat keeps a temporary media file (a photo a member sent)
PHOTO = base64.b64decode(  # a 1×1 PNG, what the fake answers for a photo
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
BAD_GATEWAY = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message WeChat accepted for delivery."""

    id: int
    openid: str
    kind: str  # text | news | template
    content: str
    at: datetime


@dataclass
class FakeWeChat:
    """State and behaviour; `app()` serves it over HTTP."""

    appid: str
    secret: str
    clock: Callable[[], datetime]
    busy_rate: float = 0.0  # share of send calls answered -1
    slow_seconds: float = 0.0
    slow_rate: float = 1.0  # share of send calls that take `slow_seconds`
    stall_seconds: float = 15.0  # how long a Failure.TIMEOUT keeps the caller waiting (longer than its timeout)
    daily_quota: int | None = None  # sends accepted per day before 45009
    enforce_window: bool = True
    templates: set[str] = field(default_factory=set)
    seed: int = 0
    base: str = ""  # where it is served, once known
    sent: list[SentMessage] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    menu: dict[str, Any] | None = None
    refuse: dict[str, int] = field(default_factory=dict)  # openid -> the error code every send to them gets
    media: dict[str, tuple[str, bytes, datetime]] = field(default_factory=dict)  # id -> (type, bytes, received)
    browser: str | None = None  # the openid of whoever opens the web-authorisation page (None: nobody in WeChat)
    _web_codes: dict[str, str] = field(default_factory=dict)  # code -> openid, each exchanged once
    _interactions: dict[str, datetime] = field(default_factory=dict)
    _tokens: dict[str, datetime] = field(default_factory=dict)
    _fail_next: list[int | Failure] = field(default_factory=list)
    _fail_token_next: list[int | Failure] = field(default_factory=list)
    _per_day: Counter[date] = field(default_factory=Counter)
    _since_interaction: Counter[str] = field(default_factory=Counter)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    # -- what tests and the simulator tell it ------------------------------------------------
    def interaction(self, openid: str, at: datetime | None = None) -> None:
        """The member sent the account a message: their 48-hour window opens, with room for five messages."""
        self._interactions[openid] = at or self.clock()
        self._since_interaction[openid] = 0

    def revoke_tokens(self) -> None:
        """Every issued token becomes invalid (as when another client refreshed): next call gets 40001."""
        self._tokens.clear()

    def fail_next(self, *failures: int | Failure) -> None:
        """Answer the next send calls with these error codes or code-less failures, in order."""
        self._fail_next.extend(failures)

    def fail_token_next(self, *failures: int | Failure) -> None:
        """Answer the next stable_token calls with these error codes or code-less failures, in order."""
        self._fail_token_next.extend(failures)

    def received_photo(self, media_id: str, data: bytes = PHOTO, content_type: str = "image/png",
                       at: datetime | None = None) -> None:
        """A member sent the account a photo: `media/get` serves it under `media_id` for three days."""
        self.media[media_id] = (content_type, data, at or self.clock())

    def messages_to(self, openid: str) -> list[SentMessage]:
        return [m for m in self.sent if m.openid == openid]

    # -- HTTP -----------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)
        app.router.add_post("/cgi-bin/menu/create", self._menu_create)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_get("/connect/oauth2/authorize", self._authorize)
        app.router.add_get("/sns/oauth2/access_token", self._web_token)
        app.router.add_post("/_interaction", self._interaction)
        app.router.add_get("/_sent", self._sent)
        app.router.add_get("/_stats", self._stats)
        app.router.add_post("/_behave", self._behave)
        return app

    async def _stable_token(self, request: web.Request) -> web.Response:
        self.calls["stable_token"] += 1
        if self._fail_token_next:
            return await self._fail(request, self._fail_token_next.pop(0))
        body = await request.json()
        if body.get("appid") != self.appid or body.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        live = [t for t, exp in self._tokens.items() if exp > self.clock()]
        if live and not body.get("force_refresh"):
            token = live[0]
        else:
            token = f"fake-token-{next(self._ids)}"
            self._tokens[token] = self.clock() + timedelta(seconds=TOKEN_LIFETIME)
        remaining = int((self._tokens[token] - self.clock()).total_seconds())
        return web.json_response({"access_token": token, "expires_in": remaining})

    async def _custom_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        openid = str(body.get("touser", ""))
        refused = await self._refusal(request, "custom_send")
        if refused is None and openid in self.refuse:
            refused = _error(self.refuse[openid], "refused for this member")
        if refused is None and self.enforce_window and not self._window_open(openid):
            refused = _error(45015, "response out of time limit or subscription is canceled")
        if refused is None and self.enforce_window and self._since_interaction[openid] >= PER_INTERACTION:
            refused = _error(45047, "out of response count limit")
        if refused is not None:
            return refused
        self._since_interaction[openid] += 1
        kind = str(body.get("msgtype", "text"))
        content = body["text"]["content"] if kind == "text" else _news_text(body)
        self._record(openid, kind, content)
        return _error(0, "ok")

    async def _template_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        refused = await self._refusal(request, "template_send")
        if refused is not None:
            return refused
        if body.get("template_id") not in self.templates:
            return _error(40037, "invalid template_id")
        data = body.get("data", {})
        touser = str(body.get("touser", ""))
        if touser in self.refuse:
            return _error(self.refuse[touser], "refused for this member")
        problems = [p for key, v in data.items() if (p := field_problem(key, str(v.get("value", ""))))]
        if problems:
            return _error(47003, f"argument invalid! {problems[0]}")
        content = "\n".join(f"{k}: {v.get('value', '')}" for k, v in data.items())
        message = self._record(touser, "template", content)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": message.id})

    async def _menu_create(self, request: web.Request) -> web.Response:
        refused = await self._refusal(request, "menu_create", count_quota=False)
        if refused is not None:
            return refused
        self.menu = await request.json()
        return _error(0, "ok")

    async def _media_get(self, request: web.Request) -> web.Response:
        """The file itself, as WeChat answers it; 40007 in JSON for an id it does not know or no longer keeps."""
        refused = await self._refusal(request, "media_get", count_quota=False)
        if refused is not None:
            return refused
        media_id = request.query.get("media_id", "")
        found = self.media.get(media_id)
        if found is None or self.clock() - found[2] >= MEDIA_KEPT:
            return _error(40007, "invalid media_id")
        content_type, data, _ = found
        return web.Response(body=data, content_type=content_type,
                            headers={"Content-Disposition": f'attachment; filename="{media_id}.jpg"'})

    async def _authorize(self, request: web.Request) -> web.Response:
        """Web authorisation, scope snsapi_base: WeChat's browser goes straight back to `redirect_uri` with a code
        and the `state` it was given (silently: the person is in WeChat). Nobody in WeChat: a page saying so."""
        query = request.query
        if query.get("appid") != self.appid or query.get("scope") != "snsapi_base" or self.browser is None:
            return web.Response(status=400, text="请在微信客户端打开链接")
        code = f"code-{next(self._ids)}"
        self._web_codes[code] = self.browser
        back = URL(query.get("redirect_uri", "")).update_query(code=code, state=query.get("state", ""))
        raise web.HTTPFound(str(back))

    async def _web_token(self, request: web.Request) -> web.Response:
        """A code exchanged once for the openid (40029 for an unknown or used code, 40125 for a wrong secret)."""
        self.calls["web_token"] += 1
        query = request.query
        if query.get("appid") != self.appid or query.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        openid = self._web_codes.pop(query.get("code", ""), None)
        if openid is None:
            return _error(40029, "invalid code")
        return web.json_response({"access_token": f"web-{next(self._ids)}", "expires_in": 7200, "openid": openid,
                                  "scope": "snsapi_base", "refresh_token": f"refresh-{next(self._ids)}"})

    async def _interaction(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.interaction(str(body["openid"]))
        return _error(0, "ok")

    async def _sent(self, request: web.Request) -> web.Response:
        openid = request.query.get("openid", "")
        after = int(request.query.get("after", "0") or 0)
        return web.json_response([{"id": m.id, "kind": m.kind, "content": m.content}
                                  for m in self.messages_to(openid) if m.id > after])

    async def _behave(self, request: web.Request) -> web.Response:
        """Change how it behaves while it runs, for a person trying the sandbox as the tests do (a JSON object):
        `busy_rate`, `slow_seconds`, `slow_rate` (shares and seconds), `daily_quota` (a number, or null for
        none), `enforce_window` (true or false), `fail_next` (error codes such as 45009, or `network`, `timeout`,
        `http_5xx`, `not_json`), `refuse` ({openid: code}; code 0 refuses that member no more) and
        `revoke_tokens` (true). A 400 names what it cannot take, and nothing changes; otherwise the behaviour
        now, with the sends it accepted today (which `daily_quota` counts)."""
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.json_response({"error": 'not JSON; send an object such as {"busy_rate": 0.3}'}, status=400)
        try:
            changes = _behaviour(body)
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        for name, value in changes.items():
            if name == "fail_next":
                self.fail_next(*value)
            elif name == "refuse":  # code 0: that member is refused no more
                self.refuse = {openid: code for openid, code in (self.refuse | value).items() if code}
            elif name == "revoke_tokens":
                if value:
                    self.revoke_tokens()
            else:
                setattr(self, name, value)
        return web.json_response({name: getattr(self, name) for name in _SETTABLE} | {
            "fail_next": [str(f) for f in self._fail_next], "refuse": self.refuse, "sent_today": self._sent_today()})

    async def _stats(self, _request: web.Request) -> web.Response:
        """Totals for benchmarks: accepted messages, distinct recipients, calls per endpoint."""
        pairs = Counter((m.openid, m.content) for m in self.sent)
        return web.json_response({"sent": len(self.sent), "recipients": len({m.openid for m in self.sent}),
                                  "duplicates": sum(n - 1 for n in pairs.values()), "calls": dict(self.calls)})

    async def _refusal(self, request: web.Request, endpoint: str, *, count_quota: bool = True) -> web.Response | None:
        """The error WeChat would answer before looking at the message, or None."""
        self.calls[endpoint] += 1
        if self.slow_seconds and self._rng.random() < self.slow_rate:
            await asyncio.sleep(self.slow_seconds)
        if self._tokens.get(request.query.get("access_token", ""), self.clock()) <= self.clock():
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        if self._fail_next:
            return await self._fail(request, self._fail_next.pop(0))
        if self.busy_rate and self._rng.random() < self.busy_rate:
            return _error(-1, "system error")
        if count_quota and self.daily_quota is not None and self._sent_today() >= self.daily_quota:
            return _error(45009, "reach max api daily quota limit")
        return None

    async def _fail(self, request: web.Request, failure: int | Failure) -> web.Response:
        """Answer as WeChat, or what stands between us and it, does when it fails this way."""
        if failure == Failure.TIMEOUT:
            await asyncio.sleep(self.stall_seconds)
        elif failure == Failure.NETWORK and request.transport is not None:
            request.transport.close()
        elif failure == Failure.HTTP_5XX:
            return web.Response(status=502, text=BAD_GATEWAY, content_type="text/html")
        elif failure == Failure.NOT_JSON:
            return web.Response(text=BAD_GATEWAY, content_type="text/html")
        return _error(int(failure) if isinstance(failure, int) else -1, "injected failure")

    def _window_open(self, openid: str) -> bool:
        last = self._interactions.get(openid)
        return last is not None and self.clock() - last < WINDOW

    def _sent_today(self) -> int:
        return self._per_day[self.clock().date()]

    def _record(self, openid: str, kind: str, content: str) -> SentMessage:
        message = SentMessage(next(self._ids), openid, kind, content, self.clock())
        self.sent.append(message)
        self._per_day[message.at.date()] += 1
        return message


def _news_text(body: dict[str, Any]) -> str:
    article = body.get("news", {}).get("articles", [{}])[0]
    return f"{article.get('title', '')}\n{article.get('description', '')}\n{article.get('url', '')}"


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": message})


_SETTABLE = ("busy_rate", "slow_seconds", "slow_rate", "daily_quota", "enforce_window")


def _behaviour(body: Any) -> dict[str, Any]:
    """The changes `/_behave` was asked for, checked; ValueError (TypeError: not an object) naming the first it
    cannot take."""
    if not isinstance(body, dict):
        raise TypeError('expected a JSON object, such as {"busy_rate": 0.3}')
    checks: dict[str, Callable[[Any], Any]] = {
        "busy_rate": _share, "slow_rate": _share, "slow_seconds": _seconds, "daily_quota": _quota,
        "enforce_window": _bool, "revoke_tokens": _bool, "fail_next": _failures, "refuse": _refusals}
    changes = {}
    for name, value in body.items():
        if name not in checks:
            raise ValueError(f"unknown {name!r}; known: {', '.join(checks)}")
        try:
            changes[name] = checks[name](value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: not a value it takes: {value!r}") from None
    return changes


def _share(value: Any) -> float:
    return _number(value, 1)


def _seconds(value: Any) -> float:
    return _number(value, 60)


def _number(value: Any, most: float) -> float:
    """A JSON number from 0 to `most` (not a string of one, as `daily_quota` takes none either)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    if not 0 <= value <= most:
        raise ValueError
    return float(value)


def _quota(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


def _failure(value: Any) -> int | Failure:
    if isinstance(value, int) and not isinstance(value, bool) and value != 0:
        return value
    return Failure(value)  # ValueError for a name it does not know


def _failures(value: Any) -> list[int | Failure]:
    if not isinstance(value, list):
        raise TypeError
    return [_failure(item) for item in value]


def _refusals(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not all(isinstance(code, int) and not isinstance(code, bool)
                                              for code in value.values()):
        raise ValueError
    return {str(openid): int(code) for openid, code in value.items()}
