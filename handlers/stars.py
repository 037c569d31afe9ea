"""星级: the stars held, this quarter's progress towards each with the evidence, and the history."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.routing import Need, Router, Usage
from bot.repo import exemptions, metrics, stars
from bot.rules.periods import quarter_label, quarter_of
from bot.rules.stars import evaluate, excused

router = Router(topic="星级")
HISTORY = 6


@router.command("星级", "我的星级", "查星级", "五星", "我的星", click="MY_STARS", need=Need.MEMBER, menu=3,
                usage=Usage("星级", "五星评定进度"))
async def my_stars(ctx: Context) -> str:
    """Explain every star: held or not, this quarter's numbers, what is missing, and past grants and removals.
    A member exempt during the quarter reads their exemption (dates and reason, to them alone) instead of the
    shortfalls it excuses."""
    if refusal := ctx.refuse_period("星级", "现有的星、本季度的进度和历次摘星授星"):
        return refusal
    rules = ctx.content.rules
    quarter = quarter_of(ctx.today)
    values = await metrics.for_member(ctx.session, member_id=ctx.bound.id, period=quarter,
                                      tz=ctx.settings.timezone, monthly_cap=rules.policy.monthly_cap, life=rules.life)
    held = (await stars.held(ctx.session, member_ids=[ctx.bound.id])).get(ctx.bound.id, set())
    return ctx.render(
        "stars",
        name=ctx.bound.name,
        quarter=quarter_label(quarter.start),
        held=[s.name for s in rules.stars if s.name in held],
        stars=evaluate(rules.stars, values),
        values=values,
        requirements={s.name: s.requirements for s in rules.stars},
        metrics=rules.metrics,
        history=await stars.history(ctx.session, member_id=ctx.bound.id, limit=HISTORY),
        exemptions=await exemptions.of_member(ctx.session, member_id=ctx.bound.id, first=quarter.start,
                                              last=quarter.last_day),
        excused=excused,
        tz=ctx.settings.timezone,
        review_on=quarter.end,
    )
