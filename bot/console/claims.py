"""One volunteer claim (`/console/claims/{id}`): its details, its photo large, approve or reject; the photo itself
(`/console/media/{id}`). Deciding calls the chat's `通过` / `驳回` (handlers/volunteer.py); both this page and
the to-do list decide through `decide` here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import acting
from bot.console.web import PREFIX, Viewer, form, number, page, refusal, scoped, secretary, services
from bot.message import media as photos
from bot.repo import media, members, orgs, volunteer
from bot.storage import limits
from bot.storage.models import VolunteerClaim
from handlers import volunteer as chat

routes = web.RouteTableDef()
ACTIONS = ("approve", "reject")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a decision form led to: the chat's reply (`flash`), or the problem refusing the form (a sentence's
    name in todo_parts.html, or a reply such as the reason's length) with its HTTP status."""

    flash: str = ""
    problem: str = ""
    status: int = 200


async def decide(request: web.Request, who: Viewer, ids: Sequence[int], action: str, reason: str) -> Outcome:
    """Approve or reject the claims `ids` as `who`, in one transaction, through the chat's own functions (the
    member's push, the audit row, the ledger entry). An unknown id is 404 and another branch's 403 before
    anything changes; no claim ticked, an unknown action or a rejection without a reason is a 400 Outcome."""
    reason = " ".join(reason.split())
    if not ids:
        return Outcome(problem="none_ticked", status=400)
    if action not in ACTIONS:
        return Outcome(problem="bad_action", status=400)
    if action == "reject" and not reason:
        return Outcome(problem="reason_missing", status=400)
    async with services(request).sessionmaker.begin() as session:
        ctx = acting.context(request, session, who)
        if action == "reject" and (refused := ctx.refuse_long(reason, limits.REASON)):
            return Outcome(flash=refused, status=400)
        for claim_id in ids:
            await _claim(request, session, claim_id)
        numbers = [str(i) for i in ids]
        reply = await (chat.approve_all(ctx, numbers) if action == "approve" else chat.reject_all(ctx, numbers, reason))
    return Outcome(flash=reply)


async def _claim(request: web.Request, session: AsyncSession, claim_id: int | None) -> VolunteerClaim:
    """The claim with this id, which the viewer must answer for: else 404 (unknown) or 403 (another branch's)."""
    found = await volunteer.get(session, claim_id=claim_id) if claim_id else None
    if found is None:
        raise refusal(request, web.HTTPNotFound, "not_found", what="这条志愿服务记录")
    scoped(request, found.org_id)
    return found


@routes.get(PREFIX + "/claims/{id}")
async def show(request: web.Request) -> web.Response:
    """`/console/claims/12`: the claim, who sent it, from which branch, its photo large, and the decision."""
    return await _page(request, secretary(request), Outcome())


@routes.post(PREFIX + "/claims/{id}")
async def decide_one(request: web.Request) -> web.Response:
    """The claim page's 通过 / 驳回 (fields `action`, `reason`); the page again with the outcome."""
    who = secretary(request)
    claim_id = number(request.match_info["id"])
    async with services(request).sessionmaker() as session:
        await _claim(request, session, claim_id)
    fields = await form(request)
    outcome = await decide(request, who, [claim_id] if claim_id else [], fields.get("action", ""),
                           fields.get("reason", ""))
    return await _page(request, who, outcome)


async def _page(request: web.Request, who: Viewer, outcome: Outcome) -> web.Response:
    svc = services(request)
    async with svc.sessionmaker() as session:
        claim = await _claim(request, session, number(request.match_info["id"]))
        kept = await media.statuses(session, media_ids=[claim.photo_media_id]) if claim.photo_media_id else {}
        status = kept.get(claim.photo_media_id or "")
        shown = photos.photo(claim.photo_media_id, status, sent_at=claim.created_at, now=svc.clock(),
                             sandbox=svc.wechat is None)
        return page(request, "claim.html", status=outcome.status, claim=claim, outcome=outcome, photo=shown,
                    name=await members.name_of(session, member_id=claim.member_id),
                    org=await orgs.path_of(session, org_id=claim.org_id),
                    decider=await members.name_of(session, member_id=claim.decided_by) if claim.decided_by else "",
                    tz=svc.settings.timezone)


@routes.get(PREFIX + "/media/{id}")
async def photo(request: web.Request) -> web.Response:
    """`/console/media/12`: claim 12's photo as kept from WeChat, with its own content type; 404 when none is
    kept (the pages then say why instead of showing it)."""
    async with services(request).sessionmaker() as session:
        claim = await _claim(request, session, number(request.match_info["id"]))
        kept = await media.kept(session, media_id=claim.photo_media_id) if claim.photo_media_id else None
    if kept is None:
        raise refusal(request, web.HTTPNotFound, "not_found", what="这张照片")
    content_type, data = kept
    return web.Response(body=data, content_type=content_type)
