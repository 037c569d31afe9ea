"""Secretaries' notice drafts, waiting for `确认`; the notices sent, and who has read and acknowledged each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.models import Campaign, Delivery, DeliveryStatus, Member, NoticeDraft, Organisation
from bot.repo import by_id
from bot.repo.campaigns import OWES_RECEIPT

KIND = "notice"  # campaigns.kind of a secretary's notice
# A member has read the notice when its full text reached their chat (pushed, or read with `通知`) or they
# replied `收到`; a template's summary, a copy waiting, failed or still being sent is not read.
HAS_READ = Delivery.status.in_((DeliveryStatus.SENT, DeliveryStatus.READ)) | Delivery.acked_at.is_not(None)


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


@dataclass(frozen=True, slots=True)
class Sent:
    """A notice sent: its campaign, addressee (id and full path), sender, and how many of its audience have read it,
    acknowledged it, and still owe a receipt (when it asks for one)."""

    id: int
    title: str
    body: str
    org_id: int
    org: str
    sender: str | None
    needs_ack: bool
    at: datetime
    audience: int
    read: int
    acked: int
    owed: int


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


async def sent(session: AsyncSession, *, org_ids: Sequence[int], offset: int, limit: int) -> tuple[int, list[Sent]]:
    """The notices addressed to `org_ids`, newest first, `limit` of them after `offset`; with how many in all."""
    mine = (Campaign.kind == KIND) & Campaign.org_id.in_(org_ids)
    total = await session.scalar(select(func.count()).select_from(Campaign).where(mine))
    shown = select(Campaign.id).where(mine).order_by(Campaign.id.desc()).offset(offset).limit(limit)
    return int(total or 0), await _summaries(session, list(await session.scalars(shown)))


async def notice(session: AsyncSession, *, campaign_id: int) -> Sent | None:
    """One notice with its counts, whoever it was addressed to (the caller checks the viewer may see it)."""
    found = await by_id(session, Campaign, campaign_id)
    if found is None or found.kind != KIND:
        return None
    summary = await _summaries(session, [found.id])
    return summary[0] if summary else None


async def _summaries(session: AsyncSession, campaign_ids: list[int]) -> list[Sent]:
    """These notices with their counts, newest first."""
    sender = aliased(Member)
    columns = (Campaign.id, Campaign.title, Campaign.body, Campaign.org_id, Organisation.path, sender.name,
               Campaign.needs_ack, Campaign.created_at)
    rows = await session.execute(
        select(*columns, func.count(Delivery.id), _count(HAS_READ), _count(Delivery.acked_at.is_not(None)),
               _count(Delivery.id.is_not(None) & OWES_RECEIPT))
        .join(Organisation, Organisation.id == Campaign.org_id).outerjoin(sender, sender.id == Campaign.created_by)
        .outerjoin(Delivery, Delivery.campaign_id == Campaign.id).where(Campaign.id.in_(campaign_ids))
        .group_by(*columns).order_by(Campaign.id.desc()))
    return [Sent(*cast(tuple[Any, ...], row)) for row in rows]


@dataclass(frozen=True, slots=True)
class Receipt:
    """One member of a notice's audience: name, organisation (full path), delivery status, whether they have
    read it, when they replied `收到`, and whether they owe that reply (the sender never does)."""

    name: str
    org: str
    status: str
    read: bool
    acked_at: datetime | None
    owes: bool


async def receipts(session: AsyncSession, *, campaign_id: int) -> list[Receipt]:
    """Everyone the notice went to, by organisation and name."""
    rows = await session.execute(
        select(Member.name, Organisation.path, Delivery.status, HAS_READ, Delivery.acked_at, OWES_RECEIPT)
        .join(Member, Member.id == Delivery.member_id).join(Organisation, Organisation.id == Member.org_id)
        .join(Campaign, Campaign.id == Delivery.campaign_id).where(Delivery.campaign_id == campaign_id)
        .order_by(Organisation.path, Member.name, Member.id))
    return [Receipt(name, org, status, bool(read), acked, bool(owes)) for name, org, status, read, acked, owes in rows]
