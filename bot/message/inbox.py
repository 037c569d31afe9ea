"""One inbound message handled once: durable dedup, the reply deadline, and errors turned into apologies."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.console.auth import hide_link_tokens
from bot.conversation.dispatch import dispatch
from bot.message.replies import split_text
from bot.ops.logs import member_tag
from bot.repo import inbound
from bot.services import Services
from bot.storage.db import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A reply and whether this delivery produced it (a retry only repeats the first one's), with the command and
    the result `/metrics` counts: the dispatch's (`bot.conversation.dispatch.Dispatched`), duplicate (a retry)
    or error."""

    reply: str | None
    fresh: bool
    command: str
    result: str


async def answer(services: Services, msg: Any, key: str, past_deadline: Callable[[], object]) -> str | None:
    """The text to reply passively now, or None when `reply_deadline` passed first and the reply goes out later,
    whole, through the outbound channel.

    `key` is the message's dedup key (`bot.message.wire.dedup_key`), which names its sender. The message runs in
    the caller's task; when the deadline passes while it waits (for the database, the group's COMMIT, WeChat's
    API), `past_deadline` is called then, once, so the webhook answers `success` at once (WeChat's 5 seconds,
    wechat-anchors), and the message goes on. Measured: this replaced a task, a shield and a timeout a message,
    160,000 of a `积分`'s 2.2 million instructions (`make bench-instructions`).
    """
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    late = False

    def deadline() -> None:
        nonlocal late
        late = True
        past_deadline()

    timer = loop.call_at(loop.time() + services.settings.reply_deadline, deadline)
    try:
        outcome = await process(services, msg, key)
    finally:
        timer.cancel()
    services.metrics.handled(outcome.command, outcome.result, time.perf_counter() - started)
    pieces = split_text(outcome.reply) if outcome.fresh and outcome.reply else []
    _send_rest(services, msg.source, pieces if late else pieces[1:])
    return None if late else outcome.reply


async def process(services: Services, msg: Any, key: str) -> Outcome:
    """Claim the message's key and run its handler in the same transaction, or return the stored reply."""
    try:
        async with transaction(services.sessionmaker, grouped=True) as session:
            if not await inbound.claim(session, key=key, openid=msg.source, now=services.clock()):
                return Outcome(await inbound.reply_of(session, key=key), False, "none", "duplicate")
            dispatched = await dispatch(services, session, msg)
            await inbound.set_reply(session, key=key, reply=hide_link_tokens(dispatched.reply))
        return Outcome(dispatched.reply, True, dispatched.command, dispatched.outcome)
    except Exception:
        log.exception("handler failed for a %s from member %s", msg.type, member_tag(msg.source))
        return await _apologise(services, msg, key)


async def _apologise(services: Services, msg: Any, key: str) -> Outcome:
    """Record the failed message with an apology, so WeChat's retries do not run it again.

    When even that fails (the database is down, or locked by another process past its busy timeout) the member
    still gets the apology, never a 500: passively, or, once the deadline has passed and WeChat was answered
    `success` (so it sends no retry), as a customer-service message.
    """
    apology = services.content.render("error")
    try:
        async with transaction(services.sessionmaker, grouped=True) as session:
            fresh = await inbound.claim(session, key=key, openid=msg.source, now=services.clock())
            if fresh:
                await inbound.set_reply(session, key=key, reply=apology)
    except Exception:
        log.exception("could not record the failure of a %s from member %s", msg.type, member_tag(msg.source))
        return Outcome(apology, True, "none", "error")
    return Outcome(apology, fresh, "none", "error")


def _send_rest(services: Services, openid: str, pieces: list[str]) -> None:
    """Send pieces in order, in the background, after the passive reply has gone."""
    if pieces:
        services.spawn(_send_in_order(services, openid, pieces))


async def _send_in_order(services: Services, openid: str, pieces: list[str]) -> None:
    for piece in pieces:
        try:
            await services.outbound.send_text(openid, piece)
        except Exception:
            log.exception("could not deliver a message to member %s", member_tag(openid))
            return
