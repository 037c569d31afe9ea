"""The quarter report of an organisation: one row per member and a summary, as CSV, XLSX or a chat message."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.rules import Rules
from bot.follow_up import Flagged, assess
from bot.models import Activity, Member, QuizAnswer
from bot.repo import metrics, orgs, stars, wishes
from bot.rules.periods import Period, months_in, quarter_label

# Column and sheet names are for the organisation department's spreadsheets, not member messages.
AFTER_MONTHS = ("季度积分", "星级", "签到次数", "答题正确", "答题次数", "确认志愿服务（小时）", "关注提示")


@dataclass(frozen=True, slots=True)
class MemberRow:
    name: str
    months: tuple[int, ...]
    quarter_points: int
    stars: tuple[str, ...]
    checkins: int
    quiz_correct: int
    quiz_answered: int
    hours: float
    flags: str


@dataclass(frozen=True, slots=True)
class Report:
    org: str
    quarter: str
    months: tuple[int, ...]
    rows: tuple[MemberRow, ...]
    activities: int
    wishes: tuple[int, int, int]

    @property
    def checkin_rate(self) -> float:
        """Check-ins over the check-ins possible (every member at every activity)."""
        possible = self.activities * len(self.rows)
        return sum(r.checkins for r in self.rows) / possible if possible else 0.0

    def star_distribution(self) -> list[tuple[int, int]]:
        """(stars held, members holding that many), from 0 up."""
        counts = Counter(len(r.stars) for r in self.rows)
        return [(n, counts.get(n, 0)) for n in range(max(counts, default=0) + 1)]

    def points_by_month(self) -> list[tuple[int, int]]:
        return [(month, sum(r.months[i] for r in self.rows)) for i, month in enumerate(self.months)]


async def build(session: AsyncSession, *, org_id: int, quarter: Period, rules: Rules, tz: ZoneInfo,
                today: date) -> Report:
    """Gather the quarter for the organisation and every organisation under it."""
    org_ids = await orgs.subtree(session, org_id=org_id)
    cap = rules.policy.monthly_cap
    months = months_in(quarter)
    by_month = [await metrics.for_members(session, period=m, tz=tz, monthly_cap=cap, life=rules.life,
                                          org_ids=org_ids)
                for m in months]
    members = (await session.execute(select(Member.id, Member.name).where(Member.org_id.in_(org_ids))
                                     .order_by(Member.name, Member.id))).all()
    held = await stars.held(session, member_ids=[m.id for m in members])
    flagged = {f.member_id: f for f in await assess(session, rules=rules, tz=tz, org_ids=org_ids,
                                                    today=min(today, quarter.last_day))}
    answered = await _answered(session, quarter=quarter, tz=tz, org_ids=org_ids)
    rows = []
    for member_id, name in members:
        mine = [month.get(member_id) or metrics.zeros() for month in by_month]
        rows.append(MemberRow(
            name, tuple(int(m["points"]) for m in mine), sum(int(m["points"]) for m in mine),
            tuple(s.name for s in rules.stars if s.name in held.get(member_id, set())),
            sum(int(m["checkins"]) for m in mine), sum(int(m["quiz_correct"]) for m in mine),
            answered.get(member_id, 0), sum(m["service_hours"] for m in mine), _flags(flagged[member_id], rules)))
    start, end = quarter.bounds(tz)
    chain = set(org_ids) | set(await orgs.chain_up(session, org_id=org_id))
    activities = await session.scalar(select(func.count()).select_from(Activity).where(
        Activity.org_id.in_(chain), Activity.closes_at >= start, Activity.closes_at < end))
    return Report(await orgs.path_of(session, org_id=org_id), quarter_label(quarter.start),
                  tuple(m.start.month for m in months), tuple(rows), int(activities or 0),
                  await wishes.counters(session, org_ids=org_ids))


async def _answered(session: AsyncSession, *, quarter: Period, tz: ZoneInfo, org_ids: list[int]) -> dict[int, int]:
    start, end = quarter.bounds(tz)
    rows = await session.execute(
        select(QuizAnswer.member_id, func.count()).where(
            QuizAnswer.at >= start, QuizAnswer.at < end,
            QuizAnswer.member_id.in_(select(Member.id).where(Member.org_id.in_(org_ids))))
        .group_by(QuizAnswer.member_id))
    return {member_id: int(n) for member_id, n in rows}


def _flags(f: Flagged, rules: Rules) -> str:
    """The follow-up flags as the spreadsheet shows them (none for a member under an exemption)."""
    if f.exempt:
        return ""
    line = rules.policy.flag_below
    flags = []
    if f.points.behind_this_year:
        flags.append(f"年度积分进度低于{line}分")
    if f.points.years_below:
        flags.append(f"连续{f.points.years_below}年不足{line}分")
    if f.stars is not None:
        flags.append(f"{f.stars}颗星")
    return "；".join(flags)


def _member_table(report: Report) -> list[list[object]]:
    head: list[object] = ["姓名", *(f"{m}月积分" for m in report.months), *AFTER_MONTHS]
    return [head] + [[r.name, *r.months, r.quarter_points, "、".join(r.stars), r.checkins, r.quiz_correct,
                      r.quiz_answered, round(r.hours, 1), r.flags] for r in report.rows]


def write_csv(report: Report, path: Path) -> None:
    """The member rows, UTF-8 with a BOM so that Excel opens the Chinese correctly."""
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        csv.writer(out).writerows(_member_table(report))


def write_xlsx(report: Report, path: Path) -> None:
    """A members sheet and a summary sheet with the check-in rate, star distribution and a points chart."""
    from openpyxl import Workbook  # only the report command needs it
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    sheet = book.active
    sheet.title = "成员"
    for row in _member_table(report):
        sheet.append(row)
    summary = book.create_sheet("汇总")
    summary.append([f"{report.org} {report.quarter}"])
    summary.append(["党员人数", len(report.rows)])
    summary.append(["组织活动", report.activities])
    summary.append(["签到率", round(report.checkin_rate, 3)])
    summary.append(["微心愿（收集/认领/实现）", "/".join(map(str, report.wishes))])
    summary.append([])
    summary.append(["星数", "人数"])
    for stars_held, count in report.star_distribution():
        summary.append([stars_held, count])
    summary.append([])
    first = summary.max_row + 1
    summary.append(["月份", "积分合计"])
    for month, total in report.points_by_month():
        summary.append([f"{month}月", total])
    chart = BarChart()
    chart.title = "各月积分"
    chart.add_data(Reference(summary, min_col=2, min_row=first, max_row=summary.max_row), titles_from_data=True)
    chart.set_categories(Reference(summary, min_col=1, min_row=first + 1, max_row=summary.max_row))
    summary.add_chart(chart, "D2")
    book.save(path)
