"""The audit trail: who did what to whom, in which organisation, when and why; no command changes it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.storage.models import AuditEntry, Member, Organisation


async def record(session: AsyncSession, *, actor_id: int | None, member_id: int | None, org_id: int, action: str,
                 subject: str, detail: str, at: datetime) -> None:
    """One row; `org_id` is the organisation it concerns (the member's, or the reviewed organisation)."""
    session.add(AuditEntry(actor_id=actor_id, member_id=member_id, org_id=org_id, action=action, subject=subject,
                           detail=detail[:500], at=at))


Line = tuple[datetime, str | None, str | None, str | None, str, str, str]
"""at, organisation path, actor, member, action, subject, detail"""


def _lines() -> Select[datetime, str, str, str, str, str, str]:
    actor, member = aliased(Member), aliased(Member)
    return (select(AuditEntry.at, Organisation.path, actor.name, member.name, AuditEntry.action, AuditEntry.subject,
                   AuditEntry.detail)
            .outerjoin(Organisation, Organisation.id == AuditEntry.org_id)
            .outerjoin(actor, actor.id == AuditEntry.actor_id).outerjoin(member, member.id == AuditEntry.member_id))


async def entries(session: AsyncSession, *, org_ids: Sequence[int] | None = None) -> list[Line]:
    """Every row as a Line, oldest first; `org_ids` keeps the rows about those organisations."""
    stmt = _lines().order_by(AuditEntry.id)
    if org_ids is not None:
        stmt = stmt.where(AuditEntry.org_id.in_(org_ids))
    return cast(list[Line], list(await session.execute(stmt)))


async def latest(session: AsyncSession, *, org_ids: Sequence[int], offset: int, limit: int) -> tuple[int, list[Line]]:
    """The rows about `org_ids`, newest first, `limit` of them after `offset`; with how many there are in all."""
    total = await session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.org_id.in_(org_ids)))
    stmt = _lines().where(AuditEntry.org_id.in_(org_ids)).order_by(AuditEntry.id.desc())
    return int(total or 0), cast(list[Line], list(await session.execute(stmt.offset(offset).limit(limit))))
