"""Durable dedup of inbound messages: claim a key once, remember the reply it got."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import insert_ignoring_conflicts, run
from bot.storage.models import InboundMessage

_table = cast(Table, InboundMessage.__table__)
_SET_REPLY = update(_table).where(_table.c.key == bindparam("message_key")).values(reply=bindparam("new_reply"))
_REPLY_OF = select(InboundMessage.reply).where(InboundMessage.key == bindparam("message_key"))


async def claim(session: AsyncSession, *, key: str, openid: str, now: datetime) -> bool:
    """True for the first delivery of `key`; a concurrent copy waits here until the first commits."""
    stmt = insert_ignoring_conflicts(_table, session.get_bind().dialect.name)
    result = await run(session, stmt, {"key": key, "openid": openid, "received_at": now})
    return result.first() is not None


async def reply_of(session: AsyncSession, *, key: str) -> str | None:
    return (await run(session, _REPLY_OF, {"message_key": key})).scalar()


async def set_reply(session: AsyncSession, *, key: str, reply: str | None) -> None:
    await run(session, _SET_REPLY, {"message_key": key, "new_reply": reply})


async def messaged_since(session: AsyncSession, *, openids: list[str], since: datetime) -> set[str]:
    """Which of these members sent a message (not an event) since `since`: their 48-hour window is open."""
    rows = await session.scalars(
        select(InboundMessage.openid).distinct()
        .where(InboundMessage.openid.in_(openids), InboundMessage.received_at >= since,
               InboundMessage.key.startswith("msg:"))
    )
    return set(rows)


async def purge_before(session: AsyncSession, *, cutoff: datetime) -> int:
    """Forget keys older than WeChat could ever retry; returns how many went."""
    result = await session.execute(delete(InboundMessage).where(InboundMessage.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
