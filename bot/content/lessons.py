"""`content/lessons/*.md`: a `+++` TOML header (id, title, date or sequence, audience, quiz…) and a Markdown body."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from bot.content.files import TOML_LINE, ContentError, Problems, get, line_of

HEADER = re.compile(r"\A\+\+\+\n(.*?)\n\+\+\+\n(.*)\Z", re.DOTALL)
TITLE_LIMIT = 64  # characters: WeChat cuts longer article titles
AUDIENCES = ("all", "在职", "流动", "离退休")  # or the name of an organisation
KNOWN_KEYS = {"id", "title", "date", "sequence", "audience", "points", "image", "link", "quiz", "translations"}


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
    audience: str = "all"
    points: int | None = None  # the quiz's points, when not the rules' default
    image: str = ""
    link: str = ""
    translations: dict[str, tuple[str, str]] = field(default_factory=dict)  # language -> (title, body)
    path: Path = Path()

    def in_language(self, language: str) -> Lesson:
        """The lesson as a member reading `language` gets it (the original when there is no translation)."""
        if language not in self.translations:
            return self
        title, body = self.translations[language]
        return replace(self, title=title, body=body)


def load_lessons(folder: Path, problems: Problems) -> tuple[Lesson, ...]:
    """Every lesson that parses; problems (including duplicate ids) are collected, not raised."""
    lessons: list[Lesson] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.md")):
        with problems.collecting():
            lesson = parse_lesson(path)
            if lesson.id in seen:
                raise ContentError(path, line_of(path, "id"), f"duplicate lesson id `{lesson.id}` (also {seen[lesson.id]})",
                                   "give each lesson its own id")
            seen[lesson.id] = path
            lessons.append(lesson)
    return tuple(lessons)


def parse_lesson(path: Path) -> Lesson:
    match = HEADER.match(path.read_text(encoding="utf-8"))
    if match is None:
        raise ContentError(path, 1, "a lesson starts with a TOML header between two `+++` lines",
                           "copy the first lines of another lesson")
    try:
        header = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as exc:
        line = TOML_LINE.search(str(exc))
        raise ContentError(path, int(line.group(1)) + 1 if line else 1, f"TOML syntax: {exc}",
                           "check quotes, brackets and `=` on that line") from None
    unknown = sorted(set(header) - KNOWN_KEYS)
    if unknown:
        raise ContentError(path, line_of(path, unknown[0]), f"unknown header key `{unknown[0]}`",
                           f"use one of {', '.join(sorted(KNOWN_KEYS))}")
    day = get(header, path, "date", kind=date) if "date" in header else None
    sequence = get(header, path, "sequence", kind=int) if "sequence" in header else None
    if day is None and sequence is None:
        raise ContentError(path, 1, "a lesson needs a date or a sequence number",
                           "add `date = 2026-12-01` or `sequence = 6` to the header")
    title = get(header, path, "title")
    if len(title) > TITLE_LIMIT:
        raise ContentError(path, line_of(path, "title"), f"the title has {len(title)} characters",
                           f"keep it to {TITLE_LIMIT}")
    return Lesson(
        id=get(header, path, "id"), title=title, body=plain_text(match.group(2)), day=day, sequence=sequence,
        quiz=parse_quiz(header["quiz"], path) if "quiz" in header else None,
        audience=get(header, path, "audience") if "audience" in header else "all",
        points=get(header, path, "points", kind=int) if "points" in header else None,
        image=_url(header, path, "image"), link=_url(header, path, "link"),
        translations=_translations(header.get("translations", {}), path), path=path,
    )


def parse_quiz(spec: dict[str, Any], path: Path) -> Quiz:
    options = get(spec, path, "options", kind=dict)
    answer = get(spec, path, "answer")
    if answer not in options:
        raise ContentError(path, line_of(path, "answer"), f"quiz answer `{answer}` is not one of {sorted(options)}",
                           "make `answer` the letter of the right option")
    bad = [key for key in options if not re.fullmatch(r"[A-F]", key)]
    if bad:
        raise ContentError(path, line_of(path, "options"), f"quiz option `{bad[0]}` is not a letter A to F",
                           "name the options A, B, C…")
    return Quiz(get(spec, path, "question"), options, answer, spec.get("explanation", ""))


def _url(header: dict[str, Any], path: Path, key: str) -> str:
    value = str(get(header, path, key)) if key in header else ""
    if value and not value.startswith(("https://", "http://")):
        raise ContentError(path, line_of(path, key), f"`{key}` must be a web address", "start it with https://")
    return value


def _translations(spec: dict[str, Any], path: Path) -> dict[str, tuple[str, str]]:
    """[translations.bo] title = "…", body = '''…''': the lesson in another language (Tibetan here)."""
    return {language: (get(spec, path, language, "title"), plain_text(get(spec, path, language, "body")))
            for language in spec}


def plain_text(markdown: str) -> str:
    """Markdown to the plain text WeChat shows: no heading marks, emphasis or link syntax."""
    text = re.sub(r"^#+\s*", "", markdown, flags=re.MULTILINE)
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 \2", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
