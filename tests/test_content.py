"""Content files: the shipped set loads; a broken file is refused with path:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.content import ContentError, load_content
from tests.conftest import ROOT


def test_the_shipped_content_loads() -> None:
    content = load_content(ROOT / "content")
    assert len(content.lessons) >= 5
    assert [s.name for s in content.rules.stars] == ["学习星", "敬业星", "效能星", "服务星", "自律星"]
    assert content.rules.policy.monthly_cap == 10 and content.rules.policy.yearly_line == 120


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ROOT / "content", tmp_path / "content"))


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("file", "old", "new", "line", "message"), [
    ("rules.toml", "monthly_cap = 10", "monthly_cap = ", 4, "TOML syntax"),
    ("rules.toml", "monthly_cap = 10", 'monthly_cap = "ten"', 4, "must be a whole number"),
    ("rules.toml", 'metric = "quiz_correct", at_least = 6', 'metric = "quiz_right", at_least = 6', 0,
     "unknown metric `quiz_right`"),
    ("lessons/001-sanhui-yike.md", 'answer = "A"', 'answer = "D"', 9, "quiz answer `D` is not one of"),
    ("lessons/002-theme-day.md", 'id = "theme-day"', 'id = "sanhui-yike"', 2, "duplicate lesson id"),
    ("lessons/003-points.md", "sequence = 3", 'date = "2026-12-01"', 4, "`date` must be a date like 2026-12-01"),
    ("lessons/003-points.md", "sequence = 3", 'sequence = "3"', 4, "`sequence` must be a whole number"),
    ("lessons/004-five-stars.md", "sequence = 4", "", 1, "needs a `date = 2026-12-01` or a `sequence = 6`"),
    ("replies/points.j2", "{% if standing.capped %}", "{% if standing.capped", 2, "template syntax"),
])
def test_a_broken_file_is_refused_with_path_and_line(  # type: ignore[no-untyped-def]
    content_copy: Path, file, old, new, line, message
) -> None:
    _break(content_copy / file, old, new)
    with pytest.raises(ContentError) as info:
        load_content(content_copy)
    text = str(info.value)
    assert text.startswith(f"{content_copy / file}:")
    assert message in text
    if line:
        assert text.startswith(f"{content_copy / file}:{line}:")


def test_content_check_command_exits_1_on_a_broken_file(content_copy: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["content", "check", str(content_copy)]) == 0
    _break(content_copy / "calendar.toml", "start = 2026-01-01", "start = someday")
    assert main(["content", "check", str(content_copy)]) == 1
    assert f"{content_copy / 'calendar.toml'}:" in capsys.readouterr().out
