"""台账: a secretary's month of organisational life in their organisations (the full year is `palmbot ledger`)."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.routing import Need, Router, Usage
from bot.repo import ledger, orgs
from bot.reports.ledger import by_kind, unrecorded

router = Router(topic="会议")


@router.command("台账", "组织生活台账", need=Need.SECRETARY,
                usage=Usage("台账 / 台账 11月", "本月（或所写月份）各类会议的出席、迟到、请假、缺席、补学、送学人次，"
                                              "以及还没有纪要的会议"))
async def month_ledger(ctx: Context) -> str:
    """The month's meetings of the sender's organisations by type, and those still without minutes."""
    month = ctx.month_asked("台账")
    if isinstance(month, str):
        return month
    start, end = month.bounds(ctx.settings.timezone)
    records = await ledger.meetings(ctx.session, org_ids=await ctx.governed(), start=start, end=end,
                                    tz=ctx.settings.timezone)
    return ctx.render("ledger_month", org=await orgs.path_of(ctx.session, org_id=ctx.bound.org_id),
                      month=month.start, current=month.end > ctx.today, kinds=by_kind(records),
                      unrecorded=unrecorded(records, ctx.now))
