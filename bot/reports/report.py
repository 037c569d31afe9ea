"""An organisation's report for a calendar quarter or year: a row per member, a summary, and a summary per 支部
when it has branches under it (a 党总支 or 党委), as plain data for chat and pages (bot/reports/layout.py
writes it as CSV or XLSX).

A member's 支部 is the nearest 党支部 at or above their organisation inside the report's subtree (a 党小组's
members count with their branch); a 党总支's own members stand with the 党总支 itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.rules import Rules
from bot.life.follow_up import Flagged, assess
from bot.repo import meetings, metrics, orgs, stars, wishes
from bot.rules.periods import Period, months_in, period_label
from bot.storage.models import Activity, Member, Organisation, OrgKind, QuizAnswer


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One member over the report's period."""

    name: str
    branch: str  # their 支部, as the report's `branches` name it
    months: tuple[int, ...]  # points in each month of the period (after the monthly cap)
    points: int  # over the period
    stars: tuple[str, ...]  # held now, in the order of rules.toml
    checkins: int
    activities: int  # check-ins open to them: activities of their organisation and those above it
    quiz_correct: int
    quiz_answered: int
    hours: float  # confirmed volunteer service
    missed: int  # meetings missed (absent or on leave), each to catch up on by 补学 or 送学
    caught_up: int  # of those, caught up
    flags: str  # follow-up flags joined by "；" ("" for none, or under an exemption)

    @property
    def checkin_rate(self) -> float | None:
        """Check-ins over check-ins open to them, 0.0–1.0; None when none was open."""
        return _ratio(self.checkins, self.activities)


@dataclass(frozen=True, slots=True)
class Branch:
    """A 支部 of the report: its name as the report shows it, and its micro-wishes."""

    name: str
    wishes: tuple[int, int, int]  # collected, claimed so far, fulfilled


@dataclass(frozen=True, slots=True)
class Summary:
    """The figures of some members: the whole report's, or one 支部's."""

    name: str
    members: int
    points: int
    months: tuple[int, ...]  # points in each month of the period
    checkin_rate: float | None  # check-ins over check-ins open, 0.0–1.0; None when none was open
    makeup_rate: float | None  # meetings caught up (补学 or 送学) over meetings missed; None when none was missed
    star_holders: int  # members holding at least one star
    hours: float
    wishes: tuple[int, int, int]  # collected, claimed so far, fulfilled


@dataclass(frozen=True, slots=True)
class Report:
    """What `build` gathered; the methods give what a page or a sheet draws, as plain numbers and lists."""

    org: str  # the organisation's full path
    period: Period  # a calendar quarter or year
    months: tuple[int, ...]  # the month numbers of the period, in order
    rows: tuple[MemberRow, ...]  # by name
    activities: int  # activities held in the period for the subtree or above it
    wishes: tuple[int, int, int]  # the subtree's micro-wishes: collected, claimed so far, fulfilled
    branches: tuple[Branch, ...]  # by path; one (the organisation's own) when it has no branches under it

    @property
    def label(self) -> str:
        """`2026Q4` or `2026年`."""
        return period_label(self.period)

    @property
    def has_branches(self) -> bool:
        """Whether its members belong to several 支部 (a 党总支 or 党委): the sheets then show each."""
        return len(self.branches) > 1

    @property
    def checkin_rate(self) -> float | None:
        return self.summary().checkin_rate

    @property
    def makeup_rate(self) -> float | None:
        return self.summary().makeup_rate

    def summary(self) -> Summary:
        return summarise(self.org, self.rows, self.wishes, len(self.months))

    def by_branch(self) -> list[Summary]:
        """One summary per 支部, in the order of `branches`."""
        return [summarise(b.name, [r for r in self.rows if r.branch == b.name], b.wishes, len(self.months))
                for b in self.branches]

    def star_distribution(self) -> list[tuple[int, int]]:
        """(stars held, members holding that many), from 0 up."""
        counts = Counter(len(r.stars) for r in self.rows)
        return [(n, counts.get(n, 0)) for n in range(max(counts, default=0) + 1)]

    def points_by_month(self) -> list[tuple[int, int]]:
        """(month number, points of all members that month)."""
        return list(zip(self.months, self.summary().months, strict=True))


def summarise(name: str, rows: Sequence[MemberRow], wishes: tuple[int, int, int], months: int) -> Summary:
    """The figures of these member rows (`months`: how many months the period has)."""
    return Summary(name, len(rows), sum(r.points for r in rows),
                   tuple(sum(r.months[i] for r in rows) for i in range(months)),
                   _ratio(sum(r.checkins for r in rows), sum(r.activities for r in rows)),
                   _ratio(sum(r.caught_up for r in rows), sum(r.missed for r in rows)),
                   sum(1 for r in rows if r.stars), sum(r.hours for r in rows), wishes)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def build(session: AsyncSession, *, org_id: int, period: Period, rules: Rules, tz: ZoneInfo,
                today: date) -> Report:
    """The period (a calendar quarter or year, every month of it even when not over) for the organisation and
    every organisation under it; follow-up flags as of `today` or the period's last day, whichever is first.
    Members are ordered by name; `branches` lists the 支部 of organisations with members, and every 党支部."""
    tree = await _Tree.load(session, org_id=org_id)
    members = (await session.execute(select(Member.id, Member.name, Member.org_id)
                                     .where(Member.org_id.in_(list(tree.orgs))).order_by(Member.name, Member.id))).all()
    units = tree.units({org for _, _, org in members})
    names = tree.names(units)
    gathered = await _gather(session, period=period, rules=rules, tz=tz, today=today, org_ids=list(tree.orgs),
                             member_ids=[m.id for m in members])
    held, open_to = await _activities(session, tree, period, tz)
    rows = tuple(gathered.row(member_id, name, names[tree.unit[org].id], open_to[org], rules)
                 for member_id, name, org in members)
    wished = await wishes.counters_by_org(session, org_ids=list(tree.orgs))
    branches = tuple(Branch(names[u.id], wishes.total(n for org, n in wished.items() if tree.unit[org] == u))
                     for u in units)
    return Report(tree.root.path, period, tuple(m.start.month for m in months_in(period)), rows, held,
                  wishes.total(wished.values()), branches)


