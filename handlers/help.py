"""帮助: what the sender may do, by role, made from the commands' declarations
(`bot.conversation.routing.Usage`)."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.dispatch import SECRETARY_ROLES
from bot.conversation.routing import Need, Route, Router, Usage
from bot.message.replies import TEXT_LIMIT
from bot.repo.members import Sender

router = Router(topic="成员")


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
    return [u for lines in topics(router, need).values() for u in lines]


def topics(router: Router, need: Need) -> dict[str, list[Usage]]:
    """The usage lines whose own need is exactly `need`, by their command's topic; topics and lines in
    declaration order."""
    found: dict[str, list[Usage]] = {}
    for route in router.routes():
        for usage in route.usages:
            if (usage.need if usage.need is not None else route.need) == need:
                found.setdefault(route.topic, []).append(usage)
    return found


def topic_of(router: Router, asked: str) -> str:
    """The topic `帮助 <asked>` means: a topic's name, or a command's word (`帮助 请假`: its topic); "" when neither."""
    routes = list(router.routes())
    if any(r.topic == asked for r in routes):
        return asked
    return next((r.topic for r in routes if r.word == asked), "")


def words(routes: list[Route], need: Need) -> list[str]:
    """The names of the commands with usage lines for `need` (for the short list under a secretary's help)."""
    return [r.word for r in routes if any((u.need if u.need is not None else r.need) == need for u in r.usages)]


@router.command("帮助", "help", "菜单", "功能", "说明", "怎么用", click="HELP", menu=8,
                usage=Usage("帮助 / 帮助 会议", "按身份列出可以发送的内容；命令多时按类别查看"))
async def show_help(ctx: Context) -> str:
    """A follower learns to bind; a member gets every member command; a secretary or administrator gets
    theirs and the member commands by name, all in one message when they fit WeChat's 2048 bytes, else the
    topics (`帮助 会议`), each of which lists its commands in full."""
    need = role_need(ctx.member)
    own: dict[str, list[Usage]] = {}
    for shown in (Need.ANYONE, Need.MEMBER) if need == Need.MEMBER else (need,):
        for topic, lines in topics(ctx.router, shown).items():
            own.setdefault(topic, []).extend(lines)
    asked = "".join(ctx.args)
    topic = topic_of(ctx.router, asked) if asked else ""
    if topic in own:
        return _render(ctx, need, own[topic])
    whole = _render(ctx, need, [u for lines in own.values() for u in lines])
    if ctx.member is None or (not asked and len(whole.encode()) <= TEXT_LIMIT):
        return whole
    return ctx.render("help_topics", name=ctx.member.name if ctx.member else "", role=_role(ctx), asked=asked,
                      topics=[(t, list(dict.fromkeys(u.form.split(" ")[0] for u in lines)))
                              for t, lines in own.items()],
                      also=_also(ctx, need), menu=numbered_menu(ctx.router))


def _render(ctx: Context, need: Need, lines: list[Usage]) -> str:
    return ctx.render("help", bound=ctx.member is not None, name=ctx.member.name if ctx.member else "",
                      role=_role(ctx), usages=[(u.form.split(" / "), u.says) for u in lines],
                      also=_also(ctx, need), menu=numbered_menu(ctx.router))


def _role(ctx: Context) -> str:
    return ctx.member.role if ctx.member else ""


def _also(ctx: Context, need: Need) -> list[str]:
    """A secretary's help names the member commands too (they are members as well)."""
    return words(list(ctx.router.routes()), Need.MEMBER) if need > Need.MEMBER else []
