"""The append-only points ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import PointEntry
from bot.repo import insert_once, run


async def add(
    session: AsyncSession, *, member_id: int, action: str, delta: int, reason: str, event_key: str, at: datetime
) -> bool:
    """Append an entry once per `event_key`; False when that event was already counted."""
    return await insert_once(
        session, PointEntry,
        member_id=member_id, action=action, delta=delta, reason=reason, event_key=event_key, occurred_at=at,
    )


class Entry(Protocol):
    """One ledger line as handlers read it."""

    occurred_at: datetime
    delta: int
    reason: str


_COLUMNS = (PointEntry.occurred_at, PointEntry.delta, PointEntry.reason)
_BETWEEN = (
    select(*_COLUMNS)
    .where(PointEntry.member_id == bindparam("member"), PointEntry.occurred_at >= bindparam("start"),
           PointEntry.occurred_at < bindparam("end"))
    .order_by(PointEntry.occurred_at, PointEntry.id)
)
_LATEST = (select(*_COLUMNS).where(PointEntry.member_id == bindparam("member"))
           .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc()).limit(bindparam("limit")))


async def between(session: AsyncSession, *, member_id: int, start: datetime, end: datetime) -> Sequence[Entry]:
    """A member's entries in [start, end), oldest first."""
    result = await run(session, _BETWEEN, {"member": member_id, "start": start, "end": end})
    return cast(Sequence[Entry], result.all())


async def latest(session: AsyncSession, *, member_id: int, limit: int) -> Sequence[Entry]:
    """A member's newest entries, newest first."""
    return cast(Sequence[Entry], (await run(session, _LATEST, {"member": member_id, "limit": limit})).all())
