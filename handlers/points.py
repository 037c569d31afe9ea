"""积分: this month and this year, the yearly line, and the latest entries with reasons."""

from __future__ import annotations

from bot.context import Context
from bot.repo import points
from bot.routing import Need, Router
from bot.rules.periods import year_of
from bot.rules.points import standing

router = Router()
LATEST = 5


@router.command("积分", "我的积分", click="MY_POINTS", need=Need.MEMBER)
async def my_points(ctx: Context) -> str:
    """Show the sender's points in one message (the flag line is for secretaries, never shown here)."""
    tz = ctx.settings.timezone
    today = ctx.now.date()
    start, end = year_of(today).bounds(tz)
    entries = await points.between(ctx.session, member_id=ctx.bound.id, start=start, end=end)
    policy = ctx.content.rules.policy
    status = standing([(e.occurred_at.astimezone(tz).date(), e.delta) for e in entries], today, policy)
    latest = entries[-LATEST:][::-1] or await points.latest(ctx.session, member_id=ctx.bound.id, limit=LATEST)
    return ctx.render(
        "points",
        name=ctx.bound.name,
        standing=status,
        cap=policy.monthly_cap,
        line=policy.yearly_line,
        month=today.month,
        entries=[(e.occurred_at.astimezone(tz).date(), e.delta, e.reason) for e in latest],
    )
