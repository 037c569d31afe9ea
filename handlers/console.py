"""后台: a secretary or administrator asks for a one-time link to the web console."""

from __future__ import annotations

from bot.console import auth
from bot.conversation.context import Context
from bot.conversation.routing import Need, NotUnderstood, Router, Usage

router = Router(topic="成员")


@router.command("后台", "管理后台", "网页后台", need=Need.SECRETARY,
                usage=Usage("后台", "获取网页后台登录链接（10分钟内有效，只能用一次）"))
async def console_link(ctx: Context) -> str:
    """A link valid for ten minutes, once (`bot.console.auth`), to the console's address (`public_url`)."""
    url, minutes = await _link(ctx)
    return ctx.render("console_link", url=url, minutes=minutes)


@router.command("我的", "我的主页", "个人主页", need=Need.MEMBER,
                usage=Usage("我的", "获取个人页面链接：各月积分图、星级和学习记录（10分钟内有效，只能用一次）"))
async def my_page(ctx: Context) -> str:
    """Any bound member's one-time link (as `后台`'s) straight to their own page, `/console/me`. Words after `我的`
    that no command has (`我的排行` before it was one, `我的党费`) are not understood: a login link would be no answer."""
    if ctx.args:
        raise NotUnderstood
    url, minutes = await _link(ctx, landing="/console/me")
    return ctx.render("console_me_link", url=url, minutes=minutes)


async def _link(ctx: Context, *, landing: str = "") -> tuple[str, int]:
    """A new sign-in link for the sender (to `landing` after it, else their first page) and its minutes."""
    token = await auth.issue_link(ctx.session, member_id=ctx.bound.id, now=ctx.now)
    url = f"{ctx.settings.public_url}/console/login?t={token}" + (f"&next={landing}" if landing else "")
    return url, int(auth.LINK_VALID.total_seconds() // 60)


@router.command("退出后台", "退出登录", need=Need.MEMBER,
                usage=Usage("退出后台", "结束所有网页登录，作废未用的登录链接"))
async def console_logout(ctx: Context) -> str:
    """End every console session of the sender, on any phone or PC, and void links not yet opened (a lost
    phone, a shared computer, a link forwarded by mistake)."""
    sessions, links = await auth.end_all(ctx.session, member_id=ctx.bound.id, now=ctx.now)
    return ctx.render("console_ended", count=sessions, links=links)
