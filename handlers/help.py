"""帮助: what the sender may do, by role."""

from __future__ import annotations

from bot.context import Context
from bot.dispatch import SECRETARY_ROLES
from bot.routing import Router

router = Router()


@router.command("帮助", "菜单", "?", click="HELP")
async def show_help(ctx: Context) -> str:
    """List the commands the sender can use: binding for followers, more for secretaries."""
    member = ctx.member
    return ctx.render(
        "help",
        bound=member is not None,
        name=member.name if member else "",
        secretary=member is not None and member.role in SECRETARY_ROLES,
    )
