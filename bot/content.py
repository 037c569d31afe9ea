"""Administrator-edited content: lessons, rules, calendar and reply templates, loaded and checked as a whole."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from bot.calendar import Calendar, parse_calendar
from bot.rules.points import PointsPolicy
from bot.rules.stars import Requirement, Star
from bot.tomlfile import TOML_LINE, ContentError
from bot.tomlfile import get as _get
from bot.tomlfile import line_of as _line_of
from bot.tomlfile import read_toml as _read_toml

__all__ = ["Content", "ContentError", "Lesson", "load_content"]

_HEADER = re.compile(r"\A\+\+\+\n(.*?)\n\+\+\+\n(.*)\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Quiz:
    question: str
    options: dict[str, str]
    answer: str
    explanation: str


@dataclass(frozen=True, slots=True)
class Lesson:
    id: str
    title: str
    body: str
    day: date | None = None
    sequence: int | None = None
    quiz: Quiz | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """A kind of deed that earns (or costs) points."""

    points: int
    label: str


@dataclass(frozen=True, slots=True)
class Metric:
    """How a star metric is named to members: `再{label}{need}{unit}`."""

    label: str
    unit: str


@dataclass(frozen=True, slots=True)
class Rules:
    policy: PointsPolicy
    actions: dict[str, Action]
    metrics: dict[str, Metric]
    stars: tuple[Star, ...]


@dataclass(frozen=True, slots=True)
class Content:
    """One consistent snapshot of everything under content/."""

    rules: Rules
    lessons: tuple[Lesson, ...]
    calendar: Calendar
    templates: jinja2.Environment = field(repr=False)

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


def load_content(root: Path) -> Content:
    """Load and check the whole content folder; the first problem raises ContentError."""
    return Content(
        rules=_rules(root / "rules.toml"),
        lessons=_lessons(root / "lessons"),
        calendar=parse_calendar(_read_toml(root / "calendar.toml"), root / "calendar.toml"),
        templates=_templates(root / "replies"),
    )


def _rules(path: Path) -> Rules:
    data = _read_toml(path)
    policy = PointsPolicy(
        monthly_cap=_get(data, path, "points", "monthly_cap", kind=int),
        yearly_line=_get(data, path, "points", "yearly_line", kind=int),
        flag_below=_get(data, path, "points", "flag_below", kind=int),
    )
    actions = {
        name: Action(_get(spec, path, "points", kind=int), _get(spec, path, "label"))
        for name, spec in _get(data, path, "actions", kind=dict).items()
    }
    metrics = {
        name: Metric(_get(spec, path, "label"), _get(spec, path, "unit"))
        for name, spec in _get(data, path, "metrics", kind=dict).items()
    }
    stars = tuple(_star(spec, path, metrics) for spec in _get(data, path, "stars", kind=list))
    return Rules(policy, actions, metrics, stars)


def _star(spec: dict[str, Any], path: Path, metrics: dict[str, Metric]) -> Star:
    name = _get(spec, path, "name")
    requirements = []
    for req in _get(spec, path, "require", kind=list):
        metric = _get(req, path, "metric")
        if metric not in metrics:
            raise ContentError(path, _line_of(path, metric), f"star {name}: unknown metric `{metric}`")
        bounds = {k: req[k] for k in ("at_least", "at_most") if k in req}
        if not bounds:
            raise ContentError(path, _line_of(path, name), f"star {name}: a requirement needs at_least or at_most")
        requirements.append(Requirement(metric, **bounds))
    return Star(name, tuple(requirements))


def _lessons(folder: Path) -> tuple[Lesson, ...]:
    lessons: list[Lesson] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.md")):
        lesson = _lesson(path)
        if lesson.id in seen:
            raise ContentError(path, _line_of(path, "id"), f"duplicate lesson id `{lesson.id}` (also {seen[lesson.id]})")
        seen[lesson.id] = path
        lessons.append(lesson)
    return tuple(lessons)


def _lesson(path: Path) -> Lesson:
    match = _HEADER.match(path.read_text(encoding="utf-8"))
    if match is None:
        raise ContentError(path, 1, "a lesson starts with a +++ TOML header +++ followed by its body")
    try:
        header = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as exc:
        line = TOML_LINE.search(str(exc))
        raise ContentError(path, int(line.group(1)) + 1 if line else 1, f"TOML syntax: {exc}") from None
    quiz = _quiz(header["quiz"], path) if "quiz" in header else None
    day = _get(header, path, "date", kind=date) if "date" in header else None
    sequence = _get(header, path, "sequence", kind=int) if "sequence" in header else None
    if day is None and sequence is None:
        raise ContentError(path, 1, "a lesson needs a `date = 2026-12-01` or a `sequence = 6` in its header")
    return Lesson(
        id=_get(header, path, "id"), title=_get(header, path, "title"), body=plain_text(match.group(2)),
        day=day, sequence=sequence, quiz=quiz,
    )


def _quiz(spec: dict[str, Any], path: Path) -> Quiz:
    options = _get(spec, path, "options", kind=dict)
    answer = _get(spec, path, "answer")
    if answer not in options:
        raise ContentError(path, _line_of(path, "answer"), f"quiz answer `{answer}` is not one of {sorted(options)}")
    return Quiz(_get(spec, path, "question"), options, answer, spec.get("explanation", ""))


def plain_text(markdown: str) -> str:
    """Markdown to the plain text WeChat shows: no heading marks, emphasis or link syntax."""
    text = re.sub(r"^#+\s*", "", markdown, flags=re.MULTILINE)
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 \2", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _templates(folder: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    for path in sorted(folder.glob("*.j2")):
        try:
            env.get_template(path.name)
        except jinja2.TemplateSyntaxError as exc:
            raise ContentError(path, exc.lineno, f"template syntax: {exc.message}") from None
    return env
