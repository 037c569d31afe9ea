"""Stars held, their history, and the quarter reviews (摘星授星) that change them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import by_id, insert_once, rowcount, run
from bot.storage.models import HeldStar, Member, StarChange, StarProposal, StarReview

CHUNK = 5_000


async def held(session: AsyncSession, *, member_ids: Iterable[int] | None = None) -> dict[int, set[str]]:
    """The stars each member holds now (all members, or these)."""
    stmt = select(HeldStar.member_id, HeldStar.star)
    if member_ids is not None:
        stmt = stmt.where(HeldStar.member_id.in_(list(member_ids)))
    found: defaultdict[int, set[str]] = defaultdict(set)
    for member_id, star in cast(Sequence[tuple[int, str]], (await run(session, stmt, {})).all()):
        found[member_id].add(star)
    return dict(found)


async def history(session: AsyncSession, *, member_id: int, limit: int) -> Sequence[StarChange]:
    return (await session.scalars(select(StarChange).where(StarChange.member_id == member_id)
                                  .order_by(StarChange.id.desc()).limit(limit))).all()


async def open_review(session: AsyncSession, *, org_id: int, quarter: str, now: datetime) -> int | None:
    """Start the organisation's review of the quarter; None when it already has one."""
    if not await insert_once(session, StarReview, org_id=org_id, quarter=quarter, created_at=now):
        return None
    return await session.scalar(select(StarReview.id).where(StarReview.org_id == org_id,
                                                            StarReview.quarter == quarter))


async def add_proposals(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert proposals in chunks (review_id, member_id, star, proposed, decision, evidence)."""
    table = cast(Table, StarProposal.__table__)
    for at in range(0, len(rows), CHUNK):
        await run(session, insert(table), cast(Any, list(rows[at:at + CHUNK])))


async def pending_reviews(session: AsyncSession, *, org_ids: Sequence[int]) -> Sequence[StarReview]:
    return (await session.scalars(select(StarReview).where(StarReview.org_id.in_(org_ids),
                                                           StarReview.confirmed_at.is_(None))
                                  .order_by(StarReview.id))).all()


async def proposals(session: AsyncSession, *, review_ids: Sequence[int]) -> Sequence[Any]:
    """(id, review_id, member_id, name, star, proposed, decision, evidence, reason) of these reviews, by member."""
    return (await session.execute(
        select(StarProposal.id, StarProposal.review_id, StarProposal.member_id, Member.name, StarProposal.star,
               StarProposal.proposed, StarProposal.decision, StarProposal.evidence, StarProposal.reason)
        .join(Member, Member.id == StarProposal.member_id).where(StarProposal.review_id.in_(review_ids))
        .order_by(Member.org_id, Member.name, StarProposal.member_id, StarProposal.id))).all()


async def proposal(session: AsyncSession, *, proposal_id: int) -> StarProposal | None:
    return await by_id(session, StarProposal, proposal_id)


async def decide(session: AsyncSession, *, review_id: int, member_id: int, star: str, hold: bool, held_now: bool,
                 reason: str, by: int) -> None:
    """Overrule what confirming will do for one member's star; a star the rules left alone gets a row here."""
    updated = await session.execute(
        update(StarProposal).where(StarProposal.review_id == review_id, StarProposal.member_id == member_id,
                                   StarProposal.star == star).values(decision=hold, reason=reason, changed_by=by))
    if rowcount(updated) == 0:
        session.add(StarProposal(review_id=review_id, member_id=member_id, star=star, proposed=held_now,
                                 decision=hold, evidence="", reason=reason, changed_by=by))


async def confirm(session: AsyncSession, *, review_id: int, by: int | None, now: datetime) -> bool:
    """Mark the review confirmed; False when someone confirmed it first."""
    result = await session.execute(update(StarReview).where(StarReview.id == review_id,
                                                            StarReview.confirmed_at.is_(None))
                                   .values(confirmed_at=now, confirmed_by=by))
    return rowcount(result) == 1


async def apply(session: AsyncSession, *, changes: Sequence[tuple[int, str, bool, str]], quarter: str,
                now: datetime) -> None:
    """Record (member, star, granted, reason) in the history and in the stars held."""
    if not changes:
        return
    session.add_all(StarChange(member_id=m, star=s, granted=g, quarter=quarter, reason=r[:200], at=now)
                    for m, s, g, r in changes)
    session.add_all(HeldStar(member_id=m, star=s, since=quarter) for m, s, g, _ in changes if g)
    for member_id, star, granted, _ in changes:
        if not granted:
            await session.execute(delete(HeldStar).where(HeldStar.member_id == member_id, HeldStar.star == star))


async def reviewed_orgs(session: AsyncSession, *, org_ids: Sequence[int]) -> set[int]:
    """Which of these organisations have had a review confirmed (before that, nobody holds a star)."""
    return set(await session.scalars(select(StarReview.org_id).where(StarReview.org_id.in_(org_ids),
                                                                      StarReview.confirmed_at.is_not(None))))
