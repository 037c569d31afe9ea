"""微课 and 答: today's micro-lesson and its quiz."""

from __future__ import annotations

from datetime import timedelta

from bot.conversation.context import Context
from bot.conversation.routing import Need, NotUnderstood, Router, Usage
from bot.life.awards import award
from bot.repo import lessons
from handlers import leave

router = Router(topic="学习")
QUIZ_CONTEXT = timedelta(hours=12)  # after a lesson (read or pushed), a bare `B` answers its quiz this long


@router.command("微课", "微党课", "今日微课", "今天的微课", "学微课", "看微课", "看看微课", "学习", loose=("学习",),
                fits=r"(?:一下|吧|了)?", click="LESSON_TODAY", need=Need.MEMBER, menu=1,
                usage=Usage("微课", "今天的微党课"))
async def today_lesson(ctx: Context) -> str:
    """Send today's lesson and remember it, so the next `答` answers its quiz."""
    lesson = ctx.content.lesson_for(ctx.now.date())
    if lesson is None:
        return ctx.render("lesson_none")
    await lessons.record_view(ctx.session, member_id=ctx.bound.id, lesson_id=lesson.id, now=ctx.now)
    return ctx.content.lesson_text(lesson.in_language(ctx.bound.language))


@router.command("答", "答题", "回答", need=Need.MEMBER, loose=("选", "答案", "我选", "选择"), fits="[a-z]",
                bare="[a-f]", usage=(Usage("答 B", "回答微党课的题目；学完微课后直接发 B 也可以"),
                       Usage("答 12 B", "回答会议补学的题目")))
async def answer_quiz(ctx: Context) -> str:
    """答 B: the first answer to the last lesson's quiz counts; a right one earns learning points once. After a
    catch-up push (or as `答 12 B`) it answers that meeting's catch-up question instead."""
    if len(ctx.args) == 2 and ctx.args[0].isdigit():
        return await leave.answer(ctx, int(ctx.args[0]), ctx.args[1].upper())
    viewed = await lessons.last_view(ctx.session, member_id=ctx.bound.id)
    if viewed and viewed[0].startswith(lessons.MAKEUP_PREFIX) and not (ctx.bare and viewed[1] < ctx.now - QUIZ_CONTEXT):
        return await leave.answer(ctx, int(viewed[0].removeprefix(lessons.MAKEUP_PREFIX)),
                                  ctx.args[0].upper() if ctx.args else "")
    lesson = ctx.content.lesson(viewed[0]) if viewed else None
    if ctx.bare and (viewed is None or viewed[1] < ctx.now - QUIZ_CONTEXT or lesson is None or lesson.quiz is None
                     or await lessons.answer_of(ctx.session, member_id=ctx.bound.id, lesson_id=lesson.id)):
        raise NotUnderstood  # a bare letter answers only a quiz just read and not yet answered
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
                         detail=f"：{lesson.title}", points=ctx.content.quiz_points(lesson)) if correct else None
    return ctx.render("quiz_result", lesson=lesson, correct=correct, points=earned.points if earned else 0,
                      capped=bool(earned and earned.capped), offset=bool(earned and earned.offset),
                      raw=earned.raw if earned else 0, cap=ctx.content.rules.policy.monthly_cap)
