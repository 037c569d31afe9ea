"""The roster and WeChat bindings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import READABLE, BindFailure, Delivery, Member, Organisation
from bot.repo import run


@dataclass(frozen=True, slots=True)
class Sender:
    """The roster entry behind a message, as plain values for handlers."""

    id: int
    name: str
    role: str
    org_id: int
    language: str


_UNREAD = (select(func.count()).where(Delivery.member_id == Member.id, Delivery.status.in_(READABLE))
           .correlate(Member).scalar_subquery())
_SENDER = select(Member.id, Member.name, Member.role, Member.org_id, Member.language, _UNREAD).where(
    Member.openid == bindparam("sender"))


async def sender(session: AsyncSession, *, openid: str) -> tuple[Sender | None, int]:
    """The sender's roster entry and how many notices wait for them, in one query (every message asks)."""
    row = (await run(session, _SENDER, {"sender": openid})).first()
    if row is None:
        return None, 0
    member_id, name, role, org_id, language, unread = tuple(row)
    return Sender(member_id, name, role, org_id, language), int(unread)


async def openid_of(session: AsyncSession, *, member_id: int) -> str | None:
    return await session.scalar(select(Member.openid).where(Member.id == member_id))


async def by_phone(session: AsyncSession, *, phone: str) -> Member | None:
    return await session.scalar(select(Member).where(Member.phone == phone))


async def matching(session: AsyncSession, *, name: str, phone_tail: str) -> Sequence[Member]:
    """Roster entries with this name whose phone number ends in `phone_tail`."""
    rows = await session.scalars(
        select(Member).where(Member.name == name, Member.phone.endswith(phone_tail, autoescape=True))
    )
    return rows.all()


async def bind(session: AsyncSession, *, member_id: int, openid: str) -> bool:
    """Link the openid unless the entry is already linked to another account; True when linked."""
    result = await session.execute(
        update(Member).where(Member.id == member_id, Member.openid.is_(None)).values(openid=openid)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def unbind(session: AsyncSession, *, openid: str) -> None:
    await session.execute(update(Member).where(Member.openid == openid).values(openid=None))


async def record_bind_failure(session: AsyncSession, *, openid: str, now: datetime) -> None:
    session.add(BindFailure(openid=openid, at=now))


async def bind_failures_since(session: AsyncSession, *, openid: str, since: datetime) -> list[datetime]:
    rows = await session.scalars(
        select(BindFailure.at).where(BindFailure.openid == openid, BindFailure.at >= since)
    )
    return list(rows)


async def roster(session: AsyncSession) -> Sequence[tuple[Member, str]]:
    """Every member with their organisation's name, by organisation then name."""
    rows = await session.execute(
        select(Member, Organisation.name).join(Organisation).order_by(Organisation.name, Member.name)
    )
    return [(member, org) for member, org in rows]


async def name_of(session: AsyncSession, *, member_id: int) -> str:
    return (await session.scalar(select(Member.name).where(Member.id == member_id))) or ""


async def named(session: AsyncSession, *, name: str, org_ids: Sequence[int]) -> Sequence[Member]:
    """Members of these organisations with this name (more than one means the name is ambiguous)."""
    return (await session.scalars(select(Member).where(Member.name == name, Member.org_id.in_(org_ids)))).all()


async def set_hide_rank(session: AsyncSession, *, member_id: int, hide: bool) -> None:
    await session.execute(update(Member).where(Member.id == member_id).values(hide_rank=hide))
