"""The append-only points ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import insert_once, run
from bot.storage.models import Member, PointEntry


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
_TOTAL = select(func.coalesce(func.sum(PointEntry.delta), 0)).where(
    PointEntry.member_id == bindparam("member"), PointEntry.occurred_at >= bindparam("start"),
    PointEntry.occurred_at < bindparam("end"))
_LATEST = (select(*_COLUMNS).where(PointEntry.member_id == bindparam("member"))
           .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc()).limit(bindparam("limit")))


async def between(session: AsyncSession, *, member_id: int, start: datetime, end: datetime) -> Sequence[Entry]:
    """A member's entries in [start, end), oldest first."""
    result = await run(session, _BETWEEN, {"member": member_id, "start": start, "end": end})
    return cast(Sequence[Entry], result.all())


async def total_between(session: AsyncSession, *, member_id: int, start: datetime, end: datetime) -> int:
    """The sum of a member's entries in [start, end), as the ledger keeps them (no cap applied)."""
    return int((await run(session, _TOTAL, {"member": member_id, "start": start, "end": end})).scalar() or 0)


async def latest(session: AsyncSession, *, member_id: int, limit: int) -> Sequence[Entry]:
    """A member's newest entries, newest first."""
    return cast(Sequence[Entry], (await run(session, _LATEST, {"member": member_id, "limit": limit})).all())


async def entries_of(session: AsyncSession, *, member_ids: Sequence[int], start: datetime,
                     end: datetime) -> Sequence[Any]:
    """(member id, occurred at, delta) of these members' entries in [start, end)."""
    return (await session.execute(
        select(PointEntry.member_id, PointEntry.occurred_at, PointEntry.delta)
        .where(PointEntry.member_id.in_(member_ids), PointEntry.occurred_at >= start, PointEntry.occurred_at < end)
    )).all()


async def month_board(session: AsyncSession, *, org_ids: Sequence[int], start: datetime,
                      end: datetime) -> list[tuple[str, int]]:
    """(name, points in [start, end)) of these organisations' members who did not opt out of the board."""
    rows = await session.execute(
        select(Member.name, func.sum(PointEntry.delta)).join(Member, Member.id == PointEntry.member_id)
        .where(Member.org_id.in_(org_ids), Member.hide_rank.is_(False), PointEntry.occurred_at >= start,
               PointEntry.occurred_at < end).group_by(Member.id, Member.name))
    return [(name, int(total)) for name, total in rows]
