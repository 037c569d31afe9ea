"""From a parsed message to the handler's reply text, checking who may do what."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.context import Context
from bot.conversation.grammar import read
from bot.conversation.routing import Match, Need, NotUnderstood
from bot.repo import members
from bot.repo.members import Sender
from bot.services import Services
from bot.storage.models import Role

SECRETARY_ROLES = {Role.SECRETARY, Role.ADMIN}
READS_NOTICES = "通知"  # the command that shows waiting notices needs no reminder of them
MAY_READ = frozenset({"收到", "确认"})  # commands that may show some waiting notices (those asking for a receipt)


@dataclass(frozen=True, slots=True)
class Dispatched:
    """A message's reply (None: none) with what `/metrics` counts: the command that answered (its word, `event:NAME`
    for an event's handler, "none" when nothing matched) and the outcome: replied, silent (the handler had nothing
    to say), refused (not bound, or not a secretary), not_understood (the fallback answered) or ignored (an event
    nobody handles)."""

    reply: str | None
    command: str
    outcome: str


def spoken(msg: Any) -> str | None:
    """What a member said: a text's content or a voice message's recognised text ("" when empty); None for
    anything else. Both go through the same grammar (`bot.conversation.grammar`)."""
    if msg.type == "text":
        return str(msg.content or "")
    if msg.type == "voice" and msg.recognition:
        return str(msg.recognition)
    return None


def match(services: Services, msg: Any) -> Match | None:
    """The route for a message: text (or recognised speech) by the grammar, clicks by key, events by name."""
    router = services.router
    text = spoken(msg)
    if text is not None:
        return router.match_text(text)
    if msg.type == "event" and msg.event == "click":
        return router.match_click(msg.key)
    if msg.type == "event":
        return router.match_event(msg.event)
    return router.match_message(msg.type)


async def dispatch(services: Services, session: AsyncSession, msg: Any) -> Dispatched:
    """Run the matching handler: its reply, the command and the outcome."""
    member, unread = await members.sender(session, openid=msg.source)
    found = match(services, msg)
    if found is None and not _spoken_to(msg):
        return Dispatched(None, "none", "ignored")  # an event of a type wechatpy may not even know: `success`
    fallback = services.router.fallback
    command = _command(found, msg)
    if found is None:
        found = Match(fallback, (), read(spoken(msg) or ""))
    refusal = _refusal(found.route.need, member)
    if refusal:
        return Dispatched(services.content.render(refusal), command, "refused")
    ctx = Context(
        msg=msg, member=member, args=found.args, session=session, settings=services.settings,
        content=services.content, outbound=services.outbound, now=services.clock(), router=services.router,
        said=found.said, starts=found.starts, bare=found.bare,
    )
    try:
        reply = await found.route.handler(ctx)
    except NotUnderstood:
        ctx = replace(ctx, args=(), starts=(), bare=False)
        reply, command = await fallback.handler(ctx), "none"
    if reply and unread and found.route.word in MAY_READ:
        unread = (await members.sender(session, openid=msg.source))[1]
    if reply and unread and found.route.word != READS_NOTICES:
        reply = f"{reply}\n\n{services.content.render('unread_hint', count=unread)}"
    outcome = "not_understood" if command == "none" else "replied" if reply else "silent"
    return Dispatched(reply, command, outcome)


def _command(found: Match | None, msg: Any) -> str:
    """The command's name for `/metrics`: a few dozen values at most, never what a member typed."""
    if found is None:
        return "none"
    return found.route.word or (f"event:{msg.event}" if msg.type == "event" else msg.type)


def _spoken_to(msg: Any) -> bool:
    """Whether a person sent this (any message, even of a kind we do not handle), not an event."""
    kind = getattr(msg, "_data", {}).get("MsgType") if msg.type == "unknown" else msg.type
    return kind != "event"


def _refusal(need: Need, member: Sender | None) -> str | None:
    """The template explaining why the sender may not use a route, or None when they may."""
    if need >= Need.MEMBER and member is None:
        return "bind_needed"
    if need >= Need.SECRETARY and member is not None and member.role not in SECRETARY_ROLES:
        return "secretary_only"
    return None
