"""Signing in by the one-time link from `后台`, landing on the first page, signing out."""

from __future__ import annotations

from aiohttp import web

from bot.console import auth
from bot.console.web import COOKIE, PREFIX, VIEWER, page, refusal, secure_request, services, viewer

routes = web.RouteTableDef()
HOME = {True: f"{PREFIX}/todo", False: f"{PREFIX}/me"}  # a secretary's first page, a member's


@routes.get(f"{PREFIX}/login")
async def login(request: web.Request) -> web.StreamResponse:
    """`/console/login?t=TOKEN[&next=/console/…]`: redeem the link once, start a session, go on (303), so the
    token leaves the address bar at once. A used, expired or unknown link is 403 with how to get a new one."""
    svc = services(request)
    now = svc.clock()
    async with svc.sessionmaker.begin() as session:
        member_id = await auth.redeem_link(session, token=request.query.get("t", ""), now=now)
        if member_id is None:
            raise refusal(request, web.HTTPForbidden, "link_invalid")
        opened = await auth.open_session(session, member_id=member_id, now=now)
    wanted = request.query.get("next", "")
    response = web.HTTPSeeOther(wanted if _inside(wanted) else f"{PREFIX}/")
    response.set_cookie(COOKIE, opened.token, path=PREFIX, httponly=True, samesite="Lax",
                        secure=secure_request(request), max_age=int(auth.SESSION_VALID.total_seconds()))
    raise response


def _inside(path: str) -> bool:
    """Only a console path may follow sign-in (never another site: no open redirect)."""
    return path.startswith(f"{PREFIX}/") and not path.startswith(f"{PREFIX}//") and "\\" not in path


@routes.get(PREFIX)
@routes.get(f"{PREFIX}/")
async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(HOME[viewer(request).secretary])


@routes.post(f"{PREFIX}/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    """End this browser's session now; the cookie goes too."""
    svc = services(request)
    async with svc.sessionmaker.begin() as session:
        await auth.end_session(session, token=request.cookies.get(COOKIE, ""), now=svc.clock())
    request.pop(VIEWER)  # the page after signing out shows nobody's name, menu or button
    response = page(request, "signed_out.html")
    response.del_cookie(COOKIE, path=PREFIX)
    return response
