"""From a parsed message to the handler's reply text, checking who may do what."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context
from bot.models import Role
from bot.repo import members
from bot.repo.members import Sender
from bot.routing import Match, Need
from bot.services import Services

SECRETARY_ROLES = {Role.SECRETARY, Role.ADMIN}
READS_NOTICES = "通知"  # the command that shows waiting notices needs no reminder of them


def match(services: Services, msg: Any) -> Match | None:
    """The route for a message: text (or recognised speech) by command word, clicks by key, events by name."""
    router = services.router
    if msg.type == "text":
        return router.match_text(msg.content)
    if msg.type == "voice" and msg.recognition:
        return router.match_text(msg.recognition)
    if msg.type == "event" and msg.event == "click":
        return router.match_click(msg.key)
    if msg.type == "event":
        return router.match_event(msg.event)
    return router.match_message(msg.type)


async def dispatch(services: Services, session: AsyncSession, msg: Any) -> str | None:
    """Run the matching handler and return its reply; None means no reply (events nobody handles)."""
    member, unread = await members.sender(session, openid=msg.source)
    found = match(services, msg)
    if found is None:
        return None if msg.type == "event" else services.content.render("unknown")
    refusal = _refusal(found.route.need, member)
    if refusal:
        return services.content.render(refusal)
    ctx = Context(
        msg=msg, member=member, args=found.args, session=session, settings=services.settings,
        content=services.content, outbound=services.outbound, now=services.clock(), rest=found.rest,
    )
    reply = await found.route.handler(ctx)
    if reply and unread and found.route.word != READS_NOTICES:
        reply = f"{reply}\n\n{services.content.render('unread_hint', count=unread)}"
    return reply


def _refusal(need: Need, member: Sender | None) -> str | None:
    """The template explaining why the sender may not use a route, or None when they may."""
    if need >= Need.MEMBER and member is None:
        return "bind_needed"
    if need >= Need.SECRETARY and member is not None and member.role not in SECRETARY_ROLES:
        return "secretary_only"
    return None
