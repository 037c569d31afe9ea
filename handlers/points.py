"""积分: this month and this year, the yearly line, and the latest entries with reasons."""

from __future__ import annotations

from bot import limits
from bot.awards import award
from bot.context import Context
from bot.repo import audit, members, points
from bot.repo.metrics import CORRECTION
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


@router.command("调整", need=Need.SECRETARY)
async def correct(ctx: Context) -> str:
    """`调整 李秀英 -2 理由`: a correction is a new ledger entry with its reason, and goes in the audit trail."""
    if len(ctx.args) < 3 or not _signed_int(ctx.args[1]):
        return ctx.render("correction_usage")
    found = await members.named(ctx.session, name=ctx.args[0], org_ids=await ctx.governed())
    if len(found) != 1:
        return ctx.render("member_unknown", name=ctx.args[0], count=len(found))
    member = found[0]
    if member.id == ctx.bound.id:
        return ctx.render("correction_own")
    reason, delta = ctx.text_after(2), int(ctx.args[1])
    if refusal := ctx.refuse_long(reason, limits.REASON):
        return refusal
    await award(ctx, action=CORRECTION, event_key=f"correction:{ctx.openid}:{ctx.msg.id}", member_id=member.id,
                points=delta, detail=f"：{reason}")
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=member.id, org_id=member.org_id,
                       action="points_correct",
                       subject=f"points:{member.id}", detail=f"{delta:+d}: {reason}", at=ctx.now)
    return ctx.render("correction_done", name=member.name, delta=delta, reason=reason)


def _signed_int(word: str) -> bool:
    return word.lstrip("+-").isdigit() and int(word) != 0
