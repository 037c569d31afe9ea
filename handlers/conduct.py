"""扣分: a conduct deduction (驾照式扣分, seed 002 L475/L485) by the member's own secretary, previewed and confirmed.

It is a ledger entry of the action `deduction` with its reason (never a correction), counted by the `deductions`
metric (自律星), in the audit trail, and told to the member alone through the delivery ledger.
"""

from __future__ import annotations

import json
from datetime import timedelta

from bot.conversation.context import Context
from bot.conversation.grammar import without_full_stop
from bot.conversation.routing import Need, Router, Usage
from bot.life.awards import award
from bot.repo import audit, campaigns, conversation, orgs
from bot.repo.metrics import DEDUCTION
from bot.rules import deductions
from bot.storage import limits

router = Router(topic="积分")
COMMAND = "扣分"
CONFIRM_WITHIN = timedelta(minutes=10)


@router.command("扣分", need=Need.SECRETARY,
                usage=Usage("扣分 姓名 2 理由 / 扣分 姓名 理由", "驾照式扣分（计入自律星；先确认，再私下告知本人）"))
async def deduct(ctx: Context) -> str:
    """`扣分 王芳 2 理由`, `扣分 王芳 扣2分 理由` or `扣分 王芳 理由` (a reason listed in rules.toml takes its
    points); `扣分 王芳 0112 …` when two share the name. Previews the deduction; `确认` applies it."""
    rules = ctx.content.rules
    asked = deductions.parse(ctx.rest_norm)
    if asked is None:
        return _usage(ctx)
    reason = without_full_stop(ctx.typed_at(asked.reason_at))
    if not reason:
        return ctx.render("reason_missing", example=f"扣分 {asked.name} 2 无故缺席组织生活")
    if refusal := ctx.refuse_long(reason, limits.REASON):
        return refusal
    points = deductions.points_for(asked, reason, rules.deductions, rules.max_deduction)
    if points is None:
        return _usage(ctx)
    member = await ctx.governed_member(asked.name, asked.tail, example="扣分 {} 0002 2 理由")
    if isinstance(member, str):
        return member
    if member.id == ctx.bound.id:
        return ctx.render("deduction_own")
    payload = json.dumps({"member": member.id, "points": points, "reason": reason})
    await conversation.ask_confirmation(ctx.session, member_id=ctx.bound.id, command=COMMAND, payload=payload,
                                        expires_at=ctx.now + CONFIRM_WITHIN)
    return ctx.render("deduction_preview", name=member.name, org=await orgs.path_of(ctx.session, org_id=member.org_id),
                      points=points, reason=reason)


@router.confirms(COMMAND, what="这次扣分")
async def confirm_deduction(ctx: Context, payload: str) -> str:
    """`确认` after the preview: the entry, the audit row and the member's private notice, together."""
    asked = json.loads(payload)
    member = await ctx.still_governed(int(asked["member"]))
    if isinstance(member, str):
        return member
    points, reason = int(asked["points"]), str(asked["reason"])
    key = f"deduction:{ctx.openid}:{ctx.msg.id}"
    await award(ctx, action=DEDUCTION, event_key=key, member_id=member.id, points=-points, detail=f"：{reason}")
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=member.id, org_id=member.org_id,
                       action="points_deduct", subject=f"points:{member.id}", detail=f"-{points}: {reason}",
                       at=ctx.now)
    await campaigns.personal(ctx.session, key=key, kind="deduction", title="扣分通知", org_id=member.org_id,
                             bodies={member.id: ctx.render("deduction_notice", points=points, reason=reason)},
                             at=ctx.now, now=ctx.now)
    return ctx.render("deduction_done", name=member.name, points=points, reason=reason)


def _usage(ctx: Context) -> str:
    rules = ctx.content.rules
    return ctx.render("deduction_usage", most=rules.max_deduction, listed=rules.deductions)