@dataclass(frozen=True, slots=True)
class _Org:
    id: int
    kind: str
    name: str
    path: str


@dataclass(frozen=True, slots=True)
class _Tree:
    """The report's subtree, walked by path (one query, whatever its depth), and the 支部 of each organisation."""

    root: _Org
    orgs: dict[int, _Org]
    by_path: dict[str, _Org]
    unit: dict[int, _Org]  # organisation id → the 支部 its members count with

    @classmethod
    async def load(cls, session: AsyncSession, *, org_id: int) -> _Tree:
        ids = await orgs.subtree(session, org_id=org_id)
        found = {o.id: o for o in (_Org(*row) for row in await session.execute(
            select(Organisation.id, Organisation.kind, Organisation.name, Organisation.path)
            .where(Organisation.id.in_(ids))))}
        by_path = {o.path: o for o in found.values()}
        unit = {o.id: next((up for up in _up(o, by_path) if up.kind == OrgKind.BRANCH), o) for o in found.values()}
        return cls(found[org_id], found, by_path, unit)

    def up(self, org_id: int) -> list[_Org]:
        return _up(self.orgs[org_id], self.by_path)

    def units(self, with_members: set[int]) -> list[_Org]:
        """The 支部 of the report, by path: those of organisations with members, and every 党支部."""
        found = {self.unit[o.id] for o in self.orgs.values() if o.id in with_members or o.kind == OrgKind.BRANCH}
        return sorted(found, key=lambda o: o.path)

    def names(self, units: Sequence[_Org]) -> dict[int, str]:
        """Each 支部's name, or its path below the root when names repeat (two villages' 第一党支部)."""
        if len({u.name for u in units}) == len(units):
            return {u.id: u.name for u in units}
        return {u.id: u.path.removeprefix(self.root.path + orgs.SEPARATOR) if u != self.root else u.name
                for u in units}


def _up(org: _Org, by_path: dict[str, _Org]) -> list[_Org]:
    """The organisation and those above it inside the subtree, nearest first."""
    chain, path = [], org.path
    while path in by_path:
        chain.append(by_path[path])
        path = path.rpartition(orgs.SEPARATOR)[0]
    return chain


@dataclass(frozen=True, slots=True)
class _Gathered:
    """What the queries found for the members over the period, by member id."""

    by_month: list[dict[int, metrics.Metrics]]
    held: dict[int, set[str]]
    flagged: dict[int, Flagged]
    answered: dict[int, int]
    catch_ups: dict[int, tuple[int, int]]

    def row(self, member_id: int, name: str, branch: str, activities: int, rules: Rules) -> MemberRow:
        months = [month.get(member_id) or metrics.zeros() for month in self.by_month]
        points = tuple(int(m["points"]) for m in months)
        held = self.held.get(member_id, set())
        return MemberRow(name, branch, points, sum(points), tuple(s.name for s in rules.stars if s.name in held),
                         sum(int(m["checkins"]) for m in months), activities,
                         sum(int(m["quiz_correct"]) for m in months), self.answered.get(member_id, 0),
                         sum(m["service_hours"] for m in months), *self.catch_ups.get(member_id, (0, 0)),
                         _flags(self.flagged[member_id], rules))


async def _gather(session: AsyncSession, *, period: Period, rules: Rules, tz: ZoneInfo, today: date,
                  org_ids: list[int], member_ids: list[int]) -> _Gathered:
    cap, (start, end) = rules.policy.monthly_cap, period.bounds(tz)
    by_month = [await metrics.for_members(session, period=m, tz=tz, monthly_cap=cap, life=rules.life,
                                          org_ids=org_ids) for m in months_in(period)]
    flagged = {f.member_id: f for f in await assess(session, rules=rules, tz=tz, org_ids=org_ids,
                                                    today=min(today, period.last_day))}
    answered = {member_id: int(n) for member_id, n in await session.execute(
        select(QuizAnswer.member_id, func.count()).where(
            QuizAnswer.at >= start, QuizAnswer.at < end,
            QuizAnswer.member_id.in_(select(Member.id).where(Member.org_id.in_(org_ids))))
        .group_by(QuizAnswer.member_id))}
    return _Gathered(by_month, await stars.held(session, member_ids=member_ids), flagged, answered,
                     await meetings.catch_ups(session, org_ids=org_ids, start=start, end=end))


async def _activities(session: AsyncSession, tree: _Tree, period: Period, tz: ZoneInfo) -> tuple[int, dict[int, int]]:
    """Activities closing in the period for the subtree or above it, and for each organisation of the subtree
    how many were open to its members (its own and those above it: where `签到` finds them)."""
    start, end = period.bounds(tz)
    above = (await orgs.chain_up(session, org_id=tree.root.id))[1:]
    counts = {org: int(n) for org, n in await session.execute(
        select(Activity.org_id, func.count()).where(Activity.org_id.in_([*tree.orgs, *above]),
                                                     Activity.closes_at >= start, Activity.closes_at < end)
        .group_by(Activity.org_id))}
    over = sum(counts.get(org, 0) for org in above)
    return sum(counts.values()), {org: over + sum(counts.get(o.id, 0) for o in tree.up(org)) for org in tree.orgs}


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
