"""Exemptions (`豁免`): who is excused on a given day."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Exemption


async def exempt_on(session: AsyncSession, *, member_ids: Collection[int], day: date) -> set[int]:
    """The members among `member_ids` with an exemption covering `day` (local date, both ends inclusive)."""
    if not member_ids:
        return set()
    rows = await session.scalars(select(Exemption.member_id).where(
        Exemption.member_id.in_(member_ids), Exemption.starts_on <= day, Exemption.ends_on >= day))
    return set(rows)
