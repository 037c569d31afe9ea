"""审计: the audit trail of the viewer's organisations, newest first, a page at a time."""

from __future__ import annotations

from aiohttp import web

from bot.console.web import PREFIX, number, page, secretary, services
from bot.repo import audit

routes = web.RouteTableDef()
PER_PAGE = 50


@routes.get(f"{PREFIX}/audit")
async def trail(request: web.Request) -> web.Response:
    """`/console/audit?page=N`: who did what to whom, in the viewer's subtree only."""
    who = secretary(request)
    shown = number(request.query.get("page")) or 1
    async with services(request).sessionmaker() as session:
        total, lines = await audit.latest(session, org_ids=who.governed, offset=(shown - 1) * PER_PAGE,
                                          limit=PER_PAGE)
    return page(request, "audit.html", lines=lines, page=shown, pages=max(1, -(-total // PER_PAGE)), total=total,
                tz=services(request).settings.timezone)
