"""通知: compose a notice to the viewer's organisation or one under it, preview it as its members will read it with
the audience size, send exactly what was previewed through the chat's own draft and campaign (`通知 …` + `确认`),
and watch each notice's delivery (as the ledger has it) and who has acknowledged it."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.console.acting import context
from bot.console.web import PREFIX, Viewer, form, number, page, refusal, scoped, secretary, services
from bot.repo import ledger, notices
from bot.storage import limits
from bot.storage.models import Organisation
from handlers.notices import PREVIEW_MINUTES, Drafted, Settled, prepare, send_draft, withdraw

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
    """Save the form as the viewer's draft (as `通知 …` does, without arming chat's `确认`) and show it as members
    will read it, with the audience size, how many messages it goes out as, and the button that sends exactly it;
    a form without an organisation or text, or too long, is 400."""
    who = secretary(request)
    fields = await form(request)
    draft = Compose(fields.get("body", "").strip(), number(fields.get("org")), fields.get("needs_ack") == "1")
    if draft.org_id is None or not draft.body:
        return await _composing(request, who, draft, status=400, problem="no_org" if draft.org_id is None else "no_body")
    scoped(request, draft.org_id)  # an organisation not in the select (another branch's id) is 403
    async with services(request).sessionmaker.begin() as session:
        org = await session.get(Organisation, draft.org_id)
        assert org is not None  # it is in the viewer's subtree
        drafted = await prepare(context(request, session, who), org, draft.body, needs_ack=draft.needs_ack)
    if isinstance(drafted, str):
        return await _composing(request, who, draft, status=400, flash=drafted)
    return await _composing(request, who, draft, shown=drafted)


@routes.post(f"{PREFIX}/notices")
async def send(request: web.Request) -> web.Response:
    """发送 (`确认`) or 放弃 (`取消`) the draft the page showed (the form's `digest`); the notices page saying what
    happened. A draft already sent, given up or expired is 409 and nothing goes out; a draft changed since the page
    showed it (another preview) is 409 and the preview of the draft now waiting, to decide on anew."""
    who = secretary(request)
    fields = await form(request)
    digest = fields.get("digest", "")
    if not digest:
        raise refusal(request, web.HTTPBadRequest, "no_draft")
    async with services(request).sessionmaker.begin() as session:
        ctx = context(request, session, who)
        settled = await (withdraw if fields.get("action") == "cancel" else send_draft)(ctx, digest=digest)
    if settled.current is not None:
        current = settled.current
        return await _composing(request, who, Compose(current.body, current.org_id, current.needs_ack), status=409,
                                outcome=settled, shown=current)
    return await _listing(request, who, outcome=settled,
                          status=200 if settled.outcome in ("started", "cancelled") else 409)


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


async def _listing(request: web.Request, who: Viewer, *, status: int = 200,
                   outcome: Settled | None = None) -> web.Response:
    shown = number(request.query.get("page")) or 1
    async with services(request).sessionmaker() as session:
        total, sent = await notices.sent(session, org_ids=who.governed, offset=(shown - 1) * PER_PAGE, limit=PER_PAGE)
        targets = await ledger.organisations(session, org_ids=who.governed)
    return page(request, "notices.html", status=status, outcome=outcome, sent=sent, total=total, page=shown,
                pages=max(1, -(-total // PER_PAGE)), targets=targets, draft=Compose(org_id=who.org_id),
                limit=limits.NOTICE.chars, minutes=PREVIEW_MINUTES, tz=services(request).settings.timezone)


async def _composing(request: web.Request, who: Viewer, draft: Compose, *, status: int = 200, flash: str = "",
                     problem: str = "", outcome: Settled | None = None, shown: Drafted | None = None) -> web.Response:
    """The preview page: the notice as members will read it (when `shown`), and the form to change it."""
    async with services(request).sessionmaker() as session:
        targets = await ledger.organisations(session, org_ids=who.governed)
    return page(request, "notice_preview.html", status=status, flash=flash, problem=problem, outcome=outcome,
                preview=shown, draft=draft, targets=targets, limit=limits.NOTICE.chars, minutes=PREVIEW_MINUTES)
