"""A roster file imported by a secretary (the console's 成员 page): every row checked against the organisations
they answer for, and what each good row will do, before anything is applied; then only the good rows applied.

An import from here only adds or changes members inside the importer's subtree: a row naming an organisation
outside it, or none, or a phone that belongs to a member elsewhere, is a bad row. No organisation is created
(that stays with `palmbot members import`). Nobody changes their own role or organisation here, and the roles
书记 and 管理员 are given, taken or moved only in organisations strictly below the importer's own: the level above
decides a branch's secretary (`overreach`, which the console's 转组织 obeys too).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import audit, members, orgs
from bot.roster.imports import BadRow, ImportResult, RosterRow, Table, apply_rows, changes, check
from bot.storage.models import Member, Role

NEW, CHANGED, MOVED, SAME = "new", "changed", "moved", "same"
CHIEFS = (Role.SECRETARY, Role.ADMIN)  # roles the level above gives and takes


@dataclass(frozen=True, slots=True)
class Actor:
    """A secretary or administrator acting from the console: their roster entry, their own organisation and the
    organisations they answer for (their own and every one under it, by id)."""

    member_id: int
    org_id: int
    within: tuple[int, ...]

    @property
    def below(self) -> frozenset[int]:
        """The organisations strictly below the actor's own."""
        return frozenset(self.within) - {self.org_id}


def overreach(actor: Actor, member: Member | None, *, org_id: int, role: str) -> tuple[str, int] | None:
    """Why `actor` may not put `member` (None: someone new) in the organisation `org_id` with `role`, as
    (problem, the organisation at fault): `self` when it changes the actor's own organisation or role;
    `role_level` when it gives, takes or moves 书记 or 管理员 in an organisation not strictly below the actor's own.
    None when they may (changing nothing is always allowed)."""
    before = None if member is None else (member.org_id, member.role)
    if before == (org_id, role):
        return None
    if member is not None and member.id == actor.member_id:
        return "self", org_id
    for where, held in [(org_id, role)] if before is None else [before, (org_id, role)]:
        if held in CHIEFS and where not in actor.below:
            return "role_level", where
    return None


@dataclass(frozen=True, slots=True)
class Planned:
    """A good row and what applying it does: NEW, MOVED (from `before`, the organisation left), CHANGED or SAME;
    `changes` are (field, old, new) of `bot.roster.imports.FIELDS`. The row's 支部 is the full path of the
    organisation it names, its role the one the member will have."""

    row: RosterRow
    change: str
    before: str = ""
    changes: tuple[tuple[str, str, str], ...] = ()

    @property
    def role_change(self) -> tuple[str, str] | None:
        """(old, new) role when the row changes one; ("", new) for someone new who is not a plain 党员."""
        if self.change == NEW:
            return None if self.row.role == Role.MEMBER else ("", str(self.row.role))
        return next(((old, new) for name, old, new in self.changes if name == "role"), None)


@dataclass(frozen=True, slots=True)
class Preview:
    """Every row of a file judged: the good ones with what they will do, the bad ones with why, by line."""

    good: list[Planned]
    bad: list[BadRow]

    @property
    def digest(self) -> str:
        """A fingerprint of the whole preview (hex): applying checks it is still what the secretary saw."""
        return hashlib.sha256(repr((self.good, self.bad)).encode()).hexdigest()

    @property
    def role_changes(self) -> int:
        """How many good rows change a role (`Planned.role_change`)."""
        return sum(planned.role_change is not None for planned in self.good)


Place = tuple[int, str]
"""An organisation as (id, full path)."""


@dataclass(frozen=True, slots=True)
class _Known:
    """What the database says about a file's rows, fetched in a few queries whatever the file's length: the
    organisation of the subtree each distinct 支部 names (or a BadRow), the members by phone, the subtree's paths
    by id."""

    places: dict[str, Place | BadRow]
    members: dict[str, Member]
    paths: dict[int, str]


