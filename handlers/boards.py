"""排行: the branch's top ten by points this month (positive only); members may leave it (隐藏排行)."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.routing import Need, Router, Usage
from bot.repo import members, orgs, points
from bot.rules.boards import top_ten
from bot.rules.periods import month_of

router = Router(topic="积分")


@router.command("排行", "排行榜", "积分排行", "排名", "我的排名", "我的排行", "积分排名", need=Need.MEMBER, menu=7,
                usage=Usage("排行", "本支部本月积分榜"))
async def board(ctx: Context) -> str:
    """The board of the member's branch (a 党小组's members see their branch's board)."""
    if refusal := ctx.refuse_period("排行", "本支部本月的积分榜"):
        return refusal
    start, end = month_of(ctx.now.date()).bounds(ctx.settings.timezone)
    branch = await orgs.branch_of(ctx.session, org_id=ctx.bound.org_id)
    sums = await points.month_board(ctx.session, org_ids=await orgs.subtree(ctx.session, org_id=branch), start=start,
                                    end=end)
    return ctx.render("board", org=await orgs.name_of(ctx.session, org_id=branch), month=ctx.now.month,
                      board=top_ten(sums, ctx.content.rules.policy.monthly_cap))


@router.command("隐藏排行", need=Need.MEMBER, usage=Usage("隐藏排行", "不在积分榜上显示自己"))
async def hide(ctx: Context) -> str:
    await members.set_hide_rank(ctx.session, member_id=ctx.bound.id, hide=True)
    return ctx.render("board_hidden", hidden=True)


@router.command("显示排行", need=Need.MEMBER, usage=Usage("显示排行", "回到积分榜"))
async def show(ctx: Context) -> str:
    await members.set_hide_rank(ctx.session, member_id=ctx.bound.id, hide=False)
    return ctx.render("board_hidden", hidden=False)
