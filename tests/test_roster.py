"""Importing the roster: creates branches, updates on re-import, refuses a bad file as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.cli import main
from bot.migrate import upgrade
from bot.models import Member, Organisation
from bot.roster import RosterError, apply_rows, read_rows
from tests.conftest import ROOT

HEADER = "姓名,手机号,支部,角色,入党日期\n"


def _csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


async def test_import_creates_members_and_the_branch_tree(db, clock) -> None:
    async with db.begin() as session:
        result = await apply_rows(session, read_rows(ROOT / "deploy/demo/roster.csv"), clock())
    assert (result.created, result.updated) == (22, 0)
    async with db() as session:
        orgs = {o.name: o for o in await session.scalars(select(Organisation))}
        assert orgs["第一党支部"].parent_id == orgs["塘约村党总支"].id
        assert orgs["塘约村党总支"].kind == "党总支" and orgs["第二党支部"].kind == "党支部"
        secretaries = (await session.scalars(select(Member.name).where(Member.role == "书记"))).all()
    assert sorted(secretaries) == ["孙卫东", "张建国", "彭光明"]


async def test_reimport_updates_and_never_duplicates(db, clock, tmp_path: Path) -> None:
    async with db.begin() as session:
        await apply_rows(session, read_rows(_csv(tmp_path, "李秀英,13800000002,第一党支部,党员,2005-06-15\n")), clock())
    moved = _csv(tmp_path, "李秀英,13800000002,第二党支部,书记,2005-06-15\n")
    async with db.begin() as session:
        result = await apply_rows(session, read_rows(moved), clock())
    assert (result.created, result.updated) == (0, 1)
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 1
        member = await session.scalar(select(Member))
        org = await session.get(Organisation, member.org_id)
    assert (member.role, org.name) == ("书记", "第二党支部")


@pytest.mark.parametrize(("body", "message"), [
    ("李秀英,13800000002,第一党支部,党员,2005-06-15\n王,12345,第一党支部,党员,\n", ":3: 手机号 '12345'"),
    ("李秀英,13800000002,第一党支部,队长,\n", ":2: 角色 '队长'"),
    ("李秀英,13800000002,第一党支部,党员,去年\n", ":2: 入党日期 '去年'"),
    (",13800000002,第一党支部,党员,\n", ":2: 姓名 is empty"),
    ("李秀英,13800000002,,党员,\n", ":2: 支部 is empty"),
    ("李秀英,13800000002,第一党支部,党员,\n李秀英,13800000002,第一党支部,党员,\n", ":3: phone 13800000002 appears twice"),
])
def test_a_bad_row_is_reported_with_its_number(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(RosterError, match=message):
        read_rows(_csv(tmp_path, body))


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match=r":1: missing columns \['phone'\]"):
        read_rows(_csv(tmp_path, "李秀英,第一党支部\n", header="姓名,支部\n"))


def test_english_headers_and_xlsx(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "phone", "branch", "role", "joined_on"])
    sheet.append(["Li Xiuying", 13800000002, "第一党支部", "secretary", "2005-06-15"])
    path = tmp_path / "roster.xlsx"
    book.save(path)
    [row] = read_rows(path)
    assert (row.name, row.phone, row.role, str(row.joined_on)) == ("Li Xiuying", "13800000002", "书记", "2005-06-15")


def test_cli_import_of_a_bad_file_applies_nothing(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    upgrade(url)
    monkeypatch.setenv("PALMBOT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    bad = _csv(tmp_path, "李秀英,13800000002,第一党支部,党员,\n王,12345,第一党支部,党员,\n")
    assert main(["members", "import", str(bad)]) == 1
    assert "roster.csv:3:" in capsys.readouterr().err
    assert main(["members", "list"]) == 0
    assert "李秀英" not in capsys.readouterr().out
    good = _csv(tmp_path, "李秀英,13800000002,第一党支部,党员,2005-06-15\n")
    assert main(["members", "import", str(good)]) == 0
    assert main(["members", "list"]) == 0
    assert "第一党支部\t李秀英\t13800000002\t党员\t2005-06-15\t未绑定" in capsys.readouterr().out
