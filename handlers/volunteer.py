"""Volunteer service: members record it (志愿, a photo, 我的志愿); secretaries decide (审核, 通过, 驳回)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from bot.conversation.context import Context
from bot.conversation.routing import Need, Router, Usage
from bot.life.awards import Earned, award, counted
from bot.repo import audit, campaigns, members, volunteer
from bot.rules.periods import year_of
from bot.rules.volunteer import hours_of, parse_claim, points_for, same_service
from bot.storage import limits
from bot.storage.models import ClaimStatus, VolunteerClaim

router = Router(topic="志愿")
PHOTO_MINUTES = 10  # a photo sent this soon after `志愿` is attached to that claim
ACTION = "volunteer_hour"
_JOINS = re.compile(r"[号和及与跟]+")  # what people put after or between claim numbers (`8号和9号`)


@router.command("志愿", "志愿服务", need=Need.MEMBER,
                usage=Usage("志愿 2 社区环境整治", "记录志愿服务（小时、内容），随后可发照片"))
async def record(ctx: Context) -> str:
    """`志愿 2 社区环境整治`: a pending claim, numbered, for the secretary to confirm; the same claim again on the same
    day, while the first still waits, is not a second one (the field trial: members resend)."""
    claim = parse_claim(ctx.rest)
    if claim is None:
        return ctx.render("volunteer_usage")
    if refusal := ctx.refuse_long(claim.description, limits.DESCRIPTION):
        return refusal
    today = datetime.combine(ctx.now.date(), time(), ctx.settings.timezone)  # local midnight
    waiting = await volunteer.pending_of(ctx.session, member_id=ctx.bound.id, minutes=claim.minutes, since=today)
    again = next(((number, said) for number, said in waiting if same_service(said, claim.description)), None)
    if again is not None:  # sent again, as members do when the first reply seemed slow: it must not count twice
        return ctx.render("volunteer_again", id=again[0], hours=hours_of(claim.minutes), description=again[1])
    claim_id = await volunteer.create(ctx.session, member_id=ctx.bound.id, org_id=ctx.bound.org_id,
                                      minutes=claim.minutes, description=claim.description, now=ctx.now)
    return ctx.render("volunteer_recorded", id=claim_id, hours=hours_of(claim.minutes),
                      description=claim.description, minutes=PHOTO_MINUTES)


async def photo(ctx: Context) -> str:
    """A photo right after `志愿` is the evidence of the sender's newest claim in the window; the reply says which
    (a second photo replaces the first)."""
    claim = await volunteer.attach_photo(ctx.session, member_id=ctx.bound.id,
                                         since=ctx.now - timedelta(minutes=PHOTO_MINUTES),
                                         media_id=str(ctx.msg.media_id), url=str(ctx.msg.image or ""))
    return ctx.render("volunteer_photo", id=claim.id if claim else None, minutes=PHOTO_MINUTES,
                      description=claim.description if claim else "", replaced=bool(claim and claim.photo_media_id))


@router.command("我的志愿", need=Need.MEMBER, menu=5, usage=Usage("我的志愿", "今年的志愿服务记录"))
async def mine(ctx: Context) -> str:
    """This year's claims with their state, and the confirmed hours."""
    start, end = year_of(ctx.now.date()).bounds(ctx.settings.timezone)
    claims = await volunteer.of_member(ctx.session, member_id=ctx.bound.id, since=start)
    confirmed = await volunteer.confirmed_minutes(ctx.session, member_id=ctx.bound.id, start=start, end=end)
    return ctx.render("volunteer_mine", claims=claims, confirmed=hours_of(confirmed), year=ctx.now.year,
                      tz=ctx.settings.timezone)


@router.command("审核", need=Need.SECRETARY, usage=Usage("审核", "待审核的志愿服务"))
async def pending(ctx: Context) -> str:
    total, rows = await volunteer.pending(ctx.session, org_ids=await ctx.governed())
    return ctx.render("volunteer_pending", total=total, claims=rows)


@router.command("通过", "批准", need=Need.SECRETARY, usage=Usage("通过 12 / 通过 12 13 14", "确认志愿服务记录（可一次写多个编号）"))
async def approve_command(ctx: Context) -> str:
    """`通过 12 13`: confirm each claim; its hours become points (once, however many secretaries press at once)."""
    numbers, _ = _numbers(ctx)
    if not numbers:
        return ctx.render("volunteer_decide_usage")
    return await approve_all(ctx, numbers)


@router.command("驳回", need=Need.SECRETARY, usage=Usage("驳回 12 理由 / 驳回 12 13 理由", "驳回志愿服务记录，须写明理由"))
async def reject_command(ctx: Context) -> str:
    """`驳回 12 13 理由`: each claim earns nothing and its member is told why."""
    numbers, used = _numbers(ctx)
    if not numbers:
        return ctx.render("volunteer_decide_usage")
    reason = ctx.text_after(used)
    if not reason:
        return ctx.render("volunteer_reject_usage")
    if refusal := ctx.refuse_long(reason, limits.REASON):
        return refusal
    return await reject_all(ctx, numbers, reason)


