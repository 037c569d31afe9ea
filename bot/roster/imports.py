"""Importing the branch roster from CSV or XLSX: every row checked first, then applied in one transaction.

An optional cell left empty (角色, 入党日期, 类别, 语言) keeps what the roster has for a member already in it;
a new member gets 党员, no date, no category and zh.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import members, orgs
from bot.reports.sheets import FORMULA_STARTS, formula_like
from bot.rules.orgs import size_warning
from bot.storage.limits import length_of
from bot.storage.models import Member, Organisation, Role

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
FIELDS = ("name", "role", "joined_on", "category", "language")  # what a row sets on a member besides the organisation
OPTIONAL = FIELDS[1:]  # an empty cell keeps the member's
ROLES = {"党员": Role.MEMBER, "member": Role.MEMBER, "书记": Role.SECRETARY, "secretary": Role.SECRETARY,
         "管理员": Role.ADMIN, "admin": Role.ADMIN}
PHONE = re.compile(r"1\d{10}")
NAME_CHARS, ORG_CHARS, PATH_CHARS = length_of(Member.name), length_of(Organisation.name), length_of(Organisation.path)
PROBLEMS = {  # what is wrong with a row, worded for operators (the console's: content/console/members_import.html)
    "empty": "the file is empty",
    "columns": "missing columns {value}; expected 姓名,手机号,支部,角色,入党日期",
    "name_empty": "姓名 is empty",
    "name_long": f"姓名 is longer than {NAME_CHARS} characters",
    "name_formula": "姓名 {value!r} starts with " + " ".join(repr(c) for c in FORMULA_STARTS)
                    + " (a spreadsheet would run it as a formula)",
    "phone": "手机号 {value!r} is not an 11-digit mobile number",
    "branch_empty": "支部 is empty",
    "branch_long": f"支部 is too long (a name at most {ORG_CHARS} characters, a path {PATH_CHARS})",
    "role": "角色 {value!r} must be 党员, 书记 or 管理员",
    "category": "类别 {value!r} must be empty or one of " + "、".join(CATEGORIES),
    "language": "语言 {value!r} must be empty or one of " + ", ".join(LANGUAGES),
    "date": "入党日期 {value!r} is not a date like 2001-07-01",
    "duplicate": "phone {value} appears twice in the file",
}
Table = list[list[str]]
"""A roster file's rows as text cells, the header first (line N of the file is `table[N - 1]`)."""


class RosterError(Exception):
    """A row (or a file) that cannot be imported; nothing from the file is applied."""


class TooManyRows(RosterError):
    """A file with more rows than an import takes at once (`most`)."""

    def __init__(self, most: int) -> None:
        super().__init__(f"more than {most} rows")
        self.most = most


