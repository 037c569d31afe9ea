"""督办: the level above colours each organisation's month of organisational life red, yellow or green.

Seeds (002 L147): 主题党日 "月月有计划" with plans filed in advance (C3 计划报备), 党小组 active at least
monthly (C2), and every activity recorded (活动纪实). So, for one organisation and one month:
- red: a 党支部 with no 主题党日 in the month planned on or before the 25th of the month before;
- yellow: a 党小组 with no meeting of its own in the month, or a meeting that ended more than 7 days ago
  with nothing recorded (no minutes text, no photo);
- green otherwise. Every finding is listed, so a red branch also shows its yellow reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.rules.periods import Period, month_of
from bot.storage.models import MeetingKind, OrgKind

PLAN_BY_DAY = 25  # 主题党日 plans are filed by this day of the month before
MINUTES_WITHIN = timedelta(days=7)  # a meeting's record is due this long after it ends


class Colour(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


class Reason(StrEnum):
    NO_PLAN = "no_plan"  # red: no 主题党日 planned in advance
    GROUP_IDLE = "group_idle"  # yellow: a 党小组 held nothing this month
    NO_MINUTES = "no_minutes"  # yellow: a meeting's record is overdue


@dataclass(frozen=True, slots=True)
class MeetingFacts:
    """What the rule needs of one meeting of the organisation, in local dates."""

    id: int
    kind: str
    topic: str
    planned_on: date
    starts_on: date
    ends_at: datetime
    recorded: bool  # minutes text or a photo attached


@dataclass(frozen=True, slots=True)
class Finding:
    reason: Reason
    meeting: MeetingFacts | None = None  # the meeting whose record is overdue

    @property
    def key(self) -> str:
        """What makes a reminder about it once per organisation and month (`no_minutes:12`)."""
        return f"{self.reason}:{self.meeting.id}" if self.meeting else str(self.reason)


@dataclass(frozen=True, slots=True)
class Verdict:
    colour: Colour
    findings: tuple[Finding, ...]


def plan_deadline(month: Period) -> date:
    """The last day a month's 主题党日 may be planned: the 25th of the month before."""
    return month_of(month.start - timedelta(days=1)).start.replace(day=PLAN_BY_DAY)


def judge(kind: str, meetings: Sequence[MeetingFacts], month: Period, now: datetime) -> Verdict:
    """The colour of an organisation of level `kind` for `month`, given its own meetings (others are ignored)."""
    held = [m for m in meetings if month.start <= m.starts_on < month.end]
    findings = [*_plan(kind, held, month), *_idle(kind, held),
                *(Finding(Reason.NO_MINUTES, m) for m in held if not m.recorded and m.ends_at + MINUTES_WITHIN < now)]
    return Verdict(_colour(findings), tuple(findings))


def _plan(kind: str, held: Sequence[MeetingFacts], month: Period) -> list[Finding]:
    if kind != OrgKind.BRANCH:
        return []
    deadline = plan_deadline(month)
    planned = any(m.kind == MeetingKind.THEME_DAY and m.planned_on <= deadline for m in held)
    return [] if planned else [Finding(Reason.NO_PLAN)]


def _idle(kind: str, held: Sequence[MeetingFacts]) -> list[Finding]:
    return [Finding(Reason.GROUP_IDLE)] if kind == OrgKind.GROUP and not held else []


def _colour(findings: Sequence[Finding]) -> Colour:
    if any(f.reason == Reason.NO_PLAN for f in findings):
        return Colour.RED
    return Colour.YELLOW if findings else Colour.GREEN
