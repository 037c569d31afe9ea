"""督办: the colour of each organisation of a subtree for a month (bot/rules/oversight.py), from its meetings;
shared by `督办` in chat, `palmbot oversight` and the reminder job, so all three always agree."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.repo import ledger
from bot.reports.ledger import MeetingRecord
from bot.rules.oversight import MINUTES_WITHIN, PLAN_BY_DAY, Colour, Finding, Verdict, judge, plan_deadline
from bot.rules.periods import Period

ORDER = (Colour.RED, Colour.YELLOW, Colour.GREEN)


@dataclass(frozen=True, slots=True)
class Standing:
    org_id: int
    path: str
    verdict: Verdict


async def survey(session: AsyncSession, *, org_ids: Sequence[int], month: Period, now: datetime,
                 tz: ZoneInfo) -> list[Standing]:
    """Each organisation of `org_ids` with its verdict for `month`: red first, then yellow, then green, by path."""
    start, end = month.bounds(tz)
    held: dict[int, list[MeetingRecord]] = defaultdict(list)
    for record in await ledger.meetings(session, org_ids=org_ids, start=start, end=end, tz=tz):
        held[record.org_id].append(record)
    standings = [Standing(id_, path, judge(kind, [r.facts for r in held[id_]], month, now))
                 for id_, path, kind in await ledger.organisations(session, org_ids=org_ids)]
    return sorted(standings, key=lambda s: (ORDER.index(s.verdict.colour), s.path))


def reason(content: Content, finding: Finding, month: Period) -> str:
    """A finding in words (content/replies/oversight_reason.j2)."""
    return content.render("oversight_reason", finding=finding, month=month.start, deadline=plan_deadline(month),
                          days=MINUTES_WITHIN.days)


@dataclass(frozen=True, slots=True)
class Line:
    """One organisation as 督办 shows it: its id and full path, its colour (`Colour` value) and each finding in
    words, in the order of `survey`."""

    org_id: int
    path: str
    colour: str
    reasons: tuple[str, ...]


def lines(content: Content, standings: Sequence[Standing], month: Period) -> list[Line]:
    """The standings in words, as `督办` in chat and the console's 督办 page show them."""
    return [Line(s.org_id, s.path, s.verdict.colour.value, tuple(reason(content, f, month) for f in s.verdict.findings))
            for s in standings]


def counts(standings: Sequence[Standing]) -> dict[str, int]:
    """How many organisations are of each colour: {"red": n, "yellow": n, "green": n}."""
    return {colour.value: sum(s.verdict.colour == colour for s in standings) for colour in Colour}


def view(content: Content, standings: Sequence[Standing], month: Period, scope: str) -> str:
    """The 督办 view, the same in chat and from `palmbot oversight`."""
    shown = [(line.path, line.colour, line.reasons) for line in lines(content, standings, month)]
    return content.render("oversight", scope=scope, month=month.start, standings=shown, counts=counts(standings),
                          plan_by=PLAN_BY_DAY, days=MINUTES_WITHIN.days)
