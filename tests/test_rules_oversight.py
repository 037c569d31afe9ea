"""督办's rule (bot/rules/oversight.py): red for a 党支部 whose 主题党日 was not planned by the 25th of the month
before, yellow for an idle 党小组 or a meeting without minutes a week after it ended, green otherwise."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.rules.oversight import Colour, MeetingFacts, Reason, judge, plan_deadline
from bot.rules.periods import month_of, parse_month

TZ = ZoneInfo("Asia/Shanghai")
NOVEMBER = month_of(date(2026, 11, 1))
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=TZ)
THEME, GENERAL, GROUP_MEETING = "主题党日", "党员大会", "党小组会"
BRANCH, GROUP, GENERAL_BRANCH, COMMITTEE = "党支部", "党小组", "党总支", "党委"


def held(kind: str, starts: date, planned: date, *, ends: datetime | None = None, recorded: bool = True,
         id_: int = 1) -> MeetingFacts:
    return MeetingFacts(id_, kind, "学习全会精神", planned, starts,
                        ends or datetime(starts.year, starts.month, starts.day, 16, 30, tzinfo=TZ), recorded)


THEME_DAY = held(THEME, date(2026, 11, 15), date(2026, 10, 20))

# (organisation, its level, its meetings, the colour for November 2026 seen on the 16th, the reasons)
TREE = [
    ("塘约村党总支", GENERAL_BRANCH, [], Colour.GREEN, []),
    ("第一党支部", BRANCH, [THEME_DAY], Colour.GREEN, []),
    ("第一党支部/第一党小组", GROUP, [], Colour.YELLOW, [Reason.GROUP_IDLE]),
    ("第二党支部", BRANCH, [held(THEME, date(2026, 11, 15), date(2026, 10, 27))], Colour.RED, [Reason.NO_PLAN]),
    ("第二党支部/第一党小组", GROUP, [held(GROUP_MEETING, date(2026, 11, 5), date(2026, 11, 1))], Colour.GREEN, []),
    ("第三党支部", BRANCH, [held(THEME, date(2026, 11, 15), date(2026, 10, 25)),
                        held("支委会", date(2026, 11, 3), date(2026, 11, 1), recorded=False, id_=9)],
     Colour.YELLOW, [Reason.NO_MINUTES]),
]


@pytest.mark.parametrize(("org", "kind", "meetings", "colour", "reasons"), TREE, ids=[row[0] for row in TREE])
def test_the_three_branch_tree_in_november(org: str, kind: str, meetings: list[MeetingFacts], colour: Colour,
                                           reasons: list[Reason]) -> None:
    verdict = judge(kind, meetings, NOVEMBER, NOW)
    assert (verdict.colour, [f.reason for f in verdict.findings]) == (colour, reasons)


@pytest.mark.parametrize(("kind", "meetings", "colour", "keys"), [
    # 计划报备: on the 25th of the month before is in time, the 26th is late; another month's plan is not this one's
    (BRANCH, [held(THEME, date(2026, 11, 15), date(2026, 10, 25))], Colour.GREEN, []),
    (BRANCH, [held(THEME, date(2026, 11, 15), date(2026, 10, 26))], Colour.RED, ["no_plan"]),
    (BRANCH, [], Colour.RED, ["no_plan"]),
    (BRANCH, [held(THEME, date(2026, 10, 15), date(2026, 9, 20))], Colour.RED, ["no_plan"]),
    (BRANCH, [held(GENERAL, date(2026, 11, 15), date(2026, 10, 1))], Colour.RED, ["no_plan"]),
    (BRANCH, [held(THEME, date(2026, 11, 2), date(2026, 10, 1)), held(THEME, date(2026, 11, 15), date(2026, 11, 10))],
     Colour.GREEN, []),
    # minutes: due a week after the meeting ends; a photo of them counts; red keeps its yellow reasons
    (BRANCH, [THEME_DAY, held(GENERAL, date(2026, 11, 2), date(2026, 11, 1), recorded=False, id_=4)],
     Colour.YELLOW, ["no_minutes:4"]),
    (BRANCH, [THEME_DAY, held(GENERAL, date(2026, 11, 9), date(2026, 11, 1), recorded=False,
                              ends=datetime(2026, 11, 9, 9, 0, tzinfo=TZ))], Colour.GREEN, []),
    (BRANCH, [THEME_DAY, held(GENERAL, date(2026, 11, 9), date(2026, 11, 1), recorded=False,
                              ends=datetime(2026, 11, 9, 8, 59, tzinfo=TZ), id_=5)], Colour.YELLOW, ["no_minutes:5"]),
    (BRANCH, [held(GENERAL, date(2026, 11, 2), date(2026, 11, 1), recorded=False, id_=6)], Colour.RED,
     ["no_plan", "no_minutes:6"]),
    (BRANCH, [THEME_DAY, held(GENERAL, date(2026, 10, 2), date(2026, 10, 1), recorded=False)], Colour.GREEN, []),
    # a 党小组 is active with any meeting of its own in the month, one planned for later in it too
    (GROUP, [], Colour.YELLOW, ["group_idle"]),
    (GROUP, [held(GENERAL, date(2026, 11, 28), date(2026, 11, 10))], Colour.GREEN, []),
    (GROUP, [held(GROUP_MEETING, date(2026, 10, 28), date(2026, 10, 10))], Colour.YELLOW, ["group_idle"]),
    (GROUP, [held(GROUP_MEETING, date(2026, 11, 2), date(2026, 11, 1), recorded=False, id_=7)], Colour.YELLOW,
     ["no_minutes:7"]),
    # the levels above branches have no 主题党日 of their own to plan, and are never idle
    (GENERAL_BRANCH, [], Colour.GREEN, []),
    (COMMITTEE, [held(GENERAL, date(2026, 11, 2), date(2026, 11, 1), recorded=False, id_=8)], Colour.YELLOW,
     ["no_minutes:8"]),
])
def test_colours_and_their_reasons(kind: str, meetings: list[MeetingFacts], colour: Colour,
                                   keys: list[str]) -> None:
    verdict = judge(kind, meetings, NOVEMBER, NOW)
    assert (verdict.colour, [f.key for f in verdict.findings]) == (colour, keys)


@pytest.mark.parametrize(("month", "deadline"), [
    (date(2026, 11, 1), date(2026, 10, 25)), (date(2027, 1, 1), date(2026, 12, 25)), (date(2026, 3, 1), date(2026, 2, 25)),
])
def test_the_plan_is_due_on_the_25th_of_the_month_before(month: date, deadline: date) -> None:
    assert plan_deadline(month_of(month)) == deadline


@pytest.mark.parametrize(("text", "month"), [
    ("11月", date(2026, 11, 1)), ("11", date(2026, 11, 1)), ("10月", date(2026, 10, 1)),
    ("12月", date(2026, 12, 1)), ("1月", date(2026, 1, 1)), ("2026年12月", date(2026, 12, 1)), ("2026-12", date(2026, 12, 1)),
    ("2026/3", date(2026, 3, 1)), ("本月", date(2026, 11, 1)), ("上月", date(2026, 10, 1)), ("上个月", date(2026, 10, 1)),
    ("13月", None), ("0月", None), ("十一月", None), ("明天", None),
])
def test_a_month_as_people_write_it(text: str, month: date | None) -> None:
    found = parse_month(text, date(2026, 11, 16))
    assert (found.start if found else None) == month
