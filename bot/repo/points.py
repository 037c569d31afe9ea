"""The append-only points ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import PointEntry
from bot.repo import insert_once


async def add(
    session: AsyncSession, *, member_id: int, action: str, delta: int, reason: str, event_key: str, at: datetime
) -> bool:
    """Append an entry once per `event_key`; False when that event was already counted."""
    return await insert_once(
        session, PointEntry,
        member_id=member_id, action=action, delta=delta, reason=reason, event_key=event_key, occurred_at=at,
    )


_BETWEEN = (
    select(PointEntry)
    .where(PointEntry.member_id == bindparam("member"), PointEntry.occurred_at >= bindparam("start"),
           PointEntry.occurred_at < bindparam("end"))
    .order_by(PointEntry.occurred_at, PointEntry.id)
)


async def between(session: AsyncSession, *, member_id: int, start: datetime, end: datetime) -> Sequence[PointEntry]:
    """A member's entries in [start, end), oldest first."""
    rows = await session.scalars(_BETWEEN, {"member": member_id, "start": start, "end": end})
    return rows.all()


async def latest(session: AsyncSession, *, member_id: int, limit: int) -> Sequence[PointEntry]:
    rows = await session.scalars(
        select(PointEntry)
        .where(PointEntry.member_id == member_id)
        .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc())
        .limit(limit)
    )
    return rows.all()
