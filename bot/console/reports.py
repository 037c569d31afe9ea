"""报表: an organisation's quarter or year on a page (points by month, star distribution, check-in and 补学 rates,
wishes, and each 支部 of a 党总支 or 党委) with charts, and the same report as XLSX or CSV downloads. Every number
comes from `bot.reports.report.build`, and the files from `bot.reports.layout`, as `palmbot report` writes
them."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from aiohttp import web

from bot.console.web import PREFIX, Viewer, number, page, refusal, scoped, secretary, services
from bot.repo import ledger
from bot.reports.layout import BRANCHES, MEMBERS, SUMMARY, write_csv, write_xlsx
from bot.reports.report import Report, build
from bot.rules.periods import Period, is_year, period_label, quarter_label, quarter_of, report_period, year_of

routes = web.RouteTableDef()
SHEETS = {"members": MEMBERS, "summary": SUMMARY, "branches": BRANCHES}  # a CSV download's `sheet`, in ASCII
TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}
YEARS_SHOWN = 2  # the selector offers this year and the last, each whole and by quarter


@dataclass(frozen=True, slots=True)
class Asked:
    """What a report page or download is for: an organisation of the viewer's, a quarter or year, and today."""

    org_id: int
    period: Period
    today: date

    @property
    def query(self) -> str:
        """The query string that asks for it again (`org=12&period=2026Q4`)."""
        return f"org={self.org_id}&period={period_value(self.period)}"


@routes.get(f"{PREFIX}/reports")
async def overview(request: web.Request) -> web.Response:
    """`/console/reports[?org=ID][&period=2026Q4|2026]`: the report of the viewer's organisation (or one of
    theirs: else 403) for the quarter or year (this quarter by default; one not understood or not begun: 400)."""
    who = secretary(request)
    asked = _asked(request, who)
    report = await _built(request, asked)
    async with services(request).sessionmaker() as session:
        choices = [(org_id, path) for org_id, path, _ in await ledger.organisations(session, org_ids=who.governed)]
    return page(request, "reports.html", report=report, summary=report.summary(),
                branches=report.by_branch() if report.has_branches else [], asked=asked,
                current=asked.period.end > asked.today, periods=_periods(asked), orgs=choices,
                label=period_label, value=period_value)


@routes.get(f"{PREFIX}/reports/download")
async def download(request: web.Request) -> web.Response:
    """`/console/reports/download?org=…&period=…&format=xlsx|csv[&sheet=members|summary|branches]`: the same
    report as a file (XLSX: every sheet; CSV: one, the members by default). An unknown format or sheet is 400,
    the 支部 sheet of a report with one 支部 is 404."""
    who = secretary(request)
    asked = _asked(request, who)
    kind, sheet = request.query.get("format", "xlsx"), SHEETS.get(request.query.get("sheet", "members"))
    if kind not in TYPES or sheet is None:
        raise refusal(request, web.HTTPBadRequest, "bad_download")
    report = await _built(request, asked)
    if kind == "csv" and sheet == BRANCHES and not report.has_branches:
        raise refusal(request, web.HTTPNotFound, "not_found", what="支部汇总表")
    body = await asyncio.to_thread(_written, report, kind, sheet)
    name = f"{report.org.replace('/', '-')}-{report.label}{'' if kind == 'xlsx' else '-' + sheet}.{kind}"
    fallback = f"report-{period_value(asked.period)}.{kind}"
    return web.Response(body=body, content_type=TYPES[kind], charset="utf-8" if kind == "csv" else None,
                        headers={"Content-Disposition":
                                 f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"})


def _asked(request: web.Request, who: Viewer) -> Asked:
    """The organisation (`org`, the viewer's own by default; another's is 403, no id 404) and the period
    (`period`, read by `report_period`; 400 when refused)."""
    svc = services(request)
    today = svc.clock().astimezone(svc.settings.timezone).date()
    text = request.query.get("period", "").strip()
    period = report_period(text, today)
    if period is None:
        raise refusal(request, web.HTTPBadRequest, "bad_period", asked=text)
    if "org" not in request.query:
        return Asked(who.org_id, period, today)
    org_id = number(request.query["org"])
    if org_id is None:
        raise refusal(request, web.HTTPNotFound, "not_found", what="这个组织")
    scoped(request, org_id)
    return Asked(org_id, period, today)


async def _built(request: web.Request, asked: Asked) -> Report:
    svc = services(request)
    async with svc.sessionmaker() as session:
        return await build(session, org_id=asked.org_id, period=asked.period, rules=svc.content.rules,
                           tz=svc.settings.timezone, today=asked.today)


def _written(report: Report, kind: str, sheet: str) -> bytes:
    """The report as an XLSX workbook or one sheet as CSV (openpyxl takes a while: run in a thread)."""
    out = io.BytesIO()
    if kind == "xlsx":
        write_xlsx(report, out)
    else:
        write_csv(report, out, sheet=sheet)
    return out.getvalue()


def period_value(period: Period) -> str:
    """A quarter or year as the selector sends it (`2026Q4`, `2026`), which `report_period` reads."""
    return str(period.start.year) if is_year(period) else quarter_label(period.start)


def _periods(asked: Asked) -> list[Period]:
    """The periods the selector offers, newest first: this year and the last, each followed by its quarters
    begun; and the one shown when it is older."""
    offered: list[Period] = []
    for year in range(asked.today.year, asked.today.year - YEARS_SHOWN, -1):
        whole = year_of(date(year, 1, 1))
        quarters = [quarter_of(date(year, month, 1)) for month in (10, 7, 4, 1)]
        offered += [whole, *(q for q in quarters if q.start <= asked.today)]
    return offered if asked.period in offered else [*offered, asked.period]
