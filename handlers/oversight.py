"""督办: each organisation under the sender as red, yellow or green for a month, with the reasons."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.routing import Need, Router, Usage
from bot.life.oversight import survey, view
from bot.repo import orgs

router = Router(topic="会议")


@router.command("督办", need=Need.SECRETARY,
                usage=Usage("督办 / 督办 11月", "本组织及下级组织本月（或所写月份）组织生活的红黄绿和原因：红为主题党日"
                                              "没有提前报备计划，黄为党小组当月没有活动或会议结束7天仍无纪要"))
async def oversee(ctx: Context) -> str:
    """The colours of the sender's own organisation and every one under it (by id, never by name)."""
    month = ctx.month_asked("督办")
    if isinstance(month, str):
        return month
    standings = await survey(ctx.session, org_ids=await ctx.governed(), month=month, now=ctx.now,
                             tz=ctx.settings.timezone)
    return view(ctx.content, standings, month, await orgs.path_of(ctx.session, org_id=ctx.bound.org_id))