def _numbers(ctx: Context) -> tuple[list[str], int]:
    """The claim numbers the command starts with (`通过 9 10 11`, `通过 9、10、11`, `通过8号，9号。`,
    `通过 10 和 11`), and how many words they took (the reason of `驳回` follows them)."""
    found: list[str] = []
    used = 0
    for word in ctx.args:
        if word.isdigit():
            found.append(word)
        elif not (found and _JOINS.fullmatch(word)):
            break
        used += 1
    return found, used


async def approve_all(ctx: Context, numbers: Sequence[str]) -> str:
    """`通过 12 13` in chat and the console's 通过: each claim approved in turn (`approve`); the reply says how each
    went (one number's outcome as it is; several, each on its line after its number)."""
    return _each(ctx, numbers, [await approve(ctx, n) for n in numbers])


async def reject_all(ctx: Context, numbers: Sequence[str], reason: str) -> str:
    """`驳回 12 13 理由` in chat and the console's 驳回: each claim rejected with `reason` (already checked: given,
    within limits.REASON); the reply as `approve_all`'s."""
    return _each(ctx, numbers, [await reject(ctx, n, reason) for n in numbers])


def _each(ctx: Context, numbers: Sequence[str], outcomes: list[str]) -> str:
    if len(outcomes) == 1:
        return outcomes[0]
    return ctx.render("volunteer_batch", outcomes=list(zip(numbers, outcomes, strict=True)))


async def approve(ctx: Context, number: str) -> str:
    """Approve claim `number` (digits) as the sender: the ledger entry, the audit row and the member's push, in
    the sender's transaction; the reply saying so, or why not (`decidable`)."""
    claim = await decidable(ctx, number)
    if isinstance(claim, str):
        return claim
    if not await volunteer.decide(ctx.session, claim_id=claim.id, status=ClaimStatus.APPROVED, by=ctx.bound.id,
                                  at=ctx.now):
        return ctx.render("volunteer_decided", id=claim.id)
    earned = await award(ctx, action=ACTION, event_key=f"volunteer:{claim.id}", member_id=claim.member_id,
                         points=points_for(claim.minutes, ctx.content.rules.actions[ACTION].points),
                         detail=f"：{claim.description}")
    await _settle(ctx, claim, approved=True, earned=earned, reason="")
    name = await members.name_of(ctx.session, member_id=claim.member_id)
    return ctx.render("volunteer_approved", id=claim.id, name=name, hours=hours_of(claim.minutes),
                      counted=counted(ctx, earned))


async def reject(ctx: Context, number: str, reason: str) -> str:
    """Reject claim `number` (digits) with `reason`: the audit row and the member's push; the reply as `approve`'s."""
    claim = await decidable(ctx, number)
    if isinstance(claim, str):
        return claim
    if not await volunteer.decide(ctx.session, claim_id=claim.id, status=ClaimStatus.REJECTED, by=ctx.bound.id,
                                  at=ctx.now, reason=reason):
        return ctx.render("volunteer_decided", id=claim.id)
    await _settle(ctx, claim, approved=False, earned=None, reason=reason)
    return ctx.render("volunteer_rejected", id=claim.id, reason=reason)


async def decidable(ctx: Context, number: str) -> VolunteerClaim | str:
    """The claim `通过 12` / `驳回 12` names, or the reply refusing it (unknown, another branch's, one's own,
    decided already)."""
    claim = await volunteer.get(ctx.session, claim_id=int(number))
    if claim is None or claim.org_id not in await ctx.governed():
        return ctx.render("volunteer_not_found", id=number)
    if claim.member_id == ctx.bound.id:
        return ctx.render("volunteer_own")
    if claim.status != ClaimStatus.PENDING:
        return ctx.render("volunteer_decided", id=claim.id)
    return claim


async def _settle(ctx: Context, claim: VolunteerClaim, *, approved: bool, earned: Earned | None,
                  reason: str) -> None:
    """The decision's audit entry and the member's message, in the decision's transaction (`earned`: what the
    approval counted; None when rejected)."""
    hours = hours_of(claim.minutes)
    points = earned.points if earned else 0
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=claim.member_id, org_id=claim.org_id,
                       action="volunteer_approve" if approved else "volunteer_reject", subject=f"volunteer:{claim.id}",
                       detail=f"{hours:g} 小时 {claim.description}，计 {points} 分" if approved else f"{hours:g} 小时，驳回：{reason}",
                       at=ctx.now)
    body = ctx.render("volunteer_result", id=claim.id, approved=approved, hours=hours, description=claim.description,
                      counted=counted(ctx, earned) if earned else "", reason=reason)
    await campaigns.personal(ctx.session, key=f"volunteer:{claim.id}", kind="volunteer", title="志愿服务审核结果",
                             bodies={claim.member_id: body}, at=ctx.now, now=ctx.now)
