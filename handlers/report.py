"""报表: the secretary's summary of their organisation's quarter so far (the full sheet is `palmbot report`)."""

from __future__ import annotations

from bot.context import Context
from bot.report import build
from bot.routing import Need, Router
from bot.rules.periods import quarter_of

router = Router()


@router.command("报表", need=Need.SECRETARY)
async def summary(ctx: Context) -> str:
    today = ctx.now.date()
    report = await build(ctx.session, org_id=ctx.bound.org_id, quarter=quarter_of(today), rules=ctx.content.rules,
                         tz=ctx.settings.timezone, today=today)
    return ctx.render("report_summary", report=report, followed=sum(1 for r in report.rows if r.flags),
                      hours=sum(r.hours for r in report.rows))
