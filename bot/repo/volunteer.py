"""Volunteer claims: recorded by members, decided once by a secretary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import by_id, rowcount
from bot.storage.models import ClaimStatus, Member, Organisation, VolunteerClaim

PENDING_LIST = 20  # `审核` shows this many pending claims, oldest first


async def create(session: AsyncSession, *, member_id: int, org_id: int, minutes: int, description: str,
                 now: datetime) -> int:
    claim = VolunteerClaim(member_id=member_id, org_id=org_id, minutes=minutes, description=description,
                           created_at=now)
    session.add(claim)
    await session.flush()
    return claim.id


async def pending_of(session: AsyncSession, *, member_id: int, minutes: int,
                     since: datetime) -> Sequence[tuple[int, str]]:
    """(number, description) of the member's claims of these minutes still pending, made after `since`, oldest
    first."""
    rows = await session.execute(select(VolunteerClaim.id, VolunteerClaim.description).where(
        VolunteerClaim.member_id == member_id, VolunteerClaim.created_at >= since,
        VolunteerClaim.status == ClaimStatus.PENDING, VolunteerClaim.minutes == minutes).order_by(VolunteerClaim.id))
    return [(claim_id, description) for claim_id, description in rows]


async def attach_photo(session: AsyncSession, *, member_id: int, since: datetime, media_id: str,
                       url: str) -> VolunteerClaim | None:
    """Attach a photo to the member's newest pending claim made after `since`; that claim as it was before
    (its `photo_media_id` says whether a photo was replaced), or None when there is none."""
    claim = await session.scalar(
        select(VolunteerClaim).where(VolunteerClaim.member_id == member_id, VolunteerClaim.created_at >= since,
                                     VolunteerClaim.status == ClaimStatus.PENDING)
        .order_by(VolunteerClaim.id.desc()).limit(1))
    if claim is not None:
        session.expunge(claim)
        await session.execute(update(VolunteerClaim).where(VolunteerClaim.id == claim.id)
                              .values(photo_media_id=media_id, photo_url=url))
    return claim


async def latest_pending_at(session: AsyncSession, *, member_id: int, since: datetime) -> datetime | None:
    """When the member last made a claim still pending, if after `since`."""
    return await session.scalar(select(func.max(VolunteerClaim.created_at)).where(
        VolunteerClaim.member_id == member_id, VolunteerClaim.created_at >= since,
        VolunteerClaim.status == ClaimStatus.PENDING))


async def get(session: AsyncSession, *, claim_id: int) -> VolunteerClaim | None:
    return await by_id(session, VolunteerClaim, claim_id)


async def of_member(session: AsyncSession, *, member_id: int, since: datetime) -> Sequence[VolunteerClaim]:
    """The member's claims made since `since`, newest first."""
    return (await session.scalars(select(VolunteerClaim).where(
        VolunteerClaim.member_id == member_id, VolunteerClaim.created_at >= since)
        .order_by(VolunteerClaim.id.desc()))).all()


async def confirmed_minutes(session: AsyncSession, *, member_id: int, start: datetime, end: datetime) -> int:
    return int(await session.scalar(select(func.coalesce(func.sum(VolunteerClaim.minutes), 0)).where(
        VolunteerClaim.member_id == member_id, VolunteerClaim.status == ClaimStatus.APPROVED,
        VolunteerClaim.decided_at >= start, VolunteerClaim.decided_at < end)) or 0)


async def pending(session: AsyncSession, *, org_ids: Sequence[int], offset: int = 0,
                  limit: int = PENDING_LIST) -> tuple[int, Sequence[Any]]:
    """How many claims wait in these organisations, and `limit` of them after `offset`, oldest first: rows of
    (id, name, minutes, description, photo_url, created_at, photo_media_id, org: the organisation's path)."""
    where = (VolunteerClaim.org_id.in_(org_ids), VolunteerClaim.status == ClaimStatus.PENDING)
    total = await session.scalar(select(func.count()).select_from(VolunteerClaim).where(*where))
    rows = await session.execute(
        select(VolunteerClaim.id, Member.name, VolunteerClaim.minutes, VolunteerClaim.description,
               VolunteerClaim.photo_url, VolunteerClaim.created_at, VolunteerClaim.photo_media_id,
               Organisation.path.label("org"))
        .join(Member, Member.id == VolunteerClaim.member_id).join(Organisation, Organisation.id == VolunteerClaim.org_id)
        .where(*where).order_by(VolunteerClaim.id).offset(offset).limit(limit))
    return int(total or 0), rows.all()


async def decide(session: AsyncSession, *, claim_id: int, status: ClaimStatus, by: int, at: datetime,
                 reason: str | None = None) -> bool:
    """Approve or reject a pending claim; False when it was already decided (a concurrent decision won)."""
    result = await session.execute(
        update(VolunteerClaim).where(VolunteerClaim.id == claim_id, VolunteerClaim.status == ClaimStatus.PENDING)
        .values(status=status, decided_by=by, decided_at=at, reason=reason))
    return rowcount(result) == 1


async def confirmed_in(session: AsyncSession, *, org_ids: Sequence[int], start: datetime,
                       end: datetime) -> list[tuple[int, int, datetime]]:
    """(member id, minutes, confirmed at) of every claim confirmed in these organisations in [start, end)."""
    return [(member_id, minutes, at) for member_id, minutes, at in await session.execute(
        select(VolunteerClaim.member_id, VolunteerClaim.minutes, VolunteerClaim.decided_at).where(
            VolunteerClaim.org_id.in_(org_ids), VolunteerClaim.status == ClaimStatus.APPROVED,
            VolunteerClaim.decided_at >= start, VolunteerClaim.decided_at < end)) if at is not None]
