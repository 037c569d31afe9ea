"""Exemptions (`豁免`): who is excused on a given day."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import audit
from bot.storage.models import Exemption, Member


async def exempt_on(session: AsyncSession, *, member_ids: Collection[int], day: date) -> set[int]:
    """The members among `member_ids` with an exemption covering `day` (local date, both ends inclusive)."""
    if not member_ids:
        return set()
    rows = await session.scalars(select(Exemption.member_id).where(
        Exemption.member_id.in_(member_ids), Exemption.starts_on <= day, Exemption.ends_on >= day))
    return set(rows)


async def during(session: AsyncSession, *, first: date, last: date,
                 member_ids: Collection[int] | None = None) -> set[int]:
    """The members (of `member_ids`, or all) with an exemption covering any day from `first` to `last`."""
    stmt = select(Exemption.member_id).where(Exemption.starts_on <= last, Exemption.ends_on >= first)
    if member_ids is not None:
        stmt = stmt.where(Exemption.member_id.in_(member_ids))
    return set(await session.scalars(stmt))


async def of_member(session: AsyncSession, *, member_id: int, first: date, last: date) -> Sequence[Exemption]:
    """The member's exemptions covering any day from `first` to `last`, earliest first."""
    return (await session.scalars(select(Exemption).where(
        Exemption.member_id == member_id, Exemption.starts_on <= last, Exemption.ends_on >= first)
        .order_by(Exemption.starts_on, Exemption.id))).all()


async def not_over(session: AsyncSession, *, org_ids: Sequence[int], today: date) -> Sequence[tuple[Exemption, str]]:
    """Exemptions of these organisations' members that have not ended (current or to come), with the member's
    name, by start."""
    rows = await session.execute(select(Exemption, Member.name).join(Member, Member.id == Exemption.member_id)
                                 .where(Member.org_id.in_(org_ids), Exemption.ends_on >= today)
                                 .order_by(Exemption.starts_on, Member.name, Exemption.id))
    return [(exemption, name) for exemption, name in rows]


async def add(session: AsyncSession, *, member: Member, starts_on: date, ends_on: date, reason: str, by: int,
              now: datetime) -> None:
    """Record an exemption, in the audit trail."""
    session.add(Exemption(member_id=member.id, starts_on=starts_on, ends_on=ends_on, reason=reason, created_by=by,
                          created_at=now))
    await audit.record(session, actor_id=by, member_id=member.id, org_id=member.org_id, action="exempt",
                       subject=f"member:{member.id}", detail=f"{starts_on}–{ends_on}: {reason}", at=now)


async def end(session: AsyncSession, *, member: Member, today: date, by: int, now: datetime) -> int:
    """End the member's exemptions that have not ended: one under way ends yesterday, one still to come (or
    begun today) is dropped; each in the audit trail. How many there were."""
    found = (await session.scalars(select(Exemption).where(Exemption.member_id == member.id,
                                                           Exemption.ends_on >= today))).all()
    for exemption in found:
        was = f"{exemption.starts_on}–{exemption.ends_on}: {exemption.reason}"
        if exemption.starts_on < today:
            exemption.ends_on = today - timedelta(days=1)
        else:
            await session.delete(exemption)
        await audit.record(session, actor_id=by, member_id=member.id, org_id=member.org_id, action="exempt_end",
                           subject=f"member:{member.id}", detail=f"{was} → {today}", at=now)
    return len(found)
