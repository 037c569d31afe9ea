"""我的: the signed-in person's own page (members, secretaries and administrators alike): this year's points by
month as a chart, the stars held and their history, the ledger with reasons, and the lessons read with the
quiz answers. Only the viewer's own rows are read; nothing in the address chooses another member."""

from __future__ import annotations

from aiohttp import web

from bot.console.web import PREFIX, number, page, services, viewer
from bot.repo import lessons, points, stars
from bot.rules.periods import year_of
from bot.rules.points import scores_by_month, standing

routes = web.RouteTableDef()
PER_PAGE = 50  # ledger entries a page
HISTORY = 50  # star grants and removals shown


@routes.get(f"{PREFIX}/me")
async def mine(request: web.Request) -> web.Response:
    """`/console/me[?page=N]`: the viewer's own year; `page` pages the ledger entries, newest first."""
    who = viewer(request)
    svc = services(request)
    tz, rules = svc.settings.timezone, svc.content.rules
    today = svc.clock().astimezone(tz).date()
    start, end = year_of(today).bounds(tz)
    async with svc.sessionmaker() as session:
        entries = await points.between(session, member_id=who.member_id, start=start, end=end)
        held = (await stars.held(session, member_ids=[who.member_id])).get(who.member_id, set())
        history = await stars.history(session, member_id=who.member_id, limit=HISTORY)
        studied = await lessons.studied(session, member_id=who.member_id, start=start, end=end)
    dated = [(e.occurred_at.astimezone(tz).date(), e.delta) for e in entries]
    scores = scores_by_month(dated, rules.policy.monthly_cap)
    shown = number(request.query.get("page")) or 1
    newest = entries[::-1][(shown - 1) * PER_PAGE:shown * PER_PAGE]
    return page(request, "me.html", year=today.year, months=list(range(1, today.month + 1)),
                scores=[scores.get((today.year, m), 0) for m in range(1, today.month + 1)],
                standing=standing(dated, today, rules.policy), policy=rules.policy,
                held=[s.name for s in rules.stars if s.name in held], star_names=[s.name for s in rules.stars],
                history=history, entries=newest, total=len(entries), page=shown,
                pages=max(1, -(-len(entries) // PER_PAGE)), studied=studied, lesson=svc.content.lesson, tz=tz)