@dataclass(frozen=True, slots=True)
class RosterRow:
    """A good row. An optional field left empty in the file is None: the member keeps theirs (see the module)."""

    name: str
    phone: str
    branch: str
    role: Role | None
    joined_on: date | None
    category: str | None = None
    language: str | None = None
    where: str = ""  # `path:line` of the row, for messages about it
    line: int = 0  # its line in the file


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that cannot be imported: its line in the file (1: the header, the file itself), what is wrong (a key
    of PROBLEMS, or one of `bot.roster.scope.preview`'s for an import from the console) and the value at
    fault."""

    line: int
    problem: str
    value: str = ""


class _Bad(Exception):
    def __init__(self, problem: str, value: str = "") -> None:
        super().__init__(problem)
        self.problem, self.value = problem, value


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
    """Read and check every row of a CSV or XLSX roster; the first bad row raises RosterError (`path:line: why`)."""
    rows, bad = check(table_of(path), str(path))
    if bad:
        raise RosterError(f"{path}:{bad[0].line}: {PROBLEMS[bad[0].problem].format(value=bad[0].value)}")
    return rows


def table_of(path: Path) -> Table:
    """A CSV (UTF-8, or GB18030 as Excel saves it in China) or XLSX roster file as text cells."""
    return list(_rows(path.name, path.read_bytes()))


def upload_table(name: str, data: bytes, *, most: int | None = None) -> Table:
    """An uploaded roster (its kind read from the file `name`) as text cells; RosterError when it cannot be read
    as CSV or XLSX, TooManyRows as soon as more than `most` rows below the header have a cell filled (the rest
    of the file is not read)."""
    try:
        return list(limited(_rows(name, data), most))
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise RosterError(f"{name}: not a readable CSV or XLSX file ({exc.__class__.__name__})") from exc


def limited(table: Iterable[list[str]], most: int | None) -> Iterator[list[str]]:
    """The rows of a table, the header first; TooManyRows once more than `most` rows below the header have a
    cell filled (None: no limit)."""
    filled = 0
    for number, row in enumerate(table):
        filled += bool(number and any(row))
        if most is not None and filled > most:
            raise TooManyRows(most)
        yield row


def _rows(name: str, data: bytes) -> Iterator[list[str]]:
    values: Iterable[Iterable[object]]
    if name.lower().endswith((".xlsx", ".xlsm")):
        values = _xlsx_cells(data)
    else:
        values = csv.reader(io.StringIO(_text(data), newline=""))
    return ([_cell(v) for v in row] for row in values)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def check(table: Table, source: str = "") -> tuple[list[RosterRow], list[BadRow]]:
    """Every row of a roster checked: the good rows and the bad ones (by line; a phone an earlier row has is a
    duplicate). A file without the needed columns is one bad row, line 1; empty lines are skipped."""
    if not table:
        return [], [BadRow(1, "empty")]
    header = table[0]
    columns = [HEADERS.get(h.strip().lower(), HEADERS.get(h.strip(), "")) for h in header]
    missing = {"name", "phone", "branch"} - set(columns)
    if missing:
        return [], [BadRow(1, "columns", str(sorted(missing)))]
    rows: list[RosterRow] = []
    bad: list[BadRow] = []
    phones: set[str] = set()
    for number, values in enumerate(table[1:], start=2):
        record = {col: v for col, v in zip(columns, values, strict=False) if col}
        if not any(record.values()):
            continue
        try:
            row = _row(record, f"{source}:{number}", number)
            if row.phone in phones:
                raise _Bad("duplicate", row.phone)
        except _Bad as exc:
            bad.append(BadRow(number, exc.problem, exc.value))
            continue
        phones.add(row.phone)
        rows.append(row)
    return rows, bad


def _row(record: dict[str, str], where: str, line: int) -> RosterRow:
    name, phone = record.get("name", ""), record.get("phone", "")
    branch = orgs.normal_path(record.get("branch", ""))  # "/" alone is as empty as nothing
    if not name:
        raise _Bad("name_empty")
    if len(name) > NAME_CHARS:
        raise _Bad("name_long", name)
    if formula_like(name):
        raise _Bad("name_formula", name)
    if not PHONE.fullmatch(phone):
        raise _Bad("phone", phone)
    if not branch:
        raise _Bad("branch_empty")
    if len(branch) > PATH_CHARS or max(len(part) for part in branch.split(orgs.SEPARATOR)) > ORG_CHARS:
        raise _Bad("branch_long", branch)
    role_text = record.get("role", "")
    role = ROLES.get(role_text) if role_text else None
    if role_text and role is None:
        raise _Bad("role", role_text)
    category = _choice(record, "category", CATEGORIES)
    language = _choice(record, "language", LANGUAGES)
    return RosterRow(name, phone, branch, role, _date(record.get("joined_on", "")), category, language, where, line)


def _choice(record: dict[str, str], column: str, choices: Sequence[str]) -> str | None:
    """An optional column's value, one of `choices`; None when empty."""
    value = record.get(column, "") or None
    if value is not None and value not in choices:
        raise _Bad(column, value)
    return value


def _date(text: str) -> date | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise _Bad("date", text)


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if value is not None else ""


def _xlsx_cells(data: bytes) -> Iterator[Iterable[object]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        yield from workbook.active.iter_rows(values_only=True)
    finally:
        workbook.close()


def changes(member: Member, row: RosterRow) -> dict[str, object]:
    """What applying `row` changes on `member`, field of FIELDS → new value, in FIELDS' order: the name, and each
    optional field the row fills (an empty cell keeps the member's). The organisation aside."""
    wanted = {name: getattr(row, name) for name in FIELDS if name == "name" or getattr(row, name) is not None}
    return {name: value for name, value in wanted.items() if getattr(member, name) != value}


async def apply_rows(session: AsyncSession, rows: list[RosterRow], now: datetime, *,
                     actor_id: int | None = None) -> ImportResult:
    """Create or update members by phone, creating missing organisations; the caller's transaction commits.
    A member moved to another organisation, or given another role, is audited with `actor_id` (None: an
    operator).

    RosterError (naming the row) when a 支部 could mean several organisations; nothing is then applied.
    A member the file leaves out is kept and listed, never deleted.
    """
    places = await _places(session, rows)
    created = moved = 0
    for row in rows:
        org = places[row.branch]
        member = await members.by_phone(session, phone=row.phone)
        if member is None:
            session.add(Member(name=row.name, phone=row.phone, org_id=org.id, role=row.role or Role.MEMBER,
                               joined_on=row.joined_on, category=row.category, language=row.language or LANGUAGES[0],
                               created_at=now))
            created += 1
            continue
        moved += await members.move(session, member=member, org_id=org.id, actor_id=actor_id, now=now)
        for name, value in changes(member, row).items():
            if name == "role":
                await members.set_role(session, member=member, role=str(value), actor_id=actor_id, now=now)
            else:
                setattr(member, name, value)
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
