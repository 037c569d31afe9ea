"""评星: the waiting star proposals of the viewer's subtree with their evidence, each overruled with a reason, and
confirming them all; both through the chat's own functions (`handlers.review`), so the member's push and the
audit rows are the chat's."""

from __future__ import annotations

from aiohttp import web

from bot.console import acting
from bot.console.web import PREFIX, Viewer, form, number, page, refusal, scoped, secretary, services
from bot.life import star_review
from bot.repo import orgs, stars
from bot.storage import limits
from bot.storage.models import StarReview
from handlers import review

routes = web.RouteTableDef()
PER_PAGE = 100
HERE = f"{PREFIX}/stars"


@routes.get(HERE)
async def proposals(request: web.Request) -> web.Response:
    """`/console/stars?page=N`: the proposals of every waiting review the viewer answers for."""
    return await _shown(request, secretary(request))


@routes.post(f"{HERE}/{{proposal_id}}/overrule")
async def overrule(request: web.Request) -> web.Response:
    """Overrule one proposal (form: `reason`, required) as `评星 改 N 理由` does; another organisation's
    proposal is 403, an unknown one 404, a refusal (no reason, one's own star, too long) 400."""
    who = secretary(request)
    proposal_id = number(request.match_info["proposal_id"])
    reason = (await form(request)).get("reason", "").strip()
    svc = services(request)
    async with svc.sessionmaker.begin() as session:
        found = await stars.proposal(session, proposal_id=proposal_id) if proposal_id else None
        under = await session.get(StarReview, found.review_id) if found else None
        if found is None or under is None:
            raise refusal(request, web.HTTPNotFound, "not_found", what="这条评星建议")
        scoped(request, under.org_id)
        pending = await stars.pending_reviews(session, org_ids=who.governed)
        done, reply = await review.flip(acting.context(request, session, who), pending, found.id, reason)
    return await _shown(request, who, flash=reply, status=200 if done else 400)


@routes.post(f"{HERE}/confirm")
async def confirm(request: web.Request) -> web.Response:
    """Confirm every waiting review the viewer answers for, as `评星 确认` does: members are told now."""
    who = secretary(request)
    async with services(request).sessionmaker.begin() as session:
        reply = await review.confirm(acting.context(request, session, who), "")
    return await _shown(request, who, flash=reply)


async def _shown(request: web.Request, who: Viewer, *, flash: str = "", status: int = 200) -> web.Response:
    shown = number(request.query.get("page")) or 1
    async with services(request).sessionmaker() as session:
        pending = await stars.pending_reviews(session, org_ids=who.governed)
        listed = await star_review.listing(session, review_ids=[r.id for r in pending])
        where = {r.id: f"{r.quarter} {await orgs.path_of(session, org_id=r.org_id)}" for r in pending}
    return page(request, "stars.html", status=status, flash=flash, where=where,
                quarters=sorted({r.quarter for r in pending}), total=len(listed),
                overruled=sum(p.overruled for p in listed), reason_chars=limits.REASON.chars,
                proposals=listed[(shown - 1) * PER_PAGE:shown * PER_PAGE], page=shown,
                pages=max(1, -(-len(listed) // PER_PAGE)), path=HERE)
