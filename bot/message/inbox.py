"""One inbound message handled once: durable dedup, the reply deadline, and errors turned into apologies."""

from __future__ import annotations

import asyncio
import logging
import time
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


async def answer(services: Services, msg: Any, key: str) -> str | None:
    """The text to reply passively now, or None to answer `success` and deliver later.

    `key` is the message's dedup key (`bot.message.wire.dedup_key`), which names its sender. The message runs in
    a task of its own, so neither the deadline nor a client gone away (aiohttp may cancel its handler) stops it;
    this waits for whichever comes first, the outcome or the deadline, on one future and one timer. An outcome
    that is ready only once the deadline has passed (the loop was held up, say by another process's lock on
    SQLite) is delivered later too: WeChat may have stopped waiting for this response.
    """
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    first: asyncio.Future[None] = loop.create_future()
    task: asyncio.Task[Outcome] = services.spawn(process(services, msg, key))
    task.add_done_callback(lambda done: _finished(services, done, time.perf_counter() - started, first))
    deadline = loop.time() + services.settings.reply_deadline
    timer = loop.call_at(deadline, _release, first)
    try:
        await first
    finally:
        timer.cancel()
    if not task.done() or loop.time() >= deadline:
        task.add_done_callback(lambda done: _deliver_late(services, msg.source, done))
        return None
    outcome = task.result()
    if outcome.fresh and outcome.reply:
        _send_rest(services, msg.source, split_text(outcome.reply)[1:])
    return outcome.reply


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


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


def _finished(services: Services, done: asyncio.Task[Outcome], seconds: float, waiter: asyncio.Future[None]) -> None:
    """Count a handled message and the seconds until its reply was ready (however long past the deadline), and
    wake its request if that still waits."""
    if not done.cancelled() and done.exception() is None:
        outcome = done.result()
        services.metrics.handled(outcome.command, outcome.result, seconds)
    _release(waiter)


def _deliver_late(services: Services, openid: str, done: asyncio.Task[Outcome]) -> None:
    """After the deadline passed: send the whole reply through the outbound channel."""
    if done.cancelled() or done.exception() is not None:
        return
    outcome = done.result()
    if outcome.fresh and outcome.reply:
        _send_rest(services, openid, split_text(outcome.reply))


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
