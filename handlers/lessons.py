"""微课 and 答: today's micro-lesson and its quiz."""

from __future__ import annotations

from bot.awards import award
from bot.context import Context
from bot.repo import lessons
from bot.routing import Need, Router

router = Router()


@router.command("微课", "微党课", click="LESSON_TODAY", need=Need.MEMBER)
async def today_lesson(ctx: Context) -> str:
    """Send today's lesson and remember it, so the next `答` answers its quiz."""
    lesson = ctx.content.lesson_for(ctx.now.date())
    if lesson is None:
        return ctx.render("lesson_none")
    await lessons.record_view(ctx.session, member_id=ctx.bound.id, lesson_id=lesson.id, now=ctx.now)
    return ctx.content.lesson_text(lesson.in_language(ctx.bound.language))


@router.command("答", need=Need.MEMBER)
async def answer_quiz(ctx: Context) -> str:
    """答 B: the first answer to the last lesson's quiz counts; a right one earns learning points once."""
    lesson_id = await lessons.last_viewed(ctx.session, member_id=ctx.bound.id)
    lesson = ctx.content.lesson(lesson_id) if lesson_id else None
    if lesson is None or lesson.quiz is None:
        return ctx.render("quiz_none")
    quiz = lesson.quiz
    choice = ctx.args[0].upper() if ctx.args else ""
    if choice not in quiz.options:
        return ctx.render("quiz_usage", options=sorted(quiz.options))
    correct = choice == quiz.answer
    first = await lessons.record_answer(
        ctx.session, member_id=ctx.bound.id, lesson_id=lesson.id, choice=choice, correct=correct, now=ctx.now
    )
    if not first:
        earlier = await lessons.answer_of(ctx.session, member_id=ctx.bound.id, lesson_id=lesson.id)
        return ctx.render("quiz_already", lesson=lesson, choice=earlier.choice if earlier else choice)
    earned = await award(ctx, action="quiz_correct", event_key=f"quiz:{lesson.id}:{ctx.bound.id}",
                         detail=f"：{lesson.title}", points=ctx.content.quiz_points(lesson)) if correct else 0
    return ctx.render("quiz_result", lesson=lesson, correct=correct, points=earned)
