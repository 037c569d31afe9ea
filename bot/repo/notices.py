"""Secretaries' notice drafts, waiting for `确认`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Campaign, Delivery, DeliveryStatus, Member, NoticeDraft


async def save_draft(session: AsyncSession, *, member_id: int, org_id: int, body: str, needs_ack: bool,
                     expires_at: datetime) -> int:
    """Keep one draft per secretary: a new one replaces the previous. The new draft's id."""
    await session.execute(delete(NoticeDraft).where(NoticeDraft.member_id == member_id))
    draft = NoticeDraft(member_id=member_id, org_id=org_id, body=body, needs_ack=needs_ack, expires_at=expires_at)
    session.add(draft)
    await session.flush()
    return draft.id


async def take_draft(session: AsyncSession, *, member_id: int, draft_id: int | None = None) -> NoticeDraft | None:
    """The secretary's draft (only if it is `draft_id`, when given), removed from the table (whether or not it
    has expired)."""
    query = select(NoticeDraft).where(NoticeDraft.member_id == member_id)
    if draft_id is not None:
        query = query.where(NoticeDraft.id == draft_id)
    draft = await session.scalar(query)
    if draft is not None:
        await session.delete(draft)
    return draft


async def audience_size(session: AsyncSession, *, org_ids: list[int]) -> int:
    return int(await session.scalar(select(func.count()).select_from(Member).where(Member.org_id.in_(org_ids)))
               or 0)


async def read_waiting_receipts(session: AsyncSession, *, member_id: int, now: datetime) -> list[str]:
    """The bodies of the member's notices that ask for a receipt and still wait to be read (outside the 48-hour
    window), oldest first; from now on they count as read, so `收到` acknowledges them."""
    rows = (await session.execute(
        select(Delivery.id, func.coalesce(Delivery.body, Campaign.body))
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.member_id == member_id, Campaign.needs_ack, Delivery.status == DeliveryStatus.WAITING)
        .order_by(Delivery.id))).all()
    if rows:
        await session.execute(update(Delivery).where(Delivery.id.in_([r[0] for r in rows]))
                              .values(status=DeliveryStatus.READ, sent_at=now, error=None))
    return [str(body) for _, body in rows]
