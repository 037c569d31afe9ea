"""What every console page shares: who is signed in (the Viewer), the guard that finds them, the form-token
check, the subtree scope, and rendering a page from `content/console/`.

A page handler reads `viewer(request)`; the middleware has already refused a request without a live session
(401), a form without its token (403), and set the headers that keep pages out of frames and caches.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.console import auth
from bot.conversation.dispatch import SECRETARY_ROLES
from bot.keys import SERVICES
from bot.repo import orgs
from bot.services import Services

COOKIE = "palmbot_console"
PREFIX = "/console"
OPEN_PATHS = (f"{PREFIX}/login", f"{PREFIX}/wechat", f"{PREFIX}/static/")  # reachable without a session
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person: their roster entry, the organisations they answer for (their own and below, by
    id) and the form token of their session."""

    member_id: int
    name: str
    role: str
    org_id: int
    org_path: str
    governed: tuple[int, ...]
    csrf: str

    @property
    def secretary(self) -> bool:
        return self.role in SECRETARY_ROLES

    def may_see(self, org_id: int | None) -> bool:
        return org_id in self.governed


VIEWER = web.RequestKey("viewer", Viewer)
MIB = 1024 * 1024


class PayloadTooLarge(web.HTTPClientError):
    """413 with a page of ours (aiohttp's own HTTPRequestEntityTooLarge wants sizes for its English sentence)."""

    status_code = 413


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def viewer(request: web.Request) -> Viewer:
    """The Viewer the middleware found for this request."""
    return request[VIEWER]


def secretary(request: web.Request) -> Viewer:
    """The Viewer, who must be a secretary or administrator; else 403."""
    found = viewer(request)
    if not found.secretary:
        raise refusal(request, web.HTTPForbidden, "secretary_only")
    return found


def scoped(request: web.Request, org_id: int | None) -> Viewer:
    """The Viewer, who must answer for `org_id` (another branch's row is 403, whatever its name); else 403."""
    found = secretary(request)
    if not found.may_see(org_id):
        raise refusal(request, web.HTTPForbidden, "not_yours")
    return found


def page(request: web.Request, template: str, /, status: int = 200, **values: Any) -> web.Response:
    """`content/console/<template>` rendered for the request's viewer (if any) as an HTML response."""
    found: Viewer | None = request.get(VIEWER)
    body = services(request).content.console.get_template(template).render(viewer=found, current_path=request.path, **values)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def refusal(request: web.Request, kind: type[web.HTTPException], reason: str, **values: Any) -> web.HTTPException:
    """An HTTP error whose body is `error.html` saying why (`reason` names the sentence there)."""
    shown = page(request, "error.html", reason=reason, **values)
    return kind(text=shown.text, content_type="text/html")


async def form(request: web.Request) -> dict[str, str]:
    """A POSTed form's fields; the middleware has checked its token. Repeated fields: see `form_list`."""
    data = await request.post()
    return {key: str(value) for key, value in data.items() if isinstance(value, str)}


async def form_list(request: web.Request, name: str) -> list[str]:
    """Every value of a repeated field (the ticked rows of a list)."""
    return [str(v) for v in (await request.post()).getall(name, []) if isinstance(v, str)]


def number(text: str | None) -> int | None:
    """A positive row id from a URL or form, else None (a huge or signed number is no id)."""
    return int(text) if text and text.isdigit() and len(text) < 12 else None


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sessions, form tokens and headers for `/console`; other paths pass untouched."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        if not request.path.startswith(OPEN_PATHS):
            await _sign_in(request)
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status == 404 and exc.content_type != "text/html":  # no such console page: say so in Chinese
            exc = refusal(request, web.HTTPNotFound, "no_page")
        elif exc.status == 405 and request.method == "GET":  # an action's address reloaded: back to its page
            exc = web.HTTPSeeOther(section_of(request.path))
        _protect(request, exc)
        raise exc from None
    _protect(request, response)
    return response


def section_of(path: str) -> str:
    """`/console/stars/1/overrule` → `/console/stars`: the page an action's address belongs to."""
    parts = path.removeprefix(PREFIX).strip("/").split("/")
    return f"{PREFIX}/{parts[0]}" if parts[0] else f"{PREFIX}/"


def _protect(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(HEADERS)
    if not request.path.startswith(f"{PREFIX}/static/"):
        response.headers["Cache-Control"] = "no-store"


async def _sign_in(request: web.Request) -> None:
    """Find the session's viewer; refuse without one (401), a POST over the app's body limit (413, a page saying
    how much a file may be) or a POST without its form token (403)."""
    found = await _viewer(request)
    if found is None:
        raise refusal(request, web.HTTPUnauthorized, "signed_out")
    request[VIEWER] = found
    if request.method == "POST":
        try:
            given = (await request.post()).get("csrf")
        except web.HTTPRequestEntityTooLarge as exc:
            raise refusal(request, PayloadTooLarge, "too_large", mib=request.client_max_size / MIB) from exc
        if not isinstance(given, str) or not auth.same_token(given, found.csrf):
            raise refusal(request, web.HTTPForbidden, "csrf")


async def _viewer(request: web.Request) -> Viewer | None:
    """The viewer behind the request's cookie: a live session's member and the organisations they answer for."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    svc = services(request)
    async with svc.sessionmaker() as session:
        live = await auth.live_session(session, token=token, now=svc.clock())
        if live is None:
            return None
        row, member = live
        governed = await orgs.subtree(session, org_id=member.org_id)
        return Viewer(member.id, member.name, member.role, member.org_id,
                      await orgs.path_of(session, org_id=member.org_id), tuple(governed), row.csrf)


def secure_request(request: web.Request) -> bool:
    """Whether the browser reached us over HTTPS (directly, or through nginx saying so)."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
