"""Importing the roster: creates branches, updates on re-import, refuses a bad file as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.ops.cli import main
from bot.roster.imports import BadRow, RosterError, apply_rows, check, read_rows, table_of
from bot.storage.migrate import upgrade
from bot.storage.models import AuditEntry, Member, Organisation
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
    async with db() as session:
        trail = (await session.execute(select(AuditEntry.actor_id, AuditEntry.org_id, AuditEntry.action,
                                              AuditEntry.detail).order_by(AuditEntry.id))).all()
    assert [tuple(row) for row in trail][-1] == (None, org.id, "role_change", "党员 → 书记")  # by the operator


FULL = "姓名,手机号,支部,角色,入党日期,类别,语言\n"


async def test_an_empty_optional_cell_keeps_what_the_roster_has(db, clock, tmp_path: Path) -> None:
    async with db.begin() as session:
        await apply_rows(session, read_rows(_csv(tmp_path, "李秀英,13800000002,第一党支部,书记,2005-06-15,流动,bo\n",
                                                 header=FULL)), clock())
    again = _csv(tmp_path, "李秀英,13800000002,第一党支部,,,,\n赵春花,13800000004,第一党支部,,,,\n", header=FULL)
    async with db.begin() as session:
        result = await apply_rows(session, read_rows(again), clock())
    assert (result.created, result.updated) == (1, 1)
    shorter = _csv(tmp_path, "李秀英,13800000002,第一党支部,书记,\n")  # no 类别 or 语言 column at all
    async with db.begin() as session:
        await apply_rows(session, read_rows(shorter), clock())
    async with db() as session:
        found = {m.name: (m.role, str(m.joined_on), m.category, m.language)
                 for m in await session.scalars(select(Member))}
        trail = await session.scalar(select(func.count()).select_from(AuditEntry))
    assert found == {"李秀英": ("书记", "2005-06-15", "流动", "bo"), "赵春花": ("党员", "None", None, "zh")}
    assert trail == 0  # nothing changed a role or an organisation


@pytest.mark.parametrize(("body", "message"), [
    ("李秀英,13800000002,第一党支部,党员,2005-06-15\n王,12345,第一党支部,党员,\n", ":3: 手机号 '12345'"),
    ("李秀英,13800000002,第一党支部,队长,\n", ":2: 角色 '队长'"),
    ("李秀英,13800000002,第一党支部,党员,去年\n", ":2: 入党日期 '去年'"),
    (",13800000002,第一党支部,党员,\n", ":2: 姓名 is empty"),
    ("李秀英,13800000002,,党员,\n", ":2: 支部 is empty"),
    ("李秀英,13800000002, / ,党员,\n", ":2: 支部 is empty"),
    (f"{'李' * 51},13800000002,第一党支部,党员,\n", ":2: 姓名 is longer than 50 characters"),
    ('"=HYPERLINK(""http://evil.example/"",""点击查看"")",13800000002,第一党支部,党员,\n', ":2: 姓名 '=HYPERLINK"),
    ("+1+1,13800000002,第一党支部,党员,\n", r":2: 姓名 '\+1\+1' starts with '=' '\+' '-' '@'"),
    ("-李,13800000002,第一党支部,党员,\n", ":2: 姓名 '-李' starts with"),
    ("@SUM(A1),13800000002,第一党支部,党员,\n", ":2: 姓名 '@SUM"),
    (f"李秀英,13800000002,{'村' * 101},党员,\n", ":2: 支部 is too long"),
    (f"李秀英,13800000002,{'/'.join(['村' * 90] * 6)},党员,\n", ":2: 支部 is too long"),
    ("李秀英,13800000002,第一党支部,党员,\n李秀英,13800000002,第一党支部,党员,\n", ":3: phone 13800000002 appears twice"),
])
def test_a_bad_row_is_reported_with_its_number(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(RosterError, match=message):
        read_rows(_csv(tmp_path, body))


def test_every_bad_row_is_listed_with_its_line_and_problem(tmp_path: Path) -> None:
    body = ("李秀英,13800000002,第一党支部,党员,\n王,12345,第一党支部,党员,\n\n"
            "赵春花,13800000004,第一党支部,队长,\n李秀英,13800000002,第一党支部,党员,\n")
    rows, bad = check(table_of(_csv(tmp_path, body)))
    assert [(r.name, r.line) for r in rows] == [("李秀英", 2)]
    assert bad == [BadRow(3, "phone", "12345"), BadRow(5, "role", "队长"), BadRow(6, "duplicate", "13800000002")]
    assert check([]) == ([], [BadRow(1, "empty")])


def test_a_csv_saved_by_excel_in_china_is_read(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes((HEADER + "李秀英,13800000002,塘约村党总支/第一党支部,书记,2005-06-15\n").encode("gb18030"))
    [row] = read_rows(path)
    assert (row.name, row.branch, row.role) == ("李秀英", "塘约村党总支/第一党支部", "书记")


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


TWO_VILLAGES = (
    "甲一,13900000001,甲村党总支/第一党支部,书记,\n"
    "甲二,13900000002,甲村党总支/第一党支部/第一党小组,党员,\n"
    "乙一,13900000011,乙村党总支/第一党支部,书记,\n"
    "乙二,13900000012,乙村党总支/第一党支部/第一党小组,党员,\n"
)


async def _paths(db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    async with db() as session:
        rows = await session.execute(select(Member.name, Organisation.path).join(Organisation))
        return {name: path for name, path in rows}


async def test_two_villages_with_the_same_branch_names_stay_apart(db, clock, tmp_path: Path) -> None:
    async with db.begin() as session:
        result = await apply_rows(session, read_rows(_csv(tmp_path, TWO_VILLAGES)), clock())
    assert (result.created, result.updated) == (4, 0)
    assert await _paths(db) == {"甲一": "甲村党总支/第一党支部", "甲二": "甲村党总支/第一党支部/第一党小组",
                                "乙一": "乙村党总支/第一党支部", "乙二": "乙村党总支/第一党支部/第一党小组"}
    async with db() as session:
        kinds = {o.path: (o.name, o.kind) for o in await session.scalars(select(Organisation))}
    assert len(kinds) == 6 and kinds["乙村党总支/第一党支部/第一党小组"] == ("第一党小组", "党小组")


async def test_the_issue_roster_imported_after_the_demo_lands_in_its_own_village(db, clock, tmp_path: Path) -> None:
    async with db.begin() as session:
        await apply_rows(session, read_rows(ROOT / "deploy/demo/roster.csv"), clock())
    second = _csv(tmp_path, "钱书记,13900000077,乙村党总支/第一党支部,书记,2012-05-04\n"
                            "孙乙一,13800000071,乙村党总支/第一党支部,党员,2012-05-04\n"
                            "周乙二,13800000072,乙村党总支/第一党支部,党员,2012-05-04\n")
    async with db.begin() as session:
        result = await apply_rows(session, read_rows(second), clock())
    assert result.created == 3
    paths = await _paths(db)
    assert {paths[n] for n in ("钱书记", "孙乙一", "周乙二")} == {"乙村党总支/第一党支部"}
    assert paths["李秀英"] == "塘约村党总支/第一党支部"


async def test_an_ambiguous_bare_name_is_refused_with_its_line_and_the_paths(db, clock, tmp_path: Path) -> None:
    async with db.begin() as session:
        await apply_rows(session, read_rows(_csv(tmp_path, TWO_VILLAGES)), clock())
    bare = _csv(tmp_path, "丙一,13900000021,甲村党总支/第一党支部,党员,\n丙二,13900000022,第一党支部,党员,\n")
    with pytest.raises(RosterError) as refused:
        async with db.begin() as session:
            await apply_rows(session, read_rows(bare), clock())
    assert str(refused.value).startswith(f"{bare}:3: 支部 '第一党支部' could mean ")
    assert "乙村党总支/第一党支部, 甲村党总支/第一党支部; write the full path" in str(refused.value)
    assert "丙一" not in await _paths(db)  # nothing from the file was applied


async def test_a_bare_name_is_judged_against_the_whole_file(db, clock, tmp_path: Path) -> None:
    """The bare name comes first in the file, but the file itself makes it ambiguous."""
    rows = "丙二,13900000022,第一党支部,党员,\n" + TWO_VILLAGES
    with pytest.raises(RosterError, match=r":2: 支部 '第一党支部' could mean"):
        async with db.begin() as session:
            await apply_rows(session, read_rows(_csv(tmp_path, rows)), clock())


@pytest.mark.parametrize(("branch", "lands_in"), [
    ("乙村党总支", "乙村党总支"),  # a unique bare name
    ("第一党小组", None),  # two villages have one
    ("乙村党总支/第一党支部", "乙村党总支/第一党支部"),  # a path below the root
    (" 乙村党总支 / 第一党支部 / 第一党小组 ", "乙村党总支/第一党支部/第一党小组"),  # spaces around the parts
    ("乙村党总支／第一党支部\\第一党小组", "乙村党总支/第一党支部/第一党小组"),  # full-width slash, backslash
    ("乙村党总支/第二党支部", "乙村党总支/第二党支部"),  # a new branch under a unique parent
    ("第一党支部/第三党小组", None),  # a new group under an ambiguous parent
])
async def test_names_and_paths_in_a_roster(db, clock, tmp_path: Path, branch: str, lands_in: str | None) -> None:
    async with db.begin() as session:
        await apply_rows(session, read_rows(_csv(tmp_path, TWO_VILLAGES)), clock())
    path = tmp_path / "more.csv"
    path.write_text(HEADER + f"丙三,13900000023,{branch},党员,\n", encoding="utf-8")
    if lands_in is None:
        with pytest.raises(RosterError, match="could mean"):
            async with db.begin() as session:
                await apply_rows(session, read_rows(path), clock())
        return
    async with db.begin() as session:
        await apply_rows(session, read_rows(path), clock())
    assert (await _paths(db))["丙三"] == lands_in


async def test_import_keeps_and_lists_members_the_file_leaves_out_and_warns_about_sizes(
        db, clock, tmp_path: Path) -> None:
    async with db.begin() as session:
        await apply_rows(session, read_rows(_csv(tmp_path, TWO_VILLAGES)), clock())
    smaller = _csv(tmp_path, "甲一,13900000001,甲村党总支/第一党支部,书记,\n")
    async with db.begin() as session:
        result = await apply_rows(session, read_rows(smaller), clock())
    assert result.kept == []  # 甲二 is in the 党小组, an organisation the file does not name
    group = _csv(tmp_path, "甲一,13900000001,甲村党总支/第一党支部/第一党小组,书记,\n")
    async with db.begin() as session:
        result = await apply_rows(session, read_rows(group), clock())
    assert result.moved == 1 and result.kept == ["甲村党总支/第一党支部/第一党小组\t甲二\t13900000002"]
    assert result.warnings == [
        "甲村党总支/第一党支部/第一党小组: a 党小组 of 2 members (a 党小组 needs at least 3; 002 L147)"]
    assert "甲二" in await _paths(db)


def test_cli_members_list_unbind_and_move(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    upgrade(url)
    monkeypatch.setenv("PALMBOT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert main(["members", "import", str(_csv(tmp_path, TWO_VILLAGES))]) == 0
    capsys.readouterr()

    assert main(["members", "list", "--org", "乙村党总支"]) == 0
    listed = capsys.readouterr().out
    assert "乙村党总支/第一党支部/第一党小组\t乙二\t13900000012" in listed and "甲" not in listed
    assert main(["members", "list", "--org", "第一党支部"]) == 1
    assert "could mean 乙村党总支/第一党支部, 甲村党总支/第一党支部" in capsys.readouterr().err

    assert main(["members", "move", "13900000012", "--to", "甲村党总支/第一党支部"]) == 0
    assert "moved to 甲村党总支/第一党支部" in capsys.readouterr().out
    assert main(["members", "move", "13900000012", "--to", "第一党支部"]) == 1
    assert "no member" not in capsys.readouterr().err
    assert main(["members", "list", "--org", ""]) == 1
    assert "organisation '' not found" in capsys.readouterr().err
    assert main(["members", "move", "13900000001", "--to", "乙村党总支"]) == 0
    assert "moved to 乙村党总支; still 书记, now of 乙村党总支" in capsys.readouterr().out
    assert main(["members", "move", "13000000000", "--to", "乙村党总支"]) == 1
    assert "no member with phone 13000000000" in capsys.readouterr().err

    assert main(["members", "unbind", "13900000012"]) == 0
    assert "was not bound" in capsys.readouterr().out
    assert main(["audit", "--org", "乙村党总支"]) == 0
    trail = capsys.readouterr().out
    assert "乙村党总支/第一党支部/第一党小组\t系统\t乙二\tmember_leave" in trail and "乙二\tmember_join" not in trail
    assert main(["audit", "--org", "甲村党总支"]) == 0
    assert "甲村党总支/第一党支部\t系统\t乙二\tmember_join" in capsys.readouterr().out
