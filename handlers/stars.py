"""星级: which stars this quarter's record earns, and exactly what each missing one still needs."""

from __future__ import annotations

from bot.context import Context
from bot.repo import metrics
from bot.routing import Need, Router
from bot.rules.periods import quarter_label, quarter_of
from bot.rules.stars import evaluate

router = Router()


@router.command("星级", "我的星级", click="MY_STARS", need=Need.MEMBER)
async def my_stars(ctx: Context) -> str:
    """Explain every star for the current quarter and when the next review is."""
    rules = ctx.content.rules
    quarter = quarter_of(ctx.now.date())
    values = await metrics.for_period(
        ctx.session, member_id=ctx.bound.id, period=quarter, tz=ctx.settings.timezone,
        monthly_cap=rules.policy.monthly_cap,
    )
    statuses = evaluate(rules.stars, values)
    return ctx.render(
        "stars",
        name=ctx.bound.name,
        quarter=quarter_label(quarter.start),
        stars=statuses,
        held=sum(s.held for s in statuses),
        metrics=rules.metrics,
        review_on=quarter.last_day,
    )
