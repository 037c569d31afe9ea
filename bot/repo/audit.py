"""The audit trail: written by approvals, rejections, corrections and star decisions; no command changes it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.models import AuditEntry, Member


async def record(session: AsyncSession, *, actor_id: int | None, member_id: int | None, action: str, subject: str,
                 detail: str, at: datetime) -> None:
    session.add(AuditEntry(actor_id=actor_id, member_id=member_id, action=action, subject=subject,
                           detail=detail[:500], at=at))


Line = tuple[datetime, str | None, str | None, str, str, str]  # at, actor, member, action, subject, detail


async def entries(session: AsyncSession, *, org_ids: Sequence[int] | None = None) -> list[Line]:
    """(at, actor, member, action, subject, detail), oldest first; `org_ids` keeps entries about their members."""
    actor, member = aliased(Member), aliased(Member)
    stmt = (select(AuditEntry.at, actor.name, member.name, AuditEntry.action, AuditEntry.subject, AuditEntry.detail)
            .outerjoin(actor, actor.id == AuditEntry.actor_id).outerjoin(member, member.id == AuditEntry.member_id)
            .order_by(AuditEntry.id))
    if org_ids is not None:
        stmt = stmt.where(member.org_id.in_(org_ids))
    return cast(list[Line], list(await session.execute(stmt)))
