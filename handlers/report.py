"""报表: the secretary's summary of their organisation's quarter so far (the full sheet is `palmbot report`)."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.routing import Need, Router, Usage
from bot.reports.report import build
from bot.rules.periods import parse_quarter, quarter_label, quarter_of

router = Router(topic="积分")


@router.command("报表", "季度报表", need=Need.SECRETARY,
                usage=Usage("报表 / 报表 2026Q3", "本季度（或所写季度）的汇总"))
async def summary(ctx: Context) -> str:
    """`报表` is this quarter's summary; `报表 2026Q3` that quarter's; a quarter not understood, or not begun, is
    refused, never silently replaced by this one."""
    today = ctx.now.astimezone(ctx.settings.timezone).date()
    quarter = parse_quarter("".join(ctx.args), today) if ctx.args else quarter_of(today)
    if quarter is None or quarter.start > today:
        return ctx.render("report_usage", asked=ctx.rest, current=quarter_label(today))
    report = await build(ctx.session, org_id=ctx.bound.org_id, period=quarter, rules=ctx.content.rules,
                         tz=ctx.settings.timezone, today=today)
    return ctx.render("report_summary", report=report, current=quarter.end > today,
                      followed=sum(1 for r in report.rows if r.flags), hours=report.summary().hours)
