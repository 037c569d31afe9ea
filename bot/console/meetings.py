"""会议与台账: the meetings of the viewer's organisations in a month with their attendance and 补学, one meeting's
attendance by member with its minutes, planning a meeting through the chat's own `会议 …` (plan_meeting), and the
year's 台账 workbook of an organisation (the one `palmbot ledger` writes)."""

from __future__ import annotations

import asyncio
import io
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from urllib.parse import quote

from aiohttp import web

from bot.console.acting import context
from bot.console.web import PREFIX, Viewer, form, number, page, refusal, scoped, secretary, services
from bot.life import meetings as life
from bot.repo import by_id, ledger, meetings, orgs
from bot.reports.ledger import write_xlsx
from bot.rules import meetings as rules
from bot.rules.periods import YEARS, Period, month_of, parse_month, year_of
from bot.storage import limits
from bot.storage.models import Meeting, MeetingKind, Organisation
from handlers.meetings import plan_meeting

routes = web.RouteTableDef()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class PlanForm:
    """The plan form's fields as typed (kept when a plan is refused, so it can be corrected)."""

    org: str = ""
    kind: str = MeetingKind.GENERAL.value
    day: str = ""
    at: str = ""
    minutes: str = str(rules.DEFAULT_MINUTES)
    place: str = ""
    topic: str = ""


@routes.get(f"{PREFIX}/meetings")
async def meetings_page(request: web.Request) -> web.Response:
    """`/console/meetings?month=2026-12`: the month's meetings (this month by default), the plan form, the 台账."""
    who = secretary(request)
    month = _month(request, request.query.get("month", ""))
    return await _listing(request, who, month, PlanForm(org=str(who.org_id), day=_today(request).isoformat()))


@routes.post(f"{PREFIX}/meetings")
async def plan(request: web.Request) -> web.Response:
    """Plan a meeting from the form as `会议 …` plans one from chat (same checks, row, audit entry and notice to its
    audience); the month of the meeting with the chat's reply. A field missing or wrong, or a plan the chat would
    refuse (a kind the organisation does not hold, a day too long ago, a plan sent twice), is 400."""
    who = secretary(request)
    fields = await form(request)
    typed = PlanForm(**{name: fields.get(name, "").strip() for name in PlanForm.__dataclass_fields__})
    org_id = number(typed.org)
    if org_id is None:
        return await _listing(request, who, _this_month(request), typed, status=400, problem="org")
    scoped(request, org_id)  # an organisation not in the select (another branch's id) is 403
    try:
        wanted = rules.plan_from(kind=typed.kind, day=typed.day, at=typed.at, minutes=typed.minutes,
                                 place=typed.place, topic=typed.topic)
    except rules.PlanError as exc:
        return await _listing(request, who, _this_month(request), typed, status=400, problem=exc.part)
    async with services(request).sessionmaker.begin() as session:
        org = await session.get(Organisation, org_id)
        assert org is not None  # in the viewer's subtree
        planned, reply = await plan_meeting(context(request, session, who), org, wanted)
    if planned is None:
        return await _listing(request, who, month_of(wanted.starts.date()), typed, status=400, flash=reply)
    return await _listing(request, who, month_of(wanted.starts.date()), PlanForm(org=typed.org, day=typed.day),
                          flash=reply)


@routes.get(f"{PREFIX}/meetings/ledger")
async def ledger_download(request: web.Request) -> web.StreamResponse:
    """`/console/meetings/ledger?org=ID&year=2026`: the organisation's 台账 for the year as XLSX, its subtree's
    meetings only; an organisation outside the viewer's is 403, a missing one or a year out of range 400."""
    secretary(request)
    org_id, year = number(request.query.get("org")), number(request.query.get("year"))
    if org_id is None or year is None or year not in YEARS:
        raise refusal(request, web.HTTPBadRequest, "ledger_choice", first=YEARS[0], last=YEARS[-1])
    scoped(request, org_id)
    svc = services(request)
    async with svc.sessionmaker() as session:
        path = await orgs.path_of(session, org_id=org_id)
        records = await ledger.subtree_meetings(session, org_id=org_id, period=year_of(date(year, 1, 1)),
                                                tz=svc.settings.timezone)
    book = io.BytesIO()
    await asyncio.to_thread(write_xlsx, records, book)
    name = f"台账-{path.replace('/', '-')}-{year}.xlsx"
    return web.Response(body=book.getvalue(), content_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"ledger-{year}.xlsx\"; filename*=UTF-8''{quote(name)}"})


@routes.get(PREFIX + "/meetings/{id}")
async def meeting_page(request: web.Request) -> web.Response:
    """`/console/meetings/{number}`: the meeting, each member's attendance, leave and 补学, and its minutes. Another
    branch's meeting is 403, an unknown one 404."""
    secretary(request)
    meeting_id = number(request.match_info["id"])
    svc = services(request)
    async with svc.sessionmaker() as session:
        found = await by_id(session, Meeting, meeting_id) if meeting_id else None
        if found is None:
            raise refusal(request, web.HTTPNotFound, "not_found", what="这个会议")
        scoped(request, found.org_id)
        return page(request, "meeting.html", meeting=found, org=await orgs.path_of(session, org_id=found.org_id),
                    state=life.state(found, svc.clock()), seats=await meetings.seats(session, meeting=found),
                    counts=await meetings.tally(session, meeting_id=found.id),
                    minutes=await meetings.minutes_text(session, meeting_id=found.id),
                    photos=await meetings.photo_count(session, meeting_id=found.id), tz=svc.settings.timezone)


async def _listing(request: web.Request, who: Viewer, month: Period, typed: PlanForm, *, status: int = 200,
                   flash: str = "", problem: str = "") -> web.Response:
    """The meetings page for `month`, with the plan form holding `typed` and the outcome of a plan."""
    svc = services(request)
    tz, now = svc.settings.timezone, svc.clock()
    start, end = month.bounds(tz)
    async with svc.sessionmaker() as session:
        held = await meetings.in_period(session, org_ids=who.governed, start=start, end=end)
        counts = await meetings.tallies(session, meeting_ids=[m.id for m, _ in held])
        places = await ledger.organisations(session, org_ids=who.governed)
    return page(request, "meetings.html", status=status, flash=flash, problem=problem, month=month,
                previous=month_of(month.start - timedelta(days=1)).start, following=month.end,
                rows=[(m, path, life.state(m, now), counts.get(m.id, {})) for m, path in held], orgs=places,
                kinds=[kind.value for kind in MeetingKind], form=asdict(typed), year=now.astimezone(tz).year,
                lengths=(rules.MIN_MINUTES, rules.MAX_MINUTES), years=(YEARS[0], YEARS[-1]), years_shown=YEARS, tz=tz,
                latest=now.astimezone(tz).date() + timedelta(days=rules.AHEAD_DAYS),
                chars={"place": limits.PLACE.chars, "topic": limits.TOPIC.chars})


def _month(request: web.Request, text: str) -> Period:
    """The month asked for (`2026-12`, as the month picker sends it; this month when none); 400 for words that
    name no month."""
    if not text:
        return _this_month(request)
    found = parse_month(text, _today(request))
    if found is None:
        raise refusal(request, web.HTTPBadRequest, "month_unknown", asked=text)
    return found


def _today(request: web.Request) -> date:
    svc = services(request)
    return svc.clock().astimezone(svc.settings.timezone).date()


def _this_month(request: web.Request) -> Period:
    return month_of(_today(request))


