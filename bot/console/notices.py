"""通知: compose a notice to the viewer's organisation or one under it, preview it as its members will read it with
the audience size, send it through the chat's own draft and campaign (`通知 …` + `确认`), and watch who has read
and acknowledged each notice the viewer's organisations were sent."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot import limits
from bot.console.acting import context
from bot.console.web import PREFIX, Viewer, form, number, page, refusal, scoped, secretary, services
from bot.models import Organisation
from bot.repo import ledger, notices
from handlers.notices import PREVIEW_MINUTES, cancel, prepare, push_text, send_draft

routes = web.RouteTableDef()
PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class Compose:
    """What the compose form holds: the text, the organisation it goes to (by id) and whether it asks for 收到."""

    body: str = ""
    org_id: int | None = None
    needs_ack: bool = False


@routes.get(f"{PREFIX}/notices")
async def notices_page(request: web.Request) -> web.Response:
    """`/console/notices?page=N`: the compose form, then the notices sent to the viewer's organisations."""
    who = secretary(request)
    return await _listing(request, who)


@routes.post(f"{PREFIX}/notices/preview")
async def preview(request: web.Request) -> web.Response:
    """Save the form as the viewer's draft (as `通知 …` does) and show it as members will read it, with the audience
    size and the button that sends it; a form without an organisation or text, or too long, is 400."""
    who = secretary(request)
    fields = await form(request)
    draft = Compose(fields.get("body", "").strip(), number(fields.get("org")), fields.get("needs_ack") == "1")
    if draft.org_id is None or not draft.body:
        return await _composing(request, who, draft, status=400, problem="no_org" if draft.org_id is None else "no_body")
    scoped(request, draft.org_id)  # an organisation not in the select (another branch's id) is 403
    async with services(request).sessionmaker.begin() as session:
        org = await session.get(Organisation, draft.org_id)
        assert org is not None  # it is in the viewer's subtree
        ctx = context(request, session, who)
        drafted = await prepare(ctx, org, draft.body, needs_ack=draft.needs_ack)
        text = push_text(ctx, org=org.name, body=draft.body, needs_ack=draft.needs_ack)
    if isinstance(drafted, str):
        return await _composing(request, who, draft, status=400, flash=drafted)
    return await _composing(request, who, draft, shown={"draft_id": drafted.draft_id, "size": drafted.size,
                                                        "text": text, "org": org.path})


@routes.post(f"{PREFIX}/notices")
async def send(request: web.Request) -> web.Response:
    """发送 (`确认`) the previewed draft, or 放弃 (`取消`) it; the notices page with the chat's reply. A draft already
    sent, replaced or expired is 409 and nothing goes out."""
    who = secretary(request)
    fields = await form(request)
    draft_id = number(fields.get("draft"))
    if draft_id is None:
        raise refusal(request, web.HTTPBadRequest, "no_draft")
    async with services(request).sessionmaker.begin() as session:
        ctx = context(request, session, who)
        if fields.get("action") == "cancel":
            status, reply = 200, await cancel(ctx, "")
        else:
            sent, reply = await send_draft(ctx, draft_id=draft_id)
            status = 409 if sent is None else 200
    return await _listing(request, who, flash=reply, status=status)


@routes.get(PREFIX + "/notices/{id}")
async def receipts(request: web.Request) -> web.Response:
    """`/console/notices/{campaign id}`: who has read the notice and who has not, and when it asks for 收到, who has
    replied and who has not, with their organisations. Another branch's notice is 403, an unknown one 404."""
    secretary(request)
    campaign_id = number(request.match_info["id"])
    async with services(request).sessionmaker() as session:
        found = await notices.notice(session, campaign_id=campaign_id) if campaign_id else None
        if found is None:
            raise refusal(request, web.HTTPNotFound, "not_found", what="这条通知")
        scoped(request, found.org_id)
        everyone = await notices.receipts(session, campaign_id=found.id)
    return page(request, "notice.html", notice=found, everyone=everyone, tz=services(request).settings.timezone)


async def _listing(request: web.Request, who: Viewer, *, status: int = 200, flash: str = "") -> web.Response:
    shown = number(request.query.get("page")) or 1
    async with services(request).sessionmaker() as session:
        total, sent = await notices.sent(session, org_ids=who.governed, offset=(shown - 1) * PER_PAGE, limit=PER_PAGE)
        targets = await ledger.organisations(session, org_ids=who.governed)
    return page(request, "notices.html", status=status, flash=flash, sent=sent, total=total, page=shown,
                pages=max(1, -(-total // PER_PAGE)), targets=targets, draft=Compose(org_id=who.org_id),
                limit=limits.NOTICE.chars, tz=services(request).settings.timezone)


async def _composing(request: web.Request, who: Viewer, draft: Compose, *, status: int = 200, flash: str = "",
                     problem: str = "", shown: dict[str, object] | None = None) -> web.Response:
    """The preview page: the notice as members will read it (when `shown`), and the form to change it."""
    async with services(request).sessionmaker() as session:
        targets = await ledger.organisations(session, org_ids=who.governed)
    return page(request, "notice_preview.html", status=status, flash=flash, problem=problem, preview=shown,
                draft=draft, targets=targets, limit=limits.NOTICE.chars, minutes=PREVIEW_MINUTES)
