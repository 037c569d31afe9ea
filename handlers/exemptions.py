"""豁免: a member excused for a time (illness, 转场 herding, age) by their own secretary, audited; listed, and ended
early with `取消豁免`.

While an exemption covers a day, the member is left out of 待关注 and a meeting that day counts as exempt (never
absent). A member exempt on any day of a quarter keeps the stars only unmet requirements stand against at its
review, and `星级` says so (`bot.rules.stars.changes`).
"""

from __future__ import annotations

from datetime import timedelta

from bot.conversation.context import Context
from bot.conversation.grammar import without_full_stop
from bot.conversation.routing import Need, Router, Usage
from bot.repo import exemptions, meetings
from bot.rules.exemptions import parse
from bot.rules.periods import Period
from bot.storage import limits
from bot.storage.models import Member

router = Router(topic="星级")


@router.command("豁免", need=Need.SECRETARY, usage=[
    Usage("豁免 姓名 12月1日 2月28日 理由", "因病、转场放牧、年老等豁免一段时间（不计缺席、不列待关注、评星不计做不到的要求）"),
    Usage("豁免", "本组织正在豁免和将要豁免的党员")])
async def exempt(ctx: Context) -> str:
    """`豁免 王芳 12月1日 2月28日 转场放牧` (dates also as 2026-12-01 or 12.1; `王芳 0112` when two share the name);
    `豁免` alone lists the exemptions of the sender's organisations that have not ended."""
    if not ctx.args:
        listed = await exemptions.not_over(ctx.session, org_ids=await ctx.governed(), today=ctx.today)
        return ctx.render("exemption_list", exemptions=listed, today=ctx.today)
    asked = parse(ctx.rest_norm, ctx.today)
    if asked is None:
        return ctx.render("exemption_usage")
    reason = without_full_stop(ctx.typed_at(asked.reason_at))
    if not reason:
        return ctx.render("reason_missing", example=f"豁免 {asked.name} 12月1日 2月28日 转场放牧")
    if refusal := ctx.refuse_long(reason, limits.REASON):
        return refusal
    if asked.ends_on < max(asked.starts_on, ctx.today):
        return ctx.render("exemption_dates", starts_on=asked.starts_on, ends_on=asked.ends_on)
    member = await _governed(ctx, asked.name, asked.tail)
    if isinstance(member, str):
        return member
    clash = await exemptions.of_member(ctx.session, member_id=member.id, first=asked.starts_on, last=asked.ends_on)
    if clash:
        return ctx.render("exemption_overlap", name=member.name, exemption=clash[0])
    await exemptions.add(ctx.session, member=member, starts_on=asked.starts_on, ends_on=asked.ends_on, reason=reason,
                         by=ctx.bound.id, now=ctx.now)
    start, end = Period(asked.starts_on, asked.ends_on + timedelta(days=1)).bounds(ctx.settings.timezone)
    excused = await meetings.excuse(ctx.session, member_id=member.id, start=start, end=end)  # meetings already held
    return ctx.render("exemption_done", name=member.name, starts_on=asked.starts_on, ends_on=asked.ends_on,
                      reason=reason, excused=excused)


@router.command("取消豁免", "结束豁免", need=Need.SECRETARY,
                usage=Usage("取消豁免 姓名", "提前结束豁免（从今天起恢复正常）"))
async def end_exemption(ctx: Context) -> str:
    """`取消豁免 王芳` (`王芳 0112` when two share the name): an exemption under way ends yesterday, one still to
    come is dropped; audited."""
    if not 1 <= len(ctx.args) <= 2:
        return ctx.render("exemption_usage")
    member = await _governed(ctx, ctx.args[0], ctx.args[1] if len(ctx.args) == 2 else "")
    if isinstance(member, str):
        return member
    ended = await exemptions.end(ctx.session, member=member, today=ctx.today, by=ctx.bound.id, now=ctx.now)
    return ctx.render("exemption_ended", name=member.name, ended=ended)


async def _governed(ctx: Context, name: str, tail: str) -> Member | str:
    """The member of the sender's organisations, or the reply refusing: none, several, or the sender."""
    member = await ctx.governed_member(name, tail, example="豁免 {} 0002 12月1日 2月28日 理由")
    if isinstance(member, Member) and member.id == ctx.bound.id:
        return ctx.render("exemption_own")
    return member
