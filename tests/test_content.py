"""Content files: the shipped set passes; each kind of broken file is refused with path:line and a fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import ContentError, ContentInvalid, load_content
from bot.ops.cli import main
from tests.conftest import ROOT


def test_the_shipped_content_passes_every_check() -> None:
    content = load_content(ROOT / "content")
    assert len(content.lessons) >= 20
    assert all(lesson.quiz for lesson in content.lessons)
    assert [s.name for s in content.rules.stars] == ["学习星", "敬业星", "效能星", "服务星", "自律星"]
    assert content.rules.policy.monthly_cap == 10 and content.rules.policy.yearly_line == 120
    assert sorted(content.calendar.theme_day.months) == list(range(1, 13))


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ROOT / "content", tmp_path / "content"))


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


LONG_BODY = "党员要按时参加组织生活，认真学习，积极服务群众。" * 150


@pytest.mark.parametrize(("file", "old", "new", "line", "message"), [
    ("lessons/003-points.md", "sequence = 3", "date = 2026-13-01", 4, "TOML syntax"),  # bad date
    ("lessons/003-points.md", "sequence = 3", 'date = "2026-12-01"', 4, "`date` must be a date like 2026-12-01"),
    ("lessons/003-points.md", "sequence = 3", 'sequence = "3"', 4, "`sequence` must be a whole number"),
    ("lessons/003-points.md", "sequence = 3", "", 1, "needs a date or a sequence number"),
    ("lessons/001-sanhui-yike.md", 'answer = "A"', 'answer = "D"', 9, "quiz answer `D` is not one of"),
    ("lessons/002-theme-day.md", 'id = "theme-day"', 'id = "sanhui-yike"', 2, "duplicate lesson id"),
    ("lessons/003-points.md", "+++\n党员积分制管理", f"+++\n{LONG_BODY}\n党员积分制管理", 1, "needs 6 messages"),
    ("replies/points.j2", "{% if standing.capped %}", "{% if standing.capped", 2, "template syntax"),
    ("replies/points.j2", "{{ standing.year }}", "{{ standing.yaer }}", 3, "does not render"),
    ("replies/bind_done.j2", "{{ name }}", "{{ nmae }}", 1, "unknown variable `nmae`"),
    ("replies/unknown.j2", "「帮助」", "「帮助」" + "请回复帮助。" * 200, 1, "over WeChat's 2048"),
    ("rules.toml", "monthly_cap = 10", "monthly_cap = ", 4, "TOML syntax"),
    ("rules.toml", "monthly_cap = 10", 'monthly_cap = "ten"', 4, "must be a whole number"),
    ("rules.toml", 'metric = "quiz_correct", at_least = 6', 'metric = "quiz_right", at_least = 6', 0,
     "unknown metric `quiz_right`"),
    ("rules.toml", 'metric = "points", at_least = 24', 'metric = "points", at_least = 40', 0,
     "效能星 cannot be earned: it needs 40 points but a quarter counts at most 30"),
    ("rules.toml", "[actions.volunteer_hour]", "[actions.volunteer_hours]", 0, "missing [actions.volunteer_hour]"),
    ("rules.toml", 'label = "积分更正"', 'label = "' + "积分更正" * 11 + '"', 0, "[actions.correction] label is 44"),
    ("calendar.toml", "day = 15", "day = 31", 0, "must be 1 to 28"),
    ("calendar.toml", 'time = "08:00"', 'time = "8 点"', 0, "must be a time like"),
    ("menu.toml", 'key = "HELP"', 'key = "HLEP"', 0, "unknown key `HLEP`"),
])
def test_a_broken_file_is_refused_with_path_line_and_how_to_fix_it(  # type: ignore[no-untyped-def]
    content_copy: Path, file, old, new, line, message
) -> None:
    _break(content_copy / file, old, new)
    with pytest.raises(ContentInvalid) as info:
        load_content(content_copy)
    [problem] = info.value.problems
    text = str(problem)
    assert text.startswith(f"{content_copy / file}:{line if line else ''}")
    assert message in text and " — " in text


def test_every_problem_is_reported_not_just_the_first(content_copy: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["content", "check", str(content_copy)]) == 0
    assert capsys.readouterr().out.endswith("lessons, 5 stars)\n")
    _break(content_copy / "lessons/001-sanhui-yike.md", 'answer = "A"', 'answer = "D"')
    _break(content_copy / "replies/bind_done.j2", "{{ name }}", "{{ nmae }}")
    _break(content_copy / "calendar.toml", "start = 2026-01-01", "start = someday")
    assert main(["content", "check", str(content_copy)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert sorted(line.split(":")[0] for line in lines) == sorted(
        str(content_copy / f) for f in ("lessons/001-sanhui-yike.md", "calendar.toml", "replies/bind_done.j2"))


def test_a_missing_template_and_a_stray_one_are_named(content_copy: Path) -> None:
    (content_copy / "replies/welcome.j2").rename(content_copy / "replies/welcom.j2")
    with pytest.raises(ContentError) as info:
        load_content(content_copy)
    assert "welcome.j2:0: reply template is missing" in str(info.value)
    assert "welcom.j2:1: the bot never sends a reply named `welcom`" in str(info.value)


def test_a_broken_or_missing_console_page_is_refused_with_its_line(content_copy: Path) -> None:
    page = content_copy / "console/audit.html"
    lines = page.read_text(encoding="utf-8").splitlines()
    lines[11] += " {% if total %}"  # never closed
    page.write_text("\n".join(lines), encoding="utf-8")
    (content_copy / "console/error.html").unlink()
    with pytest.raises(ContentError) as info:
        load_content(content_copy)
    assert f"{page}:" in str(info.value) and "template syntax" in str(info.value)
    assert "console/error.html:0: console page is missing" in str(info.value)
