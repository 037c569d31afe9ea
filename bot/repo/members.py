"""The roster and WeChat bindings."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import audit, chunks, run
from bot.storage.models import (
    READABLE,
    BindFailure,
    ClaimStatus,
    Delivery,
    Member,
    Organisation,
    VolunteerClaim,
)


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


async def by_phones(session: AsyncSession, *, phones: Collection[str]) -> dict[str, Member]:
    """The members with these phone numbers, by phone (a few queries for a whole roster file)."""
    found: dict[str, Member] = {}
    for chunk in chunks(phones):
        found |= {m.phone: m for m in await session.scalars(select(Member).where(Member.phone.in_(chunk)))}
    return found


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


async def roster(session: AsyncSession, *, org_ids: Sequence[int] | None = None) -> Sequence[tuple[Member, str]]:
    """Members (of `org_ids`, or all) with their organisation's path, by path then name."""
    stmt = select(Member, Organisation.path).join(Organisation).order_by(Organisation.path, Member.name)
    if org_ids is not None:
        stmt = stmt.where(Member.org_id.in_(org_ids))
    return [(member, org) for member, org in await session.execute(stmt)]


async def search(session: AsyncSession, *, org_ids: Sequence[int], text: str, offset: int,
                 limit: int) -> tuple[int, list[tuple[Member, str]]]:
    """A page of the members of `org_ids` (by path, then name) whose name contains `text`, or whose phone ends
    with it when it is all digits (empty: everyone), with their organisation's path; and how many match in all."""
    stmt = select(Member, Organisation.path).join(Organisation).where(Member.org_id.in_(org_ids))
    if text.isdigit():
        stmt = stmt.where(Member.phone.endswith(text, autoescape=True))
    elif text:
        stmt = stmt.where(Member.name.contains(text, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = await session.execute(stmt.order_by(Organisation.path, Member.name, Member.id).offset(offset).limit(limit))
    return int(total or 0), [(member, org) for member, org in page]


async def move(session: AsyncSession, *, member: Member, org_id: int, actor_id: int | None, now: datetime) -> bool:
    """Put `member` in another organisation; False when already there.

    The ledger, stars, check-ins and decided claims stay the member's (they hang on the member's id); a
    claim still pending goes with the member to the new branch's secretary. The audit trail gets a row in
    the organisation left and one in the organisation joined.
    """
    old = member.org_id
    if old == org_id:
        return False
    member.org_id = org_id
    await session.execute(update(VolunteerClaim).where(VolunteerClaim.member_id == member.id,
                                                       VolunteerClaim.status == ClaimStatus.PENDING)
                          .values(org_id=org_id))
    paths = {id_: path for id_, path in await session.execute(
        select(Organisation.id, Organisation.path).where(Organisation.id.in_([old, org_id])))}
    for where, action, other in ((old, "member_leave", org_id), (org_id, "member_join", old)):
        await audit.record(session, actor_id=actor_id, member_id=member.id, org_id=where, action=action,
                           subject=f"member:{member.id}", detail=f"{paths[old]} → {paths[org_id]}", at=now)
    return True


async def set_role(session: AsyncSession, *, member: Member, role: str, actor_id: int | None, now: datetime) -> bool:
    """Give `member` another role (党员, 书记, 管理员), audited in their organisation as `old → new`; False when
    they have it already."""
    if member.role == role:
        return False
    await audit.record(session, actor_id=actor_id, member_id=member.id, org_id=member.org_id, action="role_change",
                       subject=f"member:{member.id}", detail=f"{member.role} → {role}", at=now)
    member.role = role
    return True


async def release(session: AsyncSession, *, member: Member, actor_id: int | None, now: datetime) -> bool:
    """Unlink the member's WeChat account (they may bind again); audited. False when it was not linked."""
    if member.openid is None:
        return False
    member.openid = None
    await audit.record(session, actor_id=actor_id, member_id=member.id, org_id=member.org_id, action="unbind",
                       subject=f"member:{member.id}", detail="解除微信绑定", at=now)
    return True


async def name_of(session: AsyncSession, *, member_id: int) -> str:
    return (await session.scalar(select(Member.name).where(Member.id == member_id))) or ""


async def names_of(session: AsyncSession, *, member_ids: Collection[int]) -> dict[int, str]:
    """Each member's name by id."""
    return {i: name for i, name in await session.execute(select(Member.id, Member.name).where(Member.id.in_(member_ids)))}


async def named(session: AsyncSession, *, name: str, org_ids: Sequence[int], tail: str = "") -> Sequence[Member]:
    """Members of these organisations with this name (more than one means the name is ambiguous), and whose phone
    ends in `tail` when given."""
    return (await session.scalars(select(Member).where(
        Member.name == name, Member.org_id.in_(org_ids), Member.phone.endswith(tail, autoescape=True)))).all()


async def set_hide_rank(session: AsyncSession, *, member_id: int, hide: bool) -> None:
    await session.execute(update(Member).where(Member.id == member_id).values(hide_rank=hide))


async def count(session: AsyncSession, *, org_ids: Sequence[int]) -> int:
    """How many members these organisations have."""
    return int(await session.scalar(select(func.count()).select_from(Member).where(Member.org_id.in_(org_ids))) or 0)


async def of_orgs(session: AsyncSession, *, org_ids: Sequence[int], roles: Collection[str]) -> Sequence[Member]:
    """Members of these organisations who have one of these roles, by id."""
    return (await session.scalars(select(Member).where(Member.org_id.in_(org_ids), Member.role.in_(list(roles)))
                                  .order_by(Member.id))).all()
