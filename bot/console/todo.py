"""待办 (`/console/todo`), a secretary's first page: the volunteer claims waiting in their organisations (every
one, a page at a time, with photos; several approved or rejected at once), the leave requests waiting for
them, and the wishes members have taken on (with the resident's contact, shown here only). Every button calls
the chat command's own function."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import acting
from bot.console.claims import Outcome, decide
from bot.console.web import (
    PREFIX,
    Viewer,
    form,
    form_list,
    number,
    page,
    refusal,
    scoped,
    secretary,
    services,
)
from bot.life import meetings as life
from bot.message import media as photos
from bot.repo import by_id, media, meetings, members, volunteer, wishes
from bot.storage import limits
from bot.storage.models import LeaveRequest, Meeting
from handlers import leave as leave_chat
from handlers import wishes as wish_chat

routes = web.RouteTableDef()
PER_PAGE = 20


@routes.get(PREFIX + "/todo")
async def todo(request: web.Request) -> web.Response:
    """`/console/todo?page=N`: what waits for the viewer, claims `PER_PAGE` at a time, oldest first."""
    return await _page(request, secretary(request), Outcome())


@routes.post(PREFIX + "/todo")
async def act(request: web.Request) -> web.Response:
    """One of the page's forms, by its button's `action`: approve / reject the ticked claims (`claim`, repeated;
    `reason`), grant / refuse the request `leave` (`reason`), accept the wish `wish`; the page with the outcome."""
    who = secretary(request)
    fields = await form(request)
    action = fields.get("action", "")
    if action in ("approve", "reject"):
        ids = [n for n in map(number, await form_list(request, "claim")) if n is not None]
        outcome = await decide(request, who, ids, action, fields.get("reason", ""))
    elif action in ("grant", "refuse"):
        outcome = await _decide_leave(request, who, number(fields.get("leave")), action == "grant",
                                      " ".join(fields.get("reason", "").split()))
    elif action == "accept":
        outcome = await _accept(request, who, number(fields.get("wish")))
    else:
        outcome = Outcome(problem="bad_action", status=400)
    return await _page(request, who, outcome)


async def _decide_leave(request: web.Request, who: Viewer, leave_id: int | None, granted: bool,
                        reason: str) -> Outcome:
    """准假 or 不准 (a reason required) through the chat's own function."""
    if not granted and not reason:
        return Outcome(problem="reason_missing", status=400)
    async with services(request).sessionmaker.begin() as session:
        found = await _leave(request, session, who, leave_id)
        ctx = acting.context(request, session, who)
        if not granted and (refused := ctx.refuse_long(reason, limits.REASON)):
            return Outcome(flash=refused, status=400)
        name = await members.name_of(session, member_id=found[0].member_id)
        return Outcome(flash=await leave_chat.decide(ctx, *found, name, granted=granted,
                                                     reason=None if granted else reason))


async def _leave(request: web.Request, session: AsyncSession, who: Viewer,
                 leave_id: int | None) -> tuple[LeaveRequest, Meeting]:
    """The request with this id, for a meeting the viewer governs (else 403), still waiting (else 404)."""
    found = await by_id(session, LeaveRequest, leave_id) if leave_id else None
    meeting = await meetings.get(session, meeting_id=found.meeting_id) if found else None
    if found is None or meeting is None:
        raise refusal(request, web.HTTPNotFound, "not_found", what="这条请假申请")
    scoped(request, meeting.org_id)
    waiting = await meetings.pending_leave(session, org_ids=who.governed, now=services(request).clock(),
                                           leave_id=found.id)
    if not waiting:
        raise refusal(request, web.HTTPNotFound, "not_found", what="待批的这条请假申请")
    return waiting[0]


async def _accept(request: web.Request, who: Viewer, wish_id: int | None) -> Outcome:
    """验收: the member who fulfilled the wish earns its points, as in chat."""
    async with services(request).sessionmaker.begin() as session:
        found = await wishes.get(session, wish_id=wish_id) if wish_id else None
        if found is None:
            raise refusal(request, web.HTTPNotFound, "not_found", what="这个微心愿")
        scoped(request, found.org_id)
        return Outcome(flash=await wish_chat.accept(acting.context(request, session, who), str(found.id)))


async def _page(request: web.Request, who: Viewer, outcome: Outcome) -> web.Response:
    svc = services(request)
    shown = number(request.query.get("page")) or 1
    now = svc.clock()
    async with svc.sessionmaker() as session:
        total, rows = await volunteer.pending(session, org_ids=who.governed, offset=(shown - 1) * PER_PAGE,
                                              limit=PER_PAGE)
        kept = await media.statuses(session, media_ids=[r.photo_media_id for r in rows if r.photo_media_id])
        claimed = [(row, photos.photo(row.photo_media_id, kept.get(row.photo_media_id or ""), sent_at=row.created_at,
                                      now=now, sandbox=svc.wechat is None)) for row in rows]
        leaves = await meetings.pending_leave(session, org_ids=who.governed, now=now)
        names = await members.names_of(session, member_ids={leave.member_id for leave, _ in leaves})
        asked = [(leave, names.get(leave.member_id, ""),
                  await life.described(session, svc.content, svc.settings.timezone, meeting))
                 for leave, meeting in leaves]
        in_hand = await wishes.in_hand(session, org_ids=who.governed)
    return page(request, "todo.html", status=outcome.status, outcome=outcome, claims=claimed, total=total,
                page=shown, pages=max(1, -(-total // PER_PAGE)), leaves=asked, wishes=in_hand,
                tz=svc.settings.timezone)
