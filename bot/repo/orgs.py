"""The organisation tree: organisations are places, found by path, and every view is a subtree of ids.

Many villages have a `第一党支部`, so a name alone is not an address. A path (`塘约村党总支/第一党支部`) names
the organisations whose full path ends with it; the full path names exactly one. Callers scope by the ids
`subtree` returns, never by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import chunks, run
from bot.storage.models import Organisation, OrgKind

SEPARATOR = "/"


class OrgLookupError(Exception):
    """An organisation named by a path that matches none, or several (`candidates`, their full paths)."""

    def __init__(self, path: str, candidates: Sequence[str] = ()) -> None:
        self.path, self.candidates = path, list(candidates)
        found = f"could mean {', '.join(self.candidates)}; write the full path" if candidates else "not found"
        super().__init__(f"organisation {path!r} {found}")


def kind_of(name: str) -> OrgKind:
    """An organisation's level, read from the end of its name; a plain name is a branch."""
    return next((kind for kind in OrgKind if name.endswith(kind.value)), OrgKind.BRANCH)


def normal_path(path: str) -> str:
    """`甲村党总支 ／ 第一党支部\\` → `甲村党总支/第一党支部`: full-width slashes and backslashes separate too, the
    parts are stripped and empty ones dropped."""
    parts = path.replace("／", SEPARATOR).replace("\\", SEPARATOR).split(SEPARATOR)
    return SEPARATOR.join(part.strip() for part in parts if part.strip())


async def matching(session: AsyncSession, *, path: str, within: Sequence[int] | None = None) -> list[Organisation]:
    """The organisations `path` names, by full path: an exact full path alone, else every one ending with it.

    `within` keeps only those ids (a secretary's subtree). An empty path names nothing.
    """
    wanted = normal_path(path)
    if not wanted:
        return []
    stmt = select(Organisation).where(or_(Organisation.path == wanted,
                                          Organisation.path.endswith(SEPARATOR + wanted, autoescape=True)))
    if within is not None:
        stmt = stmt.where(Organisation.id.in_(within))
    found = {org.id: org for org in await session.scalars(stmt)}
    return [found[id_] for id_, _ in narrowest(((org.id, org.path) for org in found.values()), wanted)]


def narrowest(paths: Iterable[tuple[int, str]], wanted: str) -> list[tuple[int, str]]:
    """Of (id, full path) pairs, those a normalised path `wanted` names, by path (by code point on either
    engine): an exact full path alone, else every one ending with it."""
    found = sorted(((id_, path) for id_, path in paths if path == wanted or path.endswith(SEPARATOR + wanted)),
                   key=lambda pair: pair[1])
    exact = [pair for pair in found if pair[1] == wanted]
    return exact or found


async def with_names(session: AsyncSession, *, names: Iterable[str]) -> list[tuple[int, str]]:
    """(id, full path) of every organisation whose own name is one of `names` (a few queries for a whole file):
    the only ones a path ending in such a name can name (`narrowest`)."""
    found: list[tuple[int, str]] = []
    for chunk in chunks(names):
        found += [(id_, path) for id_, path in await session.execute(
            select(Organisation.id, Organisation.path).where(Organisation.name.in_(chunk)))]
    return found


async def resolve(session: AsyncSession, *, path: str, within: Sequence[int] | None = None) -> Organisation:
    """The one organisation `path` names; OrgLookupError when it names none or several."""
    found = await matching(session, path=path, within=within)
    if len(found) != 1:
        raise OrgLookupError(normal_path(path), [org.path for org in found])
    return found[0]


async def ensure_path(session: AsyncSession, *, path: str) -> Organisation:
    """The organisation `path` names, creating the missing levels under the one its parent path names.

    A path whose first part names no organisation starts a new tree. OrgLookupError when the path (or the
    part of it that exists) could mean several organisations.
    """
    wanted = normal_path(path)
    if not wanted:
        raise ValueError("empty organisation path")
    found = await matching(session, path=wanted)
    if len(found) > 1:
        raise OrgLookupError(wanted, [org.path for org in found])
    if found:
        return found[0]
    parent_path, _, name = wanted.rpartition(SEPARATOR)
    parent = await ensure_path(session, path=parent_path) if parent_path else None
    org = Organisation(name=name, kind=kind_of(name), parent_id=parent.id if parent else None,
                       path=f"{parent.path}{SEPARATOR}{name}" if parent else name)
    session.add(org)
    await session.flush()
    return org


_PARENT = select(Organisation.parent_id).where(Organisation.id == bindparam("org"))


async def chain_up(session: AsyncSession, *, org_id: int) -> list[int]:
    """The organisation and its ancestors, nearest first."""
    chain: list[int] = []
    current: int | None = org_id
    while current is not None and current not in chain:
        chain.append(current)
        current = (await run(session, _PARENT, {"org": current})).scalar()
    return chain


async def branch_of(session: AsyncSession, *, org_id: int) -> int:
    """The 党支部 an organisation belongs to: itself or its nearest branch above (a 党小组's branch); an
    organisation with no branch above it (a 党总支's own members) stands for itself."""
    chain = await chain_up(session, org_id=org_id)
    kinds = {id_: kind for id_, kind in await session.execute(
        select(Organisation.id, Organisation.kind).where(Organisation.id.in_(chain)))}
    return next((up for up in chain if kinds.get(up) == OrgKind.BRANCH), org_id)


async def up_to_branch(session: AsyncSession, *, org_id: int) -> list[int]:
    """The organisation and those above it up to its 党支部 (a 党小组 and its branch): whose secretaries answer
    for it day to day."""
    chain = await chain_up(session, org_id=org_id)
    return chain[:chain.index(await branch_of(session, org_id=org_id)) + 1]


async def name_of(session: AsyncSession, *, org_id: int) -> str:
    return (await session.scalar(select(Organisation.name).where(Organisation.id == org_id))) or ""


async def path_of(session: AsyncSession, *, org_id: int) -> str:
    """The full path, which tells two villages' `第一党支部` apart (what secretaries and operators see)."""
    return (await session.scalar(select(Organisation.path).where(Organisation.id == org_id))) or ""


async def paths(session: AsyncSession, *, org_ids: Sequence[int]) -> list[tuple[int, str]]:
    """(id, full path) of these organisations, by path (a secretary's choice of where to move someone)."""
    found = await session.execute(select(Organisation.id, Organisation.path).where(Organisation.id.in_(org_ids)))
    return sorted(((id_, path) for id_, path in found), key=lambda pair: pair[1])


async def subtree(session: AsyncSession, *, org_id: int) -> list[int]:
    """The organisation and every organisation under it, by id (what a secretary or administrator governs)."""
    root = await path_of(session, org_id=org_id)
    if not root:
        return []
    below = Organisation.path.startswith(root + SEPARATOR, autoescape=True)
    return list(await session.scalars(select(Organisation.id).where(or_(Organisation.id == org_id, below))
                                      .order_by(Organisation.id)))
