"""积分: this month and this year, the yearly line, and the latest entries with reasons."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.conversation.context import Context
from bot.conversation.routing import Need, Router, Usage
from bot.life.awards import award
from bot.repo import ID_MAX, audit, conversation, members, points
from bot.repo.metrics import CORRECTION
from bot.rules.periods import year_of
from bot.rules.points import standing
from bot.storage import limits
from bot.storage.models import Member

router = Router(topic="积分")
LATEST = 5
COMMAND = "调整"  # a large correction waits for `确认`
CONFIRM_WITHIN = timedelta(minutes=10)


@router.command("积分", "我的积分", "查积分", "查询积分", "查一下积分", "查一下我的积分", "查下积分", "看看我的积分",
                "我想看看我的积分", click="MY_POINTS", need=Need.MEMBER, menu=2,
                usage=Usage("积分", "本月和全年积分"))
async def my_points(ctx: Context) -> str:
    """Show the sender's points in one message (the flag line is for secretaries, never shown here)."""
    if refusal := ctx.refuse_period("积分", "本月和今年的积分"):
        return refusal
    tz = ctx.settings.timezone
    today = ctx.now.date()
    start, end = year_of(today).bounds(tz)
    entries = _dated(await points.between(ctx.session, member_id=ctx.bound.id, start=start, end=end), tz)
    policy = ctx.content.rules.policy
    status = standing([(day, delta) for day, delta, _ in entries], today, policy)
    latest = entries[-LATEST:][::-1] or _dated(await points.latest(ctx.session, member_id=ctx.bound.id,
                                                                    limit=LATEST), tz)
    return ctx.render(
        "points",
        name=ctx.bound.name,
        standing=status,
        cap=policy.monthly_cap,
        line=policy.yearly_line,
        month=today.month,
        year=today.year,  # an entry of another year (the latest when this year has none) shows its year
        entries=latest,
    )


def _dated(entries: Sequence[points.Entry], tz: ZoneInfo) -> list[tuple[date, int, str]]:
    """(local day, delta, reason) of each ledger entry, in the same order."""
    return [(e.occurred_at.astimezone(tz).date(), e.delta, e.reason) for e in entries]


@router.command("调整", "更正", need=Need.SECRETARY,
                usage=Usage("调整 姓名 -2 理由", "更正积分（新记一笔并留痕；超过月上限的先确认）"))
async def correct(ctx: Context) -> str:
    """`调整 李秀英 -2 理由`: a correction is a new ledger entry with its reason, and goes in the audit trail.
    One larger than the monthly cap waits for `确认`."""
    if len(ctx.args) < 2 or not _signed_int(ctx.args[1]):
        return ctx.render("correction_usage")
    if len(ctx.args) < 3:
        return ctx.render("reason_missing", example=f"调整 {ctx.args[0]} {ctx.args[1]} 重复签到，更正")
    found = await members.named(ctx.session, name=ctx.args[0], org_ids=await ctx.governed())
    if len(found) != 1:
        return ctx.render("member_unknown", name=ctx.args[0], count=len(found))
    member = found[0]
    if member.id == ctx.bound.id:
        return ctx.render("correction_own")
    reason, delta = ctx.text_after(2), int(ctx.args[1])
    if refusal := ctx.refuse_long(reason, limits.REASON):
        return refusal
    if abs(delta) > ctx.content.rules.policy.monthly_cap:
        payload = json.dumps({"member": member.id, "delta": delta, "reason": reason})
        await conversation.ask_confirmation(ctx.session, member_id=ctx.bound.id, command=COMMAND, payload=payload,
                                            expires_at=ctx.now + CONFIRM_WITHIN)
        return ctx.render("correction_preview", name=member.name, delta=delta, reason=reason,
                          cap=ctx.content.rules.policy.monthly_cap)
    return await _apply(ctx, member, delta, reason)


@router.confirms(COMMAND, what="这次积分调整")
async def confirm_correction(ctx: Context, payload: str) -> str:
    """`确认` after a large correction's preview applies it."""
    asked = json.loads(payload)
    member = await ctx.still_governed(int(asked["member"]))
    if isinstance(member, str):
        return member
    return await _apply(ctx, member, int(asked["delta"]), str(asked["reason"]))


async def _apply(ctx: Context, member: Member, delta: int, reason: str) -> str:
    await award(ctx, action=CORRECTION, event_key=f"correction:{ctx.openid}:{ctx.msg.id}", member_id=member.id,
                points=delta, detail=f"：{reason}")
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=member.id, org_id=member.org_id,
                       action="points_correct",
                       subject=f"points:{member.id}", detail=f"{delta:+d}: {reason}", at=ctx.now)
    return ctx.render("correction_done", name=member.name, delta=delta, reason=reason)


def _signed_int(word: str) -> bool:
    return word.lstrip("+-").isdigit() and 0 < abs(int(word)) <= ID_MAX  # a key-sized number at most
