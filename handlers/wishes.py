"""微心愿: secretaries post residents' wishes; members claim (认领) and fulfil (完成) them; 验收 accepts."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.dispatch import SECRETARY_ROLES
from bot.conversation.routing import Need, Router, Usage
from bot.life.awards import award, counted
from bot.repo import audit, campaigns, orgs, wishes
from bot.rules.wishes import leaks_private, parse_wish
from bot.storage import limits
from bot.storage.models import Wish, WishStatus

router = Router(topic="志愿")
W = WishStatus


@router.command("心愿", "微心愿", need=Need.MEMBER, menu=6, usage=(
    Usage("心愿", "本支部的微心愿"),
    Usage("心愿 内容 居民姓名 联系电话", "发布居民的微心愿（姓名电话不公开）", Need.SECRETARY)))
async def wish(ctx: Context) -> str:
    """`心愿` lists the open wishes; `心愿 内容 姓名 电话` is a secretary posting one."""
    if ctx.rest:
        return await _post(ctx)
    visible = await _visible(ctx)
    open_wishes = await wishes.listed(ctx.session, org_ids=visible, statuses=[W.OPEN])
    mine = [w for w in await wishes.listed(ctx.session, org_ids=visible, statuses=[W.CLAIMED])
            if w.claimed_by == ctx.bound.id]
    if ctx.bound.role not in SECRETARY_ROLES:
        return ctx.render("wishes", open=open_wishes, mine=mine, secretary=False, counters=None, done=[])
    governed = await ctx.governed()
    return ctx.render("wishes", open=open_wishes, mine=mine, secretary=True,
                      counters=await wishes.counters(ctx.session, org_ids=governed),
                      done=await wishes.listed(ctx.session, org_ids=governed, statuses=[W.DONE]))


async def _post(ctx: Context) -> str:
    if ctx.bound.role not in SECRETARY_ROLES:
        return ctx.render("secretary_only")
    new = parse_wish(ctx.rest)
    if new is None:
        return ctx.render("wish_usage")
    if refusal := ctx.refuse_long(new.content, limits.WISH) or ctx.refuse_long(new.resident_name, limits.RESIDENT):
        return refusal
    if leaks_private(new):
        return ctx.render("wish_private")
    wish_id = await wishes.create(ctx.session, org_id=ctx.bound.org_id, content=new.content,
                                  resident_name=new.resident_name, resident_phone=new.resident_phone,
                                  by=ctx.bound.id, now=ctx.now)
    return ctx.render("wish_posted", id=wish_id, content=new.content)


@router.command("认领", need=Need.MEMBER, usage=Usage("认领 3", "认领一个微心愿"))
async def claim(ctx: Context) -> str:
    found = await _wish(ctx, await _visible(ctx))
    if isinstance(found, str):
        return found
    if not await wishes.move(ctx.session, wish_id=found.id, before=W.OPEN, after=W.CLAIMED,
                             claimed_by=ctx.bound.id, claimed_at=ctx.now):
        return ctx.render("wish_taken", id=found.id)
    note = ctx.render("wish_claimed_note", id=found.id, content=found.content, name=ctx.bound.name)
    await _tell(ctx, found.id, found.created_by, W.CLAIMED, note)
    return ctx.render("wish_claimed", id=found.id, content=found.content)


@router.command("完成", need=Need.MEMBER, usage=Usage("完成 3", "报告微心愿已完成"))
async def done(ctx: Context) -> str:
    found = await _wish(ctx, await _visible(ctx))
    if isinstance(found, str):
        return found
    if not await wishes.move(ctx.session, wish_id=found.id, before=W.CLAIMED, after=W.DONE,
                             member_id=ctx.bound.id, done_at=ctx.now):
        return ctx.render("wish_not_yours", id=found.id)
    note = ctx.render("wish_done_note", id=found.id, content=found.content, name=ctx.bound.name)
    await _tell(ctx, found.id, found.created_by, W.DONE, note)
    return ctx.render("wish_done", id=found.id)


@router.command("验收", need=Need.SECRETARY, usage=Usage("验收 3", "验收完成的微心愿，党员得分"))
async def accept_command(ctx: Context) -> str:
    if not ctx.args or not ctx.args[0].isdigit():
        return ctx.render("wish_number_usage")
    return await accept(ctx, ctx.args[0])


async def accept(ctx: Context, number: str) -> str:
    """`验收 3` in chat and the console: the secretary accepts fulfilled wish `number` (digits), and the member
    who fulfilled it earns service points (ledger entry, audit row, their message); the reply saying so, or
    why not."""
    found = await _found(ctx, number, await ctx.governed())
    if isinstance(found, str):
        return found
    if found.claimed_by == ctx.bound.id:
        return ctx.render("volunteer_own")
    if found.claimed_by is None or not await wishes.move(
            ctx.session, wish_id=found.id, before=W.DONE, after=W.FULFILLED, confirmed_by=ctx.bound.id,
            confirmed_at=ctx.now):
        return ctx.render("wish_not_done", id=found.id)
    earned = await award(ctx, action="wish", event_key=f"wish:{found.id}", member_id=found.claimed_by,
                         detail=f"：{found.content}")
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=found.claimed_by, org_id=found.org_id,
                       action="wish_accept",
                       subject=f"wish:{found.id}", detail=f"{found.content}; +{earned.points}", at=ctx.now)
    note = ctx.render("wish_accepted_note", id=found.id, content=found.content, counted=counted(ctx, earned))
    await _tell(ctx, found.id, found.claimed_by, W.FULFILLED, note)
    return ctx.render("wish_accepted", id=found.id, counted=counted(ctx, earned))


async def _visible(ctx: Context) -> list[int]:
    """Whose wishes a member sees: those posted for their organisation and the organisations above it."""
    return await orgs.chain_up(ctx.session, org_id=ctx.bound.org_id)


async def _wish(ctx: Context, org_ids: list[int]) -> Wish | str:
    """The wish `认领 3` names, if it belongs to these organisations, or the reply saying why not."""
    if not ctx.args or not ctx.args[0].isdigit():
        return ctx.render("wish_number_usage")
    return await _found(ctx, ctx.args[0], org_ids)


async def _found(ctx: Context, number: str, org_ids: list[int]) -> Wish | str:
    found = await wishes.get(ctx.session, wish_id=int(number))
    if found is None or found.org_id not in org_ids:
        return ctx.render("wish_not_found", id=number)
    return found


async def _tell(ctx: Context, wish_id: int, member_id: int, step: W, body: str) -> None:
    """A message about a wish's step to one member (the secretary who posted it, or the one who fulfilled it)."""
    await campaigns.personal(ctx.session, key=f"wish:{wish_id}:{step}", kind="wish",
                             title="微心愿", bodies={member_id: body}, at=ctx.now, now=ctx.now)
