"""`content/makeup.toml`: the catch-up (补学) questions, a small bank per meeting kind.

An absentee's catch-up push asks one question of its meeting's kind; a right `答` records 补学.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.content.files import ContentError, Problems, get, line_of, read_toml
from bot.content.lessons import Quiz, parse_quiz
from bot.storage.models import MeetingKind

Bank = dict[str, tuple[Quiz, ...]]


def load_makeup(path: Path, problems: Problems) -> Bank:
    """Each meeting kind's questions; every kind needs at least one."""
    bank: dict[str, list[Quiz]] = {kind.value: [] for kind in MeetingKind}
    with problems.collecting():
        for spec in get(read_toml(path), path, "question", kind=list):
            with problems.collecting():
                kind, quiz = _question(spec, path)
                bank[kind].append(quiz)
        for kind in (k for k, questions in bank.items() if not questions):
            problems.add(path, 1, f"no catch-up question for {kind}",
                         f'add a [[question]] with kind = "{kind}"')
    return {kind: tuple(questions) for kind, questions in bank.items()}


def _question(spec: Any, path: Path) -> tuple[str, Quiz]:
    if not isinstance(spec, dict):
        raise ContentError(path, line_of(path, "[[question]]"), "a question must be a table",
                           "write it as [[question]] with kind, question, options and answer")
    kind = get(spec, path, "kind")
    if kind not in {k.value for k in MeetingKind}:
        raise ContentError(path, line_of(path, f'"{kind}"'), f"unknown meeting kind `{kind}`",
                           f"use one of {', '.join(k.value for k in MeetingKind)}")
    return kind, parse_quiz(spec, path)