async def preview(session: AsyncSession, table: Table, *, actor: Actor) -> Preview:
    """Judge every row of `table` (`bot.roster.imports.upload_table`) for `actor`: besides
    `bot.roster.imports.check`'s problems (checked in a worker thread: a long file never holds up the event
    loop), a row is bad when its 支部 names an organisation only `outside` the subtree, no organisation
    (`unknown_org`), or several in it (`ambiguous`), when its phone is a member's `elsewhere`, or when
    `overreach` forbids it (`self`, `role_level`)."""
    rows, bad = await asyncio.to_thread(check, table)
    paths = dict(await orgs.paths(session, org_ids=actor.within))
    known = _Known(await _places(session, {row.branch for row in rows}, paths),
                   await members.by_phones(session, phones=[row.phone for row in rows]), paths)
    good: list[Planned] = []
    for row in rows:
        judged = _judged(row, known, actor)
        if isinstance(judged, BadRow):
            bad.append(judged)
        else:
            good.append(judged)
    return Preview(good, sorted(bad, key=lambda b: b.line))


async def _places(session: AsyncSession, branches: Collection[str], within: dict[int, str]) -> dict[str, Place | BadRow]:
    """Each distinct 支部 of a file: the one organisation of the subtree (`within`: paths by id) it names, or why
    not (its line unknown yet: 0). One query for the names outside the subtree, and no scan per 支部."""
    inside, places = _by_name(within.items()), dict[str, Place | BadRow]()
    for branch in branches:
        found = orgs.narrowest(inside.get(_name(branch), []), branch)
        if len(found) > 1:
            places[branch] = BadRow(0, "ambiguous", "、".join(path for _, path in found))
        elif found:
            places[branch] = found[0]
    lost = [branch for branch in branches if branch not in places]
    outside = _by_name(await orgs.with_names(session, names={_name(branch) for branch in lost}))
    for branch in lost:
        named = orgs.narrowest(outside.get(_name(branch), []), branch)
        places[branch] = BadRow(0, "outside" if named else "unknown_org", branch)
    return places


def _name(path: str) -> str:
    """The own name of the organisation at the end of a path."""
    return path.rsplit(orgs.SEPARATOR, 1)[-1]


def _by_name(places: Iterable[Place]) -> dict[str, list[Place]]:
    grouped: dict[str, list[Place]] = {}
    for place in places:
        grouped.setdefault(_name(place[1]), []).append(place)
    return grouped


def _judged(row: RosterRow, known: _Known, actor: Actor) -> Planned | BadRow:
    """The row's plan, or why it is bad."""
    found = known.places[row.branch]
    if isinstance(found, BadRow):
        return BadRow(row.line, found.problem, found.value)
    (org_id, path), member = found, known.members.get(row.phone)
    if member is not None and member.org_id not in actor.within:
        return BadRow(row.line, "elsewhere", row.phone[-4:])
    role = row.role or Role(member.role if member else Role.MEMBER)
    if refused := overreach(actor, member, org_id=org_id, role=role):
        problem, where = refused
        return BadRow(row.line, problem, known.paths.get(where, ""))
    placed = RosterRow(row.name, row.phone, path, role, row.joined_on, row.category, row.language, row.where,
                       row.line)
    if member is None:
        return Planned(placed, NEW)
    changed = tuple((name, _text(getattr(member, name)), _text(value))
                    for name, value in changes(member, placed).items())
    if member.org_id != org_id:
        return Planned(placed, MOVED, known.paths.get(member.org_id, ""), changed)
    return Planned(placed, CHANGED if changed else SAME, "", changed)


def _text(value: object) -> str:
    return "" if value is None else str(value)


async def apply(session: AsyncSession, previewed: Preview, *, actor: Actor, now: datetime,
                summary: Callable[[ImportResult], str]) -> ImportResult:
    """Apply the good rows of a preview (`bot.roster.imports.apply_rows`: moves and role changes audited with
    the actor, member by member) and record the import in the audit trail of the actor's organisation, its
    detail the `summary` of the result; the caller's transaction commits."""
    result = await apply_rows(session, [planned.row for planned in previewed.good], now, actor_id=actor.member_id)
    await audit.record(session, actor_id=actor.member_id, member_id=None, org_id=actor.org_id, action="roster_import",
                       subject="roster", detail=summary(result), at=now)
    return result
