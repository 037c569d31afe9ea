"""A roster file imported by a secretary (the console's 成员 page): every row checked against the organisations
they answer for, and what each good row will do, before anything is applied; then only the good rows applied.

An import from here only adds or changes members inside the importer's subtree: a row naming an organisation
outside it, or none, or a phone that belongs to a member elsewhere, is a bad row. No organisation is created
(that stays with `palmbot members import`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Member, Organisation
from bot.repo import audit, members, orgs
from bot.roster import BadRow, ImportResult, RosterRow, Table, apply_rows, check

NEW, CHANGED, MOVED, SAME = "new", "changed", "moved", "same"
FIELDS = ("name", "role", "joined_on", "category", "language")  # what a row may change besides the organisation


@dataclass(frozen=True, slots=True)
class Planned:
    """A good row and what applying it does: NEW, MOVED (from `before`, the organisation left), CHANGED or SAME;
    `changes` are (field, old, new) of FIELDS. The row's 支部 is the full path of the organisation it names."""

    row: RosterRow
    change: str
    before: str = ""
    changes: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Preview:
    """Every row of a file judged: the good ones with what they will do, the bad ones with why, by line."""

    good: list[Planned]
    bad: list[BadRow]

    @property
    def digest(self) -> str:
        """A fingerprint of the whole preview (hex): applying checks it is still what the secretary saw."""
        return hashlib.sha256(repr((self.good, self.bad)).encode()).hexdigest()


async def preview(session: AsyncSession, table: Table, *, within: Sequence[int]) -> Preview:
    """Judge every row of `table` (`bot.roster.upload_table`) for an importer who answers for `within`: besides
    `bot.roster.check`'s problems, a row is bad when its 支部 names an organisation only `outside` the subtree, no
    organisation (`unknown_org`), or several in it (`ambiguous`), or when its phone is a member's `elsewhere`."""
    rows, bad = check(table)
    good: list[Planned] = []
    for row in rows:
        found = await _place(session, row, within)
        if isinstance(found, BadRow):
            bad.append(found)
            continue
        org, member = found
        placed = RosterRow(row.name, row.phone, org.path, row.role, row.joined_on, row.category, row.language,
                           row.where, row.line)
        good.append(await _planned(session, placed, org, member))
    return Preview(good, sorted(bad, key=lambda b: b.line))


async def _place(session: AsyncSession, row: RosterRow,
                 within: Sequence[int]) -> tuple[Organisation, Member | None] | BadRow:
    """The organisation of the subtree the row names and the member its phone belongs to (if any), or why not."""
    found = await orgs.matching(session, path=row.branch, within=within)
    if len(found) > 1:
        return BadRow(row.line, "ambiguous", "、".join(org.path for org in found))
    if not found:
        outside = await orgs.matching(session, path=row.branch)
        return BadRow(row.line, "outside" if outside else "unknown_org", row.branch)
    member = await members.by_phone(session, phone=row.phone)
    if member is not None and member.org_id not in within:
        return BadRow(row.line, "elsewhere", row.phone[-4:])
    return found[0], member


async def _planned(session: AsyncSession, row: RosterRow, org: Organisation, member: Member | None) -> Planned:
    if member is None:
        return Planned(row, NEW)
    changes = tuple((name, _text(getattr(member, name)), _text(getattr(row, name))) for name in FIELDS
                    if _text(getattr(member, name)) != _text(getattr(row, name)))
    if member.org_id != org.id:
        left = await session.scalar(select(Organisation.path).where(Organisation.id == member.org_id))
        return Planned(row, MOVED, left or "", changes)
    return Planned(row, CHANGED if changes else SAME, "", changes)


def _text(value: object) -> str:
    return "" if value is None else str(value)


async def apply(session: AsyncSession, previewed: Preview, *, actor_id: int, org_id: int,
                now: datetime) -> ImportResult:
    """Apply the good rows of a preview (`bot.roster.apply_rows`: moves audited with the importer) and record the
    import in the audit trail of the importer's organisation `org_id`; the caller's transaction commits."""
    result = await apply_rows(session, [planned.row for planned in previewed.good], now, actor_id=actor_id)
    await audit.record(session, actor_id=actor_id, member_id=None, org_id=org_id, action="roster_import",
                       subject="roster", detail=f"{result.created} created, {result.updated} updated "
                       f"({result.moved} moved), {len(previewed.bad)} bad rows left out", at=now)
    return result
