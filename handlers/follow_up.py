"""待关注: the secretary's private follow-up list (points under the line, years running, few stars)."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.routing import Need, Router, Usage
from bot.life.follow_up import assess

router = Router(topic="积分")


@router.command("待关注", need=Need.SECRETARY, usage=Usage("待关注", "需要关心帮助的党员（仅书记可见）"))
async def follow_up_list(ctx: Context) -> str:
    rules = ctx.content.rules
    flagged = [f for f in await assess(ctx.session, rules=rules, tz=ctx.settings.timezone,
                                       org_ids=await ctx.governed(), today=ctx.now.date()) if f.listed()]
    return ctx.render("follow_up", members=flagged, line=rules.policy.flag_below,
                      years=rules.policy.follow_up_years, low=rules.review.low_star_max)
