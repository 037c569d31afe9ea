"""评星: a secretary reviews the quarter's star proposals, overrules any with a reason, and confirms them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.conversation.context import Context, Outcome
from bot.conversation.routing import Need, Router, Usage
from bot.life import star_review
from bot.life.star_review import GRANT, REMOVE
from bot.repo import audit, conversation, members, stars
from bot.storage import limits
from bot.storage.models import StarReview

router = Router(topic="星级")
SHOWN = 20  # proposals listed in one reply (it must fit in one message); the rest are counted
COMMAND = "评星"  # after the list, a bare `确认` confirms the review
CONFIRM_WITHIN = timedelta(minutes=30)


@router.command("评星", "摘星授星", need=Need.SECRETARY, usage=(
    Usage("评星", "季度摘星授星建议"),
    Usage("评星 改 12 理由 / 评星 授 姓名 星名 理由 / 评星 摘 姓名 星名 理由", "调整一条建议，须写明理由"),
    Usage("评星 确认", "确认评星，党员随后收到结果")))
async def review(ctx: Context) -> str:
    """`评星` lists; `评星 改 N 理由`, `评星 授|摘 姓名 星 理由` overrule; `评星 确认` confirms."""
    pending = await stars.pending_reviews(ctx.session, org_ids=await ctx.governed())
    if not pending:
        return ctx.render("review_none")
    verb = ctx.args[0] if ctx.args else ""
    if verb == "确认":
        await conversation.take_confirmation(ctx.session, member_id=ctx.bound.id, command=COMMAND)
        return await confirm_pending(ctx, pending)
    if verb == "改":
        return await _flip(ctx, pending)
    if verb in (GRANT, REMOVE):
        return await _set(ctx, pending, hold=verb == GRANT)
    if verb:
        return ctx.render("review_usage")
    listed = await star_review.listing(ctx.session, review_ids=[r.id for r in pending])
    await conversation.ask_confirmation(ctx.session, member_id=ctx.bound.id, command=COMMAND, payload="",
                                        expires_at=ctx.now + CONFIRM_WITHIN)
    return ctx.render("review_list", quarters=sorted({r.quarter for r in pending}), proposals=listed[:SHOWN],
                      total=len(listed), overruled=sum(p.overruled for p in listed))


@router.confirms(COMMAND, what="评星确认")
async def confirm(ctx: Context, payload: str) -> str:
    """A bare `确认` after the list: the same as `评星 确认`."""
    pending = await stars.pending_reviews(ctx.session, org_ids=await ctx.governed())
    return await confirm_pending(ctx, pending) if pending else ctx.render("review_none")


async def _flip(ctx: Context, pending: Sequence[StarReview]) -> str:
    """`评星 改 12 理由`."""
    if len(ctx.args) < 2 or not ctx.args[1].isdigit():
        return ctx.render("review_usage")
    return (await flip(ctx, pending, int(ctx.args[1]), ctx.text_after(2))).reply


async def flip(ctx: Context, pending: Sequence[StarReview], proposal_id: int, reason: str) -> Outcome:
    """Overrule proposal `proposal_id` of the `pending` reviews (the sender's, `stars.pending_reviews`) with a
    reason: confirming will do the opposite of what it proposes. Refused (done False) without a reason, with one
    over `limits.REASON`, for a proposal not among `pending`, or for the sender's own star; else recorded in the
    proposal and the audit trail (`star_overrule`), and nobody is told until the review is confirmed."""
    if not reason.strip():
        return Outcome(False, ctx.render("reason_missing", example=f"评星 改 {proposal_id} 理由"))
    found = await stars.proposal(ctx.session, proposal_id=proposal_id)
    if found is None or found.review_id not in {r.id for r in pending}:
        return Outcome(False, ctx.render("review_not_found", id=proposal_id))
    review = next(r for r in pending if r.id == found.review_id)
    return await _overrule(ctx, review, found.member_id, found.star, not found.decision, reason)


async def _set(ctx: Context, pending: Sequence[StarReview], *, hold: bool) -> str:
    """`评星 授 李秀英 服务星 理由`: decide one member's star whatever the rules proposed."""
    if len(ctx.args) < 3 or ctx.content.rules.star(ctx.args[2]) is None:
        return ctx.render("review_usage")
    if len(ctx.args) < 4:
        return ctx.render("reason_missing", example=f"评星 {ctx.args[0]} {ctx.args[1]} {ctx.args[2]} 理由")
    by_org = {r.org_id: r for r in pending}
    found = await members.named(ctx.session, name=ctx.args[1], org_ids=list(by_org))  # those under review
    if len(found) != 1:
        return ctx.render("member_unknown", name=ctx.args[1], count=len(found))
    star, member = ctx.args[2], found[0]
    held_now = star in (await stars.held(ctx.session, member_ids=[member.id])).get(member.id, set())
    if held_now == hold:
        return ctx.render("review_no_change", name=member.name, star=star, held=held_now)
    return (await _overrule(ctx, by_org[member.org_id], member.id, star, hold, ctx.text_after(3))).reply


async def _overrule(ctx: Context, review: StarReview, member_id: int, star: str, hold: bool, reason: str) -> Outcome:
    if member_id == ctx.bound.id:
        return Outcome(False, ctx.render("review_own"))
    if refusal := ctx.refuse_long(reason, limits.REASON):
        return Outcome(False, refusal)
    held_now = star in (await stars.held(ctx.session, member_ids=[member_id])).get(member_id, set())
    await stars.decide(ctx.session, review_id=review.id, member_id=member_id, star=star, hold=hold,
                       held_now=held_now, reason=reason, by=ctx.bound.id)
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=member_id, org_id=review.org_id,
                       action="star_overrule",
                       subject=f"star:{star}", detail=f"{'定为有此星' if hold else '定为无此星'}：{reason}", at=ctx.now)
    name = await members.name_of(ctx.session, member_id=member_id)
    return Outcome(True, ctx.render("review_changed", name=name, star=star, hold=hold, reason=reason))


async def confirm_pending(ctx: Context, pending: Sequence[StarReview]) -> str:
    """Apply the `pending` reviews (the sender's, `stars.pending_reviews`): each member whose stars change is
    told what and why (a personal push per member), and each review gets a `star_confirm` audit row; the reply
    saying how many were told. A review someone else confirmed first is skipped."""
    told = 0
    for found in pending:
        told += await star_review.confirm(ctx.session, content=ctx.content, review=found, by=ctx.bound.id, now=ctx.now)
    return ctx.render("review_confirmed", quarters=sorted({r.quarter for r in pending}), told=told)
