"""Which lessons a member received and how they answered the quizzes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import LessonView, QuizAnswer
from bot.repo import insert_once

QUIZ_KINDS = ("lesson", "makeup")  # pushes whose quiz a bare or plain `答` then answers (ref: the lesson id)


async def record_view(session: AsyncSession, *, member_id: int, lesson_id: str, now: datetime) -> None:
    session.add(LessonView(member_id=member_id, lesson_id=lesson_id, at=now))


async def last_view(session: AsyncSession, *, member_id: int) -> tuple[str, datetime] | None:
    """The lesson the member read (or was sent) last, and when: a bare `B` answers its quiz for a while."""
    row = (await session.execute(
        select(LessonView.lesson_id, LessonView.at).where(LessonView.member_id == member_id)
        .order_by(LessonView.at.desc(), LessonView.id.desc()).limit(1))).first()
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

