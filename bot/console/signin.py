"""Signing in by the one-time link from `后台`, landing on the first page, signing out."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from yarl import URL

from bot.console import auth
from bot.console.web import COOKIE, PREFIX, VIEWER, page, refusal, secure_request, services, viewer
from bot.repo import members
from bot.wechat.errors import WeChatError

routes = web.RouteTableDef()
STATE = "palmbot_web_auth"  # the cookie holding the `state` of a web authorisation under way
HOME = {True: f"{PREFIX}/todo", False: f"{PREFIX}/me"}  # a secretary's first page, a member's


@routes.get(f"{PREFIX}/login")
async def login(request: web.Request) -> web.StreamResponse:
    """`/console/login?t=TOKEN[&next=/console/…]`: redeem the link once, start a session, go on (303), so the
    token leaves the address bar at once. A used, expired or unknown link is 403 with how to get a new one."""
    svc = services(request)
    async with svc.sessionmaker.begin() as session:
        member_id = await auth.redeem_link(session, token=request.query.get("t", ""), now=svc.clock())
        if member_id is None:
            raise refusal(request, web.HTTPForbidden, "link_invalid")
        response = await _signed_in(request, session, member_id)
    raise response  # after the commit: raising inside the transaction would roll it back


@routes.get(f"{PREFIX}/wechat")
async def wechat_start(request: web.Request) -> web.StreamResponse:
    """`/console/wechat[?next=/console/…]`, for the account's menu (verified service accounts, `wechat_web_auth`):
    off to WeChat's web authorisation, scope snsapi_base, which comes straight back to `/console/wechat/back`
    with a code for the member's openid. A random `state`, kept in a cookie, ties the return to this browser.
    Source: WeChat's 网页授权 documentation (the parameters in this order, then `#wechat_redirect`)."""
    settings = services(request).settings
    if not _web_auth(request):
        raise refusal(request, web.HTTPNotFound, "no_web_auth")
    state = auth.new_token()
    wanted = request.query.get("next", "")
    back = URL(f"{settings.public_url}{PREFIX}/wechat/back").with_query({"next": wanted} if _inside(wanted) else {})
    target = URL(f"{settings.wechat_oauth_base}/connect/oauth2/authorize").with_query({
        "appid": settings.wechat_appid, "redirect_uri": str(back), "response_type": "code", "scope": "snsapi_base",
        "state": state})
    response = web.HTTPFound(f"{target}#wechat_redirect")
    response.set_cookie(STATE, state, path=PREFIX, httponly=True, samesite="Lax", secure=secure_request(request),
                        max_age=int(auth.LINK_VALID.total_seconds()))
    raise response


@routes.get(f"{PREFIX}/wechat/back")
async def wechat_back(request: web.Request) -> web.StreamResponse:
    """WeChat's return with `code` and `state`: the state must be this browser's, the code must give the openid of
    a bound member (exchanged once, by WeChat's rules); then a session as a link would start. Else 403."""
    svc = services(request)
    state = request.cookies.get(STATE, "")
    if not _web_auth(request) or not state or not auth.same_token(request.query.get("state", ""), state):
        raise refusal(request, web.HTTPForbidden, "link_invalid")
    assert svc.wechat is not None  # _web_auth
    try:
        openid = await svc.wechat.web_openid(request.query.get("code", ""), appid=svc.settings.wechat_appid,
                                             secret=svc.settings.wechat_secret)
    except WeChatError:
        raise refusal(request, web.HTTPForbidden, "link_invalid") from None
    async with svc.sessionmaker.begin() as session:
        found, _ = await members.sender(session, openid=openid)
        if found is None:
            raise refusal(request, web.HTTPForbidden, "not_bound")
        response = await _signed_in(request, session, found.id)
    response.del_cookie(STATE, path=PREFIX)
    raise response


def _web_auth(request: web.Request) -> bool:
    """Whether the console signs in by WeChat's web authorisation here (switched on, and an AppSecret to use)."""
    svc = services(request)
    return svc.settings.wechat_web_auth and svc.wechat is not None


async def _signed_in(request: web.Request, session: AsyncSession, member_id: int) -> web.HTTPSeeOther:
    """A new session for the member, its cookie, and the way on (`next` when it is a console page)."""
    opened = await auth.open_session(session, member_id=member_id, now=services(request).clock())
    wanted = request.query.get("next", "")
    response = web.HTTPSeeOther(wanted if _inside(wanted) else f"{PREFIX}/")
    response.set_cookie(COOKIE, opened.token, path=PREFIX, httponly=True, samesite="Lax",
                        secure=secure_request(request), max_age=int(auth.SESSION_VALID.total_seconds()))
    return response


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
