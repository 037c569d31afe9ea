"""One inbound message handled once: durable dedup, the reply deadline, and errors turned into apologies."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from bot.db import transaction
from bot.dispatch import dispatch
from bot.replies import split_text
from bot.repo import inbound
from bot.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A reply and whether this delivery produced it (a retry only repeats the first one's)."""

    reply: str | None
    fresh: bool


KEY_LIMIT = 120  # inbound_messages.key


def dedup_key(msg: Any) -> str:
    """WeChat's dedup key: MsgId for messages; for events the sender, CreateTime, Event, EventKey and, where
    present, MsgID (template and mass-send results) or Ticket (QR scans).

    WeChat's retry of one event repeats all of these (wechat-anchors: "排重" by FromUserName + CreateTime for
    events), while two different clicks in the same second differ in EventKey. A key longer than the column
    is replaced by its SHA-256.
    """
    if msg.type != "event" and msg.id:
        return f"msg:{msg.id}"
    data = getattr(msg, "_data", {})
    parts = (msg.source, str(int(msg.create_time.timestamp())), data.get("Event", ""), data.get("EventKey", ""),
             data.get("MsgID") or data.get("MsgId") or data.get("Ticket") or "")
    key = "evt:" + ":".join(str(p or "") for p in parts)
    return key if len(key) <= KEY_LIMIT else "evt:" + hashlib.sha256(key.encode()).hexdigest()


async def answer(services: Services, msg: Any) -> str | None:
    """The text to reply passively now, or None to answer `success` and deliver later."""
    task: asyncio.Task[Outcome] = services.spawn(process(services, msg))
    try:
        async with asyncio.timeout(services.settings.reply_deadline):
            outcome = await asyncio.shield(task)
    except TimeoutError:
        task.add_done_callback(lambda done: _deliver_late(services, msg.source, done))
        return None
    if outcome.fresh and outcome.reply:
        _send_rest(services, msg.source, split_text(outcome.reply)[1:])
    return outcome.reply


async def process(services: Services, msg: Any) -> Outcome:
    """Claim the message's key and run its handler in the same transaction, or return the stored reply."""
    key = dedup_key(msg)
    try:
        async with transaction(services.sessionmaker) as session:
            if not await inbound.claim(session, key=key, openid=msg.source, now=services.clock()):
                return Outcome(await inbound.reply_of(session, key=key), fresh=False)
            reply = await dispatch(services, session, msg)
            await inbound.set_reply(session, key=key, reply=reply)
        return Outcome(reply, fresh=True)
    except Exception:
        log.exception("handler failed for %s", key)
        return await _apologise(services, msg, key)


async def _apologise(services: Services, msg: Any, key: str) -> Outcome:
    """Record the failed message with an apology, so WeChat's retries do not run it again.

    When even that fails (the database is down) the member still gets the apology, never a 500.
    """
    apology = services.content.render("error")
    try:
        async with services.sessionmaker.begin() as session:
            fresh = await inbound.claim(session, key=key, openid=msg.source, now=services.clock())
            if fresh:
                await inbound.set_reply(session, key=key, reply=apology)
    except Exception:
        log.exception("could not record the failure of %s", key)
        return Outcome(apology, fresh=False)
    return Outcome(apology, fresh=fresh)


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
            log.exception("could not deliver a message to %s", openid)
            return
