"""Photos kept from WeChat's temporary media: which are due for fetching, who fetches each, what came back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import insert_once, rowcount
from bot.storage.models import KeptMedia, VolunteerClaim
from bot.storage.models import MediaStatus as M

_AGAIN = (M.RETRY, M.FETCHING)  # tried before, and may be tried again once `tried_at` is old enough


async def due(session: AsyncSession, *, since: datetime, tried_before: datetime, limit: int) -> list[str]:
    """Media ids of claims made since `since` whose photo is not kept: never tried, or last tried before
    `tried_before` and not given up; oldest claim first."""
    rows = await session.execute(
        select(VolunteerClaim.photo_media_id).outerjoin(KeptMedia, KeptMedia.media_id == VolunteerClaim.photo_media_id)
        .where(VolunteerClaim.photo_media_id.is_not(None), VolunteerClaim.created_at >= since,
               or_(KeptMedia.id.is_(None), KeptMedia.status.in_(_AGAIN) & (KeptMedia.tried_at < tried_before)))
        .order_by(VolunteerClaim.id).limit(limit))
    return list(dict.fromkeys(str(media_id) for media_id, in rows))


async def claim(session: AsyncSession, *, media_id: str, now: datetime, tried_before: datetime) -> bool:
    """Take the media for fetching now: a first try, or another after one that failed or was abandoned before
    `tried_before`; False when another process holds it or it is settled."""
    if await insert_once(session, KeptMedia, media_id=media_id, status=M.FETCHING, tries=1, tried_at=now):
        return True
    return rowcount(await session.execute(
        update(KeptMedia).where(KeptMedia.media_id == media_id, KeptMedia.status.in_(_AGAIN),
                                KeptMedia.tried_at < tried_before)
        .values(status=M.FETCHING, tries=KeptMedia.tries + 1, tried_at=now))) == 1


async def tries(session: AsyncSession, *, media_id: str) -> int:
    return int(await session.scalar(select(KeptMedia.tries).where(KeptMedia.media_id == media_id)) or 0)


async def keep(session: AsyncSession, *, media_id: str, content_type: str, data: bytes, now: datetime) -> None:
    await session.execute(update(KeptMedia).where(KeptMedia.media_id == media_id).values(
        status=M.KEPT, content_type=content_type, data=data, fetched_at=now, failure=None))


async def fail(session: AsyncSession, *, media_id: str, failure: str, final: bool) -> None:
    """Record a failed try: given up for good (`final`), or to be tried again later."""
    await session.execute(update(KeptMedia).where(KeptMedia.media_id == media_id).values(
        status=M.LOST if final else M.RETRY, failure=failure[:200]))


async def statuses(session: AsyncSession, *, media_ids: Sequence[str]) -> dict[str, str]:
    """Each known media id's status (the bytes are not read)."""
    rows = await session.execute(select(KeptMedia.media_id, KeptMedia.status).where(KeptMedia.media_id.in_(media_ids)))
    return {media_id: status for media_id, status in rows}


async def kept(session: AsyncSession, *, media_id: str) -> tuple[str, bytes] | None:
    """The kept file's content type and bytes, or None when it is not kept."""
    row = (await session.execute(select(KeptMedia.content_type, KeptMedia.data).where(
        KeptMedia.media_id == media_id, KeptMedia.status == M.KEPT))).first()
    return (str(row[0]), bytes(row[1])) if row and row[1] is not None else None
