"""Importing the branch roster from CSV or XLSX: every row checked first, then applied in one transaction."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.limits import length_of
from bot.models import Member, Organisation, Role
from bot.repo import members, orgs
from bot.rules.orgs import size_warning

HEADERS = {
    "姓名": "name", "name": "name",
    "手机号": "phone", "phone": "phone",
    "支部": "branch", "branch": "branch",
    "角色": "role", "role": "role",
    "入党日期": "joined_on", "joined_on": "joined_on",
    "类别": "category", "category": "category",  # optional: 在职, 流动, 离退休 (a lesson's audience)
    "语言": "language", "language": "language",  # optional: zh (default) or bo, for translated lessons
}
CATEGORIES = ("在职", "流动", "离退休")
LANGUAGES = ("zh", "bo")
ROLES = {"党员": Role.MEMBER, "member": Role.MEMBER, "书记": Role.SECRETARY, "secretary": Role.SECRETARY,
         "管理员": Role.ADMIN, "admin": Role.ADMIN}
PHONE = re.compile(r"1\d{10}")
NAME_CHARS, ORG_CHARS, PATH_CHARS = length_of(Member.name), length_of(Organisation.name), length_of(Organisation.path)


class RosterError(Exception):
    """A row that cannot be imported; nothing from the file is applied."""


@dataclass(frozen=True, slots=True)
class RosterRow:
    name: str
    phone: str
    branch: str
    role: Role
    joined_on: date | None
    category: str | None = None
    language: str = "zh"
    where: str = ""  # `path:line` of the row, for messages about it


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did; `kept` are members of the file's organisations the file leaves out (never deleted),
    `warnings` the organisations whose size the seeds advise against (rules/orgs.py)."""

    created: int
    updated: int
    moved: int = 0
    kept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_rows(path: Path) -> list[RosterRow]:
    """Read and check every row of a CSV or XLSX roster; the first bad row raises RosterError."""
    cells = _xlsx_cells(path) if path.suffix.lower() in {".xlsx", ".xlsm"} else _csv_cells(path)
    header = next(cells, None)
    if header is None:
        raise RosterError(f"{path}: the file is empty")
    columns = [HEADERS.get(str(h or "").strip().lower(), HEADERS.get(str(h or "").strip(), "")) for h in header]
    missing = {"name", "phone", "branch"} - set(columns)
    if missing:
        raise RosterError(f"{path}:1: missing columns {sorted(missing)}; expected 姓名,手机号,支部,角色,入党日期")
    rows, phones = [], set()
    for number, values in enumerate(cells, start=2):
        record = {col: _cell(v) for col, v in zip(columns, values, strict=False) if col}
        if not any(record.values()):
            continue
        row = _row(record, f"{path}:{number}")
        if row.phone in phones:
            raise RosterError(f"{path}:{number}: phone {row.phone} appears twice in the file")
        phones.add(row.phone)
        rows.append(row)
    return rows


def _row(record: dict[str, str], where: str) -> RosterRow:
    name, phone = record.get("name", ""), record.get("phone", "")
    branch = orgs.normal_path(record.get("branch", ""))  # "/" alone is as empty as nothing
    if not name:
        raise RosterError(f"{where}: 姓名 is empty")
    if len(name) > NAME_CHARS:
        raise RosterError(f"{where}: 姓名 is longer than {NAME_CHARS} characters")
    if not PHONE.fullmatch(phone):
        raise RosterError(f"{where}: 手机号 {phone!r} is not an 11-digit mobile number")
    if not branch:
        raise RosterError(f"{where}: 支部 is empty")
    if len(branch) > PATH_CHARS or max(len(part) for part in branch.split(orgs.SEPARATOR)) > ORG_CHARS:
        raise RosterError(f"{where}: 支部 is too long (a name at most {ORG_CHARS} characters, a path {PATH_CHARS})")
    role = ROLES.get(record.get("role", "") or "党员")
    if role is None:
        raise RosterError(f"{where}: 角色 {record['role']!r} must be 党员, 书记 or 管理员")
    category = record.get("category", "") or None
    if category is not None and category not in CATEGORIES:
        raise RosterError(f"{where}: 类别 {category!r} must be empty or one of {'、'.join(CATEGORIES)}")
    language = record.get("language", "") or "zh"
    if language not in LANGUAGES:
        raise RosterError(f"{where}: 语言 {language!r} must be one of {', '.join(LANGUAGES)}")
    return RosterRow(name, phone, branch, role, _date(record.get("joined_on", ""), where),
                     category, language, where)


def _date(text: str, where: str) -> date | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RosterError(f"{where}: 入党日期 {text!r} is not a date like 2001-07-01")


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if value is not None else ""


def _csv_cells(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.reader(fh)


def _xlsx_cells(path: Path) -> Iterator[Iterable[object]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        yield from workbook.active.iter_rows(values_only=True)
    finally:
        workbook.close()


async def apply_rows(session: AsyncSession, rows: list[RosterRow], now: datetime) -> ImportResult:
    """Create or update members by phone, creating missing organisations; the caller's transaction commits.

    RosterError (naming the row) when a 支部 could mean several organisations; nothing is then applied.
    A member the file leaves out is kept and listed, never deleted.
    """
    places = await _places(session, rows)
    created = moved = 0
    for row in rows:
        org = places[row.branch]
        member = await members.by_phone(session, phone=row.phone)
        if member is None:
            session.add(Member(name=row.name, phone=row.phone, org_id=org.id, role=row.role, joined_on=row.joined_on,
                               category=row.category, language=row.language, created_at=now))
            created += 1
            continue
        moved += await members.move(session, member=member, org_id=org.id, actor_id=None, now=now)
        member.name, member.role, member.joined_on = row.name, row.role, row.joined_on
        member.category, member.language = row.category, row.language
    await session.flush()
    touched = sorted({org.id for org in places.values()})
    return ImportResult(created, len(rows) - created, moved, await _kept(session, touched, {r.phone for r in rows}),
                        await _warnings(session, touched))


async def _places(session: AsyncSession, rows: list[RosterRow]) -> dict[str, Organisation]:
    """Each distinct 支部 of the file and its organisation, created if missing.

    Deeper paths go first, so a bare name is judged against every organisation the file creates.
    """
    places: dict[str, Organisation] = {}
    for row in sorted(rows, key=lambda r: -r.branch.count(orgs.SEPARATOR)):
        if row.branch not in places:
            try:
                places[row.branch] = await orgs.ensure_path(session, path=row.branch)
            except orgs.OrgLookupError as exc:
                raise RosterError(f"{row.where}: 支部 {row.branch!r} could mean {', '.join(exc.candidates)}; "
                                  "write the full path") from exc
    return places


async def _kept(session: AsyncSession, org_ids: list[int], phones: set[str]) -> list[str]:
    """`path 姓名 手机号` of the members of these organisations that the file does not list."""
    return [f"{org}\t{m.name}\t{m.phone}" for m, org in await members.roster(session, org_ids=org_ids)
            if m.phone not in phones]


async def _warnings(session: AsyncSession, org_ids: list[int]) -> list[str]:
    """Size warnings for these organisations and those above them, counting members of each subtree."""
    warnings = []
    above = {up for touched in org_ids for up in await orgs.chain_up(session, org_id=touched)}
    for org_id in sorted(above):
        org = await session.get(Organisation, org_id)
        assert org is not None
        size = await members.count(session, org_ids=await orgs.subtree(session, org_id=org_id))
        if warning := size_warning(org.kind, size):
            warnings.append(f"{org.path}: {warning}")
    return warnings
