"""帮助: what the sender may do, by role, made from the commands' declarations (`bot.routing.Usage`)."""

from __future__ import annotations

from bot.context import Context
from bot.dispatch import SECRETARY_ROLES
from bot.repo.members import Sender
from bot.routing import Need, Route, Router, Usage

router = Router()


def role_need(member: Sender | None) -> Need:
    """What a sender may use: anyone's commands, a member's, or a secretary's (administrators too)."""
    if member is None:
        return Need.ANYONE
    return Need.SECRETARY if member.role in SECRETARY_ROLES else Need.MEMBER


def numbered_menu(router: Router) -> list[tuple[int, str]]:
    """The numbered menu (number, what it does), from the commands' declarations."""
    return [(r.menu, r.usages[0].says if r.usages else r.word) for r in router.menu()]


def usages(router: Router, need: Need) -> list[Usage]:
    """Every usage line whose own need is exactly `need`, in declaration order."""
    return [u for r in router.routes() for u in r.usages if (u.need if u.need is not None else r.need) == need]


def words(routes: list[Route], need: Need) -> list[str]:
    """The names of the commands with usage lines for `need` (for the short list under a secretary's help)."""
    return [r.word for r in routes if any((u.need if u.need is not None else r.need) == need for u in r.usages)]


@router.command("帮助", "help", "菜单", "功能", "说明", "怎么用", click="HELP", menu=8,
                usage=Usage("帮助", "按身份列出可以发送的内容"))
async def show_help(ctx: Context) -> str:
    """A follower learns to bind; a member gets every member command; a secretary or administrator gets
    theirs in full and the member commands by name (one message each)."""
    need = role_need(ctx.member)
    role = ctx.member.role if ctx.member else ""
    routes = list(ctx.router.routes())
    own = usages(ctx.router, need) if need != Need.MEMBER else [*usages(ctx.router, Need.ANYONE),
                                                                *usages(ctx.router, Need.MEMBER)]
    return ctx.render("help", bound=ctx.member is not None, name=ctx.member.name if ctx.member else "", role=role,
                      usages=[(u.form.split(" / "), u.says) for u in own],
                      also=words(routes, Need.MEMBER) if need > Need.MEMBER else [],
                      menu=numbered_menu(ctx.router))
