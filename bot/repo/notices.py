"""Secretaries' notice drafts, waiting for `确认`; the notices sent, and who has read and acknowledged each."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.repo import by_id, rowcount
from bot.repo.campaigns import ASKED, DELIVERED, OWES_RECEIPT, REASON, Tally, tallies
from bot.storage.models import Campaign, Delivery, Member, NoticeDraft, Organisation

KIND = "notice"  # campaigns.kind of a secretary's notice


async def save_draft(session: AsyncSession, *, member_id: int, org_id: int, body: str, needs_ack: bool,
                     expires_at: datetime) -> None:
    """Keep one draft per secretary: a new one replaces the previous."""
    await session.execute(delete(NoticeDraft).where(NoticeDraft.member_id == member_id))
    session.add(NoticeDraft(member_id=member_id, org_id=org_id, body=body, needs_ack=needs_ack, expires_at=expires_at))
    await session.flush()


def digest(*, org_id: int, needs_ack: bool, body: str) -> str:
    """What a draft sends, as a mark a preview carries to its `确认` or 发送: the SHA-256 (64 hex digits) of the
    addressee's id, whether it asks for 收到, and the text."""
    return hashlib.sha256(f"{org_id}\n{int(needs_ack)}\n{body}".encode()).hexdigest()


def digest_of(draft: NoticeDraft) -> str:
    return digest(org_id=draft.org_id, needs_ack=draft.needs_ack, body=draft.body)


async def draft_of(session: AsyncSession, *, member_id: int) -> NoticeDraft | None:
    """The secretary's draft, expired or not."""
    return await session.scalar(select(NoticeDraft).where(NoticeDraft.member_id == member_id))


async def drop_draft(session: AsyncSession, *, draft_id: int) -> bool:
    """Remove a draft; False when another request removed it first (so only one of two sends it)."""
    return rowcount(await session.execute(delete(NoticeDraft).where(NoticeDraft.id == draft_id))) == 1


async def audience_size(session: AsyncSession, *, org_ids: list[int]) -> int:
    return int(await session.scalar(select(func.count()).select_from(Member).where(Member.org_id.in_(org_ids)))
               or 0)


@dataclass(frozen=True, slots=True)
class Sent:
    """A notice sent: its campaign, addressee (id and full path), sender, until when WeChat's daily quota
    (45009, what pauses a campaign) paused it if it did, its delivery tally, and when it asks for 收到, how
    many of its audience are asked (all but the sender), have replied, and still owe the reply."""

    id: int
    title: str
    body: str
    org_id: int
    org: str
    sender: str | None
    needs_ack: bool
    at: datetime
    paused_until: datetime | None
    asked: int
    acked: int
    owed: int
    tally: Tally


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
               Campaign.needs_ack, Campaign.created_at, Campaign.paused_until)
    rows = await session.execute(
        select(*columns, _count(Delivery.id.is_not(None) & ASKED), _count(ASKED & Delivery.acked_at.is_not(None)),
               _count(Delivery.id.is_not(None) & OWES_RECEIPT))
        .join(Organisation, Organisation.id == Campaign.org_id).outerjoin(sender, sender.id == Campaign.created_by)
        .outerjoin(Delivery, Delivery.campaign_id == Campaign.id).where(Campaign.id.in_(campaign_ids))
        .group_by(*columns).order_by(Campaign.id.desc()))
    tally = await tallies(session, campaign_ids=campaign_ids)
    return [Sent(*cast(tuple[Any, ...], (*row, tally[row[0]]))) for row in rows]


@dataclass(frozen=True, slots=True)
class Receipt:
    """One member of a notice's audience: name, organisation (full path), delivery status, whether it reached
    them (DELIVERED), why not in the ledger's words (REASON, as `campaigns show` gives it), when they replied
    `收到`, whether they are asked to (the sender never is) and still owe the reply."""

    name: str
    org: str
    status: str
    delivered: bool
    reason: str | None
    acked_at: datetime | None
    asked: bool
    owes: bool


async def receipts(session: AsyncSession, *, campaign_id: int) -> list[Receipt]:
    """Everyone the notice went to, by organisation and name."""
    rows = await session.execute(
        select(Member.name, Organisation.path, Delivery.status, Delivery.status.in_(DELIVERED), REASON,
               Delivery.acked_at, ASKED, OWES_RECEIPT)
        .join(Member, Member.id == Delivery.member_id).join(Organisation, Organisation.id == Member.org_id)
        .join(Campaign, Campaign.id == Delivery.campaign_id).where(Delivery.campaign_id == campaign_id)
        .order_by(Organisation.path, Member.name, Member.id))
    return [Receipt(name, org, status, bool(delivered), reason, acked, bool(asked), bool(owes))
            for name, org, status, delivered, reason, acked, asked, owes in rows]
