"""Micro-wishes (微心愿): posted by secretaries, claimed and fulfilled by members, accepted by the secretary."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import by_id, rowcount
from bot.storage.models import Member, Wish, WishStatus

W = WishStatus


async def create(session: AsyncSession, *, org_id: int, content: str, resident_name: str, resident_phone: str,
                 by: int, now: datetime) -> int:
    wish = Wish(org_id=org_id, content=content, resident_name=resident_name, resident_phone=resident_phone,
                created_by=by, created_at=now)
    session.add(wish)
    await session.flush()
    return wish.id


async def get(session: AsyncSession, *, wish_id: int) -> Wish | None:
    return await by_id(session, Wish, wish_id)


async def listed(session: AsyncSession, *, org_ids: Sequence[int], statuses: Sequence[W]) -> Sequence[Wish]:
    return (await session.scalars(select(Wish).where(Wish.org_id.in_(org_ids), Wish.status.in_(statuses))
                                  .order_by(Wish.id))).all()


async def move(session: AsyncSession, *, wish_id: int, before: W, after: W, member_id: int | None = None,
               **values: object) -> bool:
    """Move a wish from `before` to `after` (only if `member_id`, when given, claimed it); False if it had moved."""
    stmt = update(Wish).where(Wish.id == wish_id, Wish.status == before).values(status=after, **values)
    if member_id is not None:
        stmt = stmt.where(Wish.claimed_by == member_id)
    return rowcount(await session.execute(stmt)) == 1


async def counters(session: AsyncSession, *, org_ids: Sequence[int]) -> tuple[int, int, int]:
    """(collected, claimed so far, fulfilled) wishes of these organisations together."""
    return total((await counters_by_org(session, org_ids=org_ids)).values())


async def counters_by_org(session: AsyncSession, *, org_ids: Sequence[int]) -> dict[int, tuple[int, int, int]]:
    """(collected, claimed so far, fulfilled) wishes of each of these organisations that has any."""
    taken = case((Wish.status != W.OPEN, 1), else_=0)
    fulfilled = case((Wish.status == W.FULFILLED, 1), else_=0)
    rows = await session.execute(select(Wish.org_id, func.count(), func.sum(taken), func.sum(fulfilled))
                                 .where(Wish.org_id.in_(org_ids)).group_by(Wish.org_id))
    return {org_id: (int(n), int(claimed), int(done)) for org_id, n, claimed, done in rows}


def total(counts: Iterable[tuple[int, int, int]]) -> tuple[int, int, int]:
    """Counters added up, column by column."""
    collected = claimed = fulfilled = 0
    for one in counts:
        collected, claimed, fulfilled = collected + one[0], claimed + one[1], fulfilled + one[2]
    return collected, claimed, fulfilled


async def in_hand(session: AsyncSession, *, org_ids: Sequence[int]) -> Sequence[tuple[Wish, str]]:
    """Wishes of these organisations a member has claimed (and maybe reported done), with that member's name,
    oldest first."""
    rows = await session.execute(select(Wish, Member.name).join(Member, Member.id == Wish.claimed_by).where(
        Wish.org_id.in_(org_ids), Wish.status.in_((W.CLAIMED, W.DONE))).order_by(Wish.id))
    return [(wish, name) for wish, name in rows]
