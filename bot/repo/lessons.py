"""Which lessons a member received and how they answered the quizzes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import insert_once, run
from bot.storage.models import LessonView, QuizAnswer

QUIZ_KINDS = ("lesson", "makeup")  # pushes whose quiz a bare or plain `答` then answers (ref: the lesson id)
MAKEUP_PREFIX = "meeting:"  # a catch-up push's ref (`meeting:12`), and what `答` then answers


async def record_view(session: AsyncSession, *, member_id: int, lesson_id: str, now: datetime) -> None:
    session.add(LessonView(member_id=member_id, lesson_id=lesson_id, at=now))


_LAST_VIEW = (select(LessonView.lesson_id, LessonView.at).where(LessonView.member_id == bindparam("member"))
              .order_by(LessonView.at.desc(), LessonView.id.desc()).limit(1))


async def last_view(session: AsyncSession, *, member_id: int) -> tuple[str, datetime] | None:
    """The lesson the member read (or was sent) last, and when: a bare `B` answers its quiz for a while."""
    row: Any = (await run(session, _LAST_VIEW, {"member": member_id})).first()
    return (row[0], row[1]) if row else None


async def record_answer(
    session: AsyncSession, *, member_id: int, lesson_id: str, choice: str, correct: bool, now: datetime
) -> bool:
    """Keep the first answer to a lesson's quiz; False when the member had already answered."""
    return await insert_once(
        session, QuizAnswer, member_id=member_id, lesson_id=lesson_id, choice=choice, correct=correct, at=now
    )


async def answer_of(session: AsyncSession, *, member_id: int, lesson_id: str) -> QuizAnswer | None:
    return await session.scalar(
        select(QuizAnswer).where(QuizAnswer.member_id == member_id, QuizAnswer.lesson_id == lesson_id)
    )



@dataclass(frozen=True, slots=True)
class Studied:
    """A lesson a member read (or was sent) and their answer to its quiz, if any."""

    lesson_id: str
    read_at: datetime | None  # the first time in the period
    choice: str | None
    correct: bool | None
    answered_at: datetime | None


async def studied(session: AsyncSession, *, member_id: int, start: datetime, end: datetime) -> list[Studied]:
    """Each lesson the member read or answered in [start, end) (catch-up pushes, `meeting:N`, are no lessons),
    the latest first."""
    views = await session.execute(
        select(LessonView.lesson_id, func.min(LessonView.at)).where(
            LessonView.member_id == member_id, LessonView.at >= start, LessonView.at < end,
            LessonView.lesson_id.not_like(f"{MAKEUP_PREFIX}%")).group_by(LessonView.lesson_id))
    read: dict[str, datetime] = {lesson_id: first for lesson_id, first in views}
    answers = {a.lesson_id: a for a in await session.scalars(select(QuizAnswer).where(
        QuizAnswer.member_id == member_id, QuizAnswer.at >= start, QuizAnswer.at < end))}
    rows = [Studied(lesson_id, read.get(lesson_id), *_answer(answers.get(lesson_id)))
            for lesson_id in read.keys() | answers.keys()]
    return sorted(rows, key=lambda row: max(at for at in (row.read_at, row.answered_at) if at), reverse=True)


def _answer(answer: QuizAnswer | None) -> tuple[str | None, bool | None, datetime | None]:
    return (answer.choice, answer.correct, answer.at) if answer else (None, None, None)
