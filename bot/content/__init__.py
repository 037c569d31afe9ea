"""Administrator-edited content: lessons, rules, calendar, menu and reply templates, loaded and checked as a whole.

`load_content` either returns one consistent snapshot or raises ContentInvalid listing every problem
as `path:line: what is wrong — how to fix it`; nothing half-loaded is ever served.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from bot.content.calendar import Calendar, parse_calendar
from bot.content.console import load_console
from bot.content.files import ContentError, ContentInvalid, Problems, read_toml
from bot.content.lessons import Lesson, load_lessons
from bot.content.makeup import Bank, load_makeup
from bot.content.menu import Menu, load_menu
from bot.content.rules import Rules, load_rules
from bot.content.templates import load_templates
from bot.message.replies import split_text

__all__ = ["Content", "ContentError", "ContentInvalid", "Lesson", "load_content"]

MAX_LESSON_MESSAGES = 4  # a member's message opens room for 5 customer-service messages; keep one spare


@dataclass(frozen=True, slots=True)
class Content:
    """One consistent snapshot of everything under content/."""

    rules: Rules
    lessons: tuple[Lesson, ...]
    calendar: Calendar
    menu: Menu
    makeup: Bank  # the catch-up questions by meeting kind
    templates: jinja2.Environment = field(repr=False)
    console: jinja2.Environment = field(repr=False)  # the web console's pages (`content/console/*.html`)

    def render(self, name: str, /, **values: Any) -> str:
        """Render `replies/<name>.j2` to the text a member reads."""
        return self.templates.get_template(f"{name}.j2").render(**values).strip()

    def lesson_for(self, day: date) -> Lesson | None:
        """The lesson dated `day`, else the sequence lesson whose turn it is."""
        dated = [lesson for lesson in self.lessons if lesson.day == day]
        if dated:
            return dated[0]
        rotation = sorted((x for x in self.lessons if x.sequence is not None), key=lambda x: x.sequence or 0)
        if not rotation:
            return None
        return rotation[(day - self.calendar.lessons_start).days % len(rotation)]

    def lesson(self, lesson_id: str) -> Lesson | None:
        return next((x for x in self.lessons if x.id == lesson_id), None)

    def quiz_points(self, lesson: Lesson) -> int:
        """What a right answer to the lesson's quiz earns: its own `points`, else the rules' default."""
        return lesson.points if lesson.points is not None else self.rules.actions["quiz_correct"].points

    def lesson_text(self, lesson: Lesson) -> str:
        """The lesson as one text, exactly as `微课` and the daily push word it."""
        return self.render("lesson", lesson=lesson, points=self.quiz_points(lesson))

    def lesson_messages(self, lesson: Lesson) -> list[str]:
        """The lesson split into the messages a member receives, each within WeChat's limit."""
        return split_text(self.lesson_text(lesson))


def load_content(root: Path) -> Content:
    """Load and check the whole content folder; any problem raises ContentInvalid listing them all."""
    problems = Problems()
    rules = load_rules(root / "rules.toml", problems)
    lessons = load_lessons(root / "lessons", problems)
    calendar = None
    with problems.collecting():
        calendar = parse_calendar(read_toml(root / "calendar.toml"), root / "calendar.toml")
    menu = load_menu(root / "menu.toml", problems)
    makeup = load_makeup(root / "makeup.toml", problems)
    templates = load_templates(root / "replies", problems)
    console = load_console(root / "console", problems)
    problems.raise_any()
    assert rules is not None and calendar is not None and menu is not None
    content = Content(rules=rules, lessons=lessons, calendar=calendar, menu=menu, makeup=makeup,
                      templates=templates, console=console)
    _check_lessons(content, problems)
    problems.raise_any()
    return content


def _check_lessons(content: Content, problems: Problems) -> None:
    """Each lesson, in each of its languages, must reach a member in a few messages."""
    for lesson in content.lessons:
        for language in ["zh", *lesson.translations]:
            with problems.collecting():
                messages = content.lesson_messages(lesson.in_language(language))
                if len(messages) > MAX_LESSON_MESSAGES:
                    problems.add(lesson.path, 1, f"the lesson ({language}) needs {len(messages)} messages",
                                 f"shorten it to fit {MAX_LESSON_MESSAGES} (about "
                                 f"{MAX_LESSON_MESSAGES * 2048 // 3} Chinese characters)")
