"""督办: each organisation of the viewer's subtree red, yellow or green for a month with the reasons, exactly as
`督办` in chat shows them (`bot.life.oversight`), and a drill-down into any organisation under the viewer."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.web import PREFIX, Viewer, number, page, refusal, scoped, secretary, services
from bot.life.oversight import counts, lines, survey
from bot.repo import orgs
from bot.rules.oversight import MINUTES_WITHIN, PLAN_BY_DAY
from bot.rules.periods import month_of, reachable_month

routes = web.RouteTableDef()
MONTHS_SHOWN = 12  # the selector offers next month and this many before it


@routes.get(f"{PREFIX}/oversight")
async def colours(request: web.Request) -> web.Response:
    """`/console/oversight[?org=ID][&month=2026-11]`: the colours of the viewer's organisation and every one under
    it (or of organisation ID and those under it, which must be the viewer's: else 403) for the month (this
    month by default; a month not understood or after next month is 400, as chat refuses it)."""
    who = secretary(request)
    svc = services(request)
    now, tz = svc.clock(), svc.settings.timezone
    today = now.astimezone(tz).date()
    asked = request.query.get("month", "").strip()
    month = reachable_month(asked, today)
    if month is None:
        raise refusal(request, web.HTTPBadRequest, "bad_month", asked=asked)
    root = _root(request, who)
    async with svc.sessionmaker() as session:
        subtree = await orgs.subtree(session, org_id=root)
        standings = await survey(session, org_ids=subtree, month=month, now=now, tz=tz)
        trail = await _trail(session, root, who)
    shown = lines(svc.content, standings, month)
    below = {line.org_id for line in shown
             if line.org_id != root and any(other.path.startswith(line.path + "/") for other in shown)}
    return page(request, "oversight.html", scope=trail[-1][1], trail=trail, month=month.start,
                months=_months(today, month.start), lines=shown, below=below,
                counts=counts(standings), org=root if root != who.org_id else None, plan_by=PLAN_BY_DAY,
                days=MINUTES_WITHIN.days)


def _root(request: web.Request, who: Viewer) -> int:
    """The organisation asked for by `?org=`, scoped to the viewer (403 for another's; 404 for no id at all)."""
    if "org" not in request.query:
        return who.org_id
    org_id = number(request.query["org"])
    if org_id is None:
        raise refusal(request, web.HTTPNotFound, "not_found", what="这个组织")
    scoped(request, org_id)
    return org_id


async def _trail(session: AsyncSession, root: int, who: Viewer) -> list[tuple[int, str]]:
    """(id, path) from the viewer's own organisation down to `root`, for the way back up."""
    chain = await orgs.chain_up(session, org_id=root)
    down = chain[:chain.index(who.org_id) + 1][::-1] if who.org_id in chain else [root]
    return [(org_id, await orgs.path_of(session, org_id=org_id)) for org_id in down]


def _months(today: date, shown: date) -> list[date]:
    """The first days of the months the selector offers, newest first: next month and MONTHS_SHOWN before it,
    and the month shown when it is older."""
    offered = [month_of(today).end]
    while len(offered) <= MONTHS_SHOWN:
        offered.append(month_of(offered[-1] - timedelta(days=1)).start)
    return offered if shown in offered else [*offered, shown]
