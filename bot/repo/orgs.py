"""The organisation tree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Organisation, OrgKind, Role


def kind_of(name: str) -> OrgKind:
    """An organisation's level, read from the end of its name; a plain name is a branch."""
    return next((kind for kind in OrgKind if name.endswith(kind.value)), OrgKind.BRANCH)


async def ensure_path(session: AsyncSession, *, path: str) -> Organisation:
    """The organisation at `a/b/c`, creating any missing level under its parent."""
    parent: Organisation | None = None
    for name in (part.strip() for part in path.split("/") if part.strip()):
        org = await session.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            org = Organisation(name=name, kind=kind_of(name), parent_id=parent.id if parent else None)
            session.add(org)
            await session.flush()
        parent = org
    if parent is None:
        raise ValueError("empty organisation path")
    return parent


async def chain_up(session: AsyncSession, *, org_id: int) -> list[int]:
    """The organisation and its ancestors, nearest first."""
    chain: list[int] = []
    current: int | None = org_id
    while current is not None and current not in chain:
        chain.append(current)
        current = await session.scalar(select(Organisation.parent_id).where(Organisation.id == current))
    return chain


async def name_of(session: AsyncSession, *, org_id: int) -> str:
    return (await session.scalar(select(Organisation.name).where(Organisation.id == org_id))) or ""


async def subtree(session: AsyncSession, *, org_id: int) -> list[int]:
    """The organisation and every organisation under it (a notice's audience)."""
    found, frontier = [org_id], [org_id]
    while frontier:
        children = list(await session.scalars(select(Organisation.id).where(Organisation.parent_id.in_(frontier))))
        frontier = [c for c in children if c not in found]
        found.extend(frontier)
    return found


async def by_name(session: AsyncSession, *, name: str) -> Organisation | None:
    return await session.scalar(select(Organisation).where(Organisation.name == name))


async def governed(session: AsyncSession, *, org_id: int, role: str) -> list[int]:
    """The organisations a secretary answers for (their own and those under it); an administrator, all."""
    if role == Role.ADMIN:
        return list(await session.scalars(select(Organisation.id)))
    return await subtree(session, org_id=org_id)
