"""Pure rules of issue 5 as tables: volunteer claims, star changes, follow-up flags, boards, wishes, periods."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.rules.boards import Ranked, ServiceStar, service_star, top_ten
from bot.rules.periods import Period, month_of, months_in, parse_quarter, previous_quarter
from bot.rules.points import FollowUp, PointsPolicy, first_full_year, follow_up, scores_by_year, standing
from bot.rules.stars import Change, Requirement, Star, changes, evaluate
from bot.rules.volunteer import Claim, parse_claim, points_for, same_service
from bot.rules.wishes import NewWish, leaks_private, parse_wish

POLICY = PointsPolicy(monthly_cap=10, yearly_line=120, flag_below=60, follow_up_years=3)
STARS = (Star("学习星", (Requirement("quiz_correct", at_least=6),)),
         Star("服务星", (Requirement("service_hours", at_least=4),)),
         Star("自律星", (Requirement("checkins", at_least=1), Requirement("deductions", at_most=0))))


@pytest.mark.parametrize(("text", "claim"), [
    ("2 社区环境整治", Claim(120, "社区环境整治")),
    ("1.5 帮老人买药 送到家", Claim(90, "帮老人买药 送到家")),
    ("3小时 义务巡逻", Claim(180, "义务巡逻")),
    ("2社区环境整治", Claim(120, "社区环境整治")),  # no space
    ("2，社区环境整治", Claim(120, "社区环境整治")),
    ("1.5个小时，帮老人买药", Claim(90, "帮老人买药")),
    ("0.5 清扫楼道", Claim(30, "清扫楼道")),
    ("１．５　帮五保户打扫卫生", Claim(90, "帮五保户打扫卫生")),  # full-width hours and space
    ("１．５ｈ，帮老人买药，送到家", Claim(90, "帮老人买药，送到家")),  # the description keeps its punctuation
    ("２小时　清扫楼道", Claim(120, "清扫楼道")),
    ("1.5小时，打扫卫生。", Claim(90, "打扫卫生")),  # voice: its full stop is not part of what was done
    ("24 防汛值守", Claim(1440, "防汛值守")),
    ("25 防汛值守", None),  # more than a day
    ("0 清扫", None),
    ("-2 清扫", None),
    ("1.2 清扫", None),  # not a half hour
    ("两 小时清扫", None),
    ("2", None),  # no description
    ("社区环境整治", None),
    ("", None),
])
def test_parse_claim(text: str, claim: Claim | None) -> None:
    assert parse_claim(text) == claim


@pytest.mark.parametrize(("one", "other", "same"), [
    ("打扫卫生", "打扫卫生", True), ("打扫卫生", "打扫 卫生", True), ("打扫卫生", "打扫卫生！", True),
    ("帮五保户打扫卫生", "帮五保户，打扫卫生", True), ("Help 老人", "help老人", True), ("打扫卫生", "打扫卫生（下午）", False),
    ("打扫卫生", "打扫厕所", False), ("扶贫", "扶贫帮困", False),
])
def test_a_claim_typed_again_is_the_same_service_whatever_its_spaces_and_punctuation(one: str, other: str,
                                                                                    same: bool) -> None:
    assert same_service(one, other) is same


@pytest.mark.parametrize(("minutes", "per_hour", "points"), [(120, 1, 2), (90, 1, 1), (30, 1, 0), (90, 2, 3), (60, 0, 0)])
def test_confirmed_hours_become_whole_points_rounded_down(minutes: int, per_hour: int, points: int) -> None:
    assert points_for(minutes, per_hour) == points


@pytest.mark.parametrize(("held_before", "metrics", "expected"), [
    # just met: exactly the bound grants the star
    (set(), {"quiz_correct": 6, "service_hours": 4, "checkins": 1}, [Change("学习星", True), Change("服务星", True),
                                                                     Change("自律星", True)]),
    # one short of each bound: nothing to grant
    (set(), {"quiz_correct": 5, "service_hours": 3.5, "checkins": 0}, []),
    # held and still met: no change
    ({"服务星"}, {"service_hours": 8}, []),
    # star lost: held, but this quarter falls short
    ({"学习星", "服务星"}, {"quiz_correct": 2, "service_hours": 5}, [Change("学习星", False)]),
    # a deduction removes 自律星 even with check-ins
    ({"自律星"}, {"checkins": 3, "deductions": 1}, [Change("自律星", False)]),
])
def test_star_changes_against_the_stars_held(held_before: set[str], metrics: dict[str, float],
                                             expected: list[Change]) -> None:
    assert changes(held_before, evaluate(STARS, metrics)) == expected


def test_a_correction_after_the_cap_does_not_lower_the_month_but_one_below_it_does() -> None:
    today = date(2026, 5, 31)
    capped = [(date(2026, 5, 2), 8), (date(2026, 5, 15), 6), (date(2026, 5, 20), -2)]  # cap reached mid-month
    assert standing(capped, today, POLICY).month == 10
    below = [(date(2026, 5, 2), 4), (date(2026, 5, 15), 2), (date(2026, 5, 20), -2)]
    assert standing(below, today, POLICY).month == 4


@pytest.mark.parametrize(("scores", "today", "since", "expected"), [
    # on pace: 50 by the end of October is above 60 × 10/12
    ({2026: 51}, date(2026, 11, 16), 2026, FollowUp(False, 0)),
    ({2026: 49, 2025: 80}, date(2026, 11, 16), 2020, FollowUp(True, 0)),
    ({2026: 49}, date(2026, 11, 16), 2027, FollowUp(False, 0)),  # not yet a full year on the roster
    # January: no month is over yet, so nobody is behind this year
    ({}, date(2026, 1, 10), 2020, FollowUp(False, 3 + 3)),
    # three complete years running under the line
    ({2023: 59, 2024: 30, 2025: 10, 2026: 100}, date(2026, 11, 16), 2023, FollowUp(False, 3)),
    ({2023: 59, 2024: 30, 2025: 10, 2026: 100}, date(2026, 11, 16), 2020, FollowUp(False, 6)),
    # the run is broken by 2024
    ({2023: 59, 2024: 60, 2025: 10, 2026: 100}, date(2026, 11, 16), 2020, FollowUp(False, 1)),
    # years before the member's first full year on the roster do not count
    ({2026: 100}, date(2026, 11, 16), 2025, FollowUp(False, 1)),
    ({2026: 0}, date(2026, 11, 16), 2027, FollowUp(False, 0)),
])
def test_follow_up_flags(scores: dict[int, int], today: date, since: int, expected: FollowUp) -> None:
    assert follow_up(scores, today, POLICY, since) == expected


@pytest.mark.parametrize(("since", "year"), [(date(2024, 1, 1), 2024), (date(2024, 1, 2), 2025),
                                             (date(2024, 2, 29), 2025), (date(2024, 12, 31), 2025)])
def test_first_full_year_on_the_roster(since: date, year: int) -> None:
    assert first_full_year(since) == year


def test_scores_by_year_cap_each_month_including_29_february() -> None:
    entries = [(date(2028, 2, 28), 6), (date(2028, 2, 29), 6), (date(2028, 3, 1), 4), (date(2027, 12, 31), 12)]
    assert scores_by_year(entries, 10) == {2028: 14, 2027: 10}


@pytest.mark.parametrize(("label", "period"), [
    ("2026Q4", Period(date(2026, 10, 1), date(2027, 1, 1))),
    ("2028q1", Period(date(2028, 1, 1), date(2028, 4, 1))),
    ("2026Q5", None), ("2026", None), ("Q4", None), ("二〇二六Q4", None),
])
def test_parse_quarter(label: str, period: Period | None) -> None:
    assert parse_quarter(label) == period


@pytest.mark.parametrize(("day", "quarter"), [
    (date(2027, 1, 1), Period(date(2026, 10, 1), date(2027, 1, 1))),
    (date(2026, 4, 1), Period(date(2026, 1, 1), date(2026, 4, 1))),
    (date(2026, 6, 30), Period(date(2026, 1, 1), date(2026, 4, 1))),
])
def test_a_review_on_the_first_day_judges_the_quarter_just_ended(day: date, quarter: Period) -> None:
    assert previous_quarter(day) == quarter


def test_months_of_a_leap_quarter() -> None:
    months = months_in(parse_quarter("2028Q1") or Period(date.min, date.min))
    assert [(m.start, m.end) for m in months] == [
        (date(2028, 1, 1), date(2028, 2, 1)), (date(2028, 2, 1), date(2028, 3, 1)), (date(2028, 3, 1), date(2028, 4, 1))]
    assert month_of(date(2028, 2, 29)).last_day == date(2028, 2, 29)
    assert month_of(date(2026, 12, 31)) == Period(date(2026, 12, 1), date(2027, 1, 1))


def test_top_ten_is_positive_only_capped_and_shares_places() -> None:
    sums = [("甲", 14), ("乙", 10), ("丙", 7), ("丁", 0), ("戊", -2), ("己", 7)] + [(f"成员{i}", 1) for i in range(10)]
    board = top_ten(sums, 10)
    assert board[:4] == [Ranked(1, "乙", 10), Ranked(1, "甲", 10), Ranked(3, "丙", 7), Ranked(3, "己", 7)]
    assert len(board) == 10 and all(r.points > 0 for r in board)
    assert top_ten([("丁", 0), ("戊", -2)], 10) == []


def test_service_star_most_hours_and_the_earlier_confirmation_wins_a_tie() -> None:
    at = lambda day, hour: datetime(2026, 10, day, hour)
    # 1 and 2 both have 120 minutes: 1 reached it on the 3rd, 2 only with its second claim on the 5th
    rows = [(2, 60, at(2, 9)), (1, 120, at(3, 9)), (2, 60, at(5, 9)), (3, 90, at(1, 9))]
    assert service_star(rows) == ServiceStar(1, 120)
    assert service_star([(1, 60, at(3, 9)), (2, 120, at(4, 9)), (1, 60, at(6, 9))]) == ServiceStar(2, 120)
    assert service_star([(3, 30, at(1, 9)), (4, 60, at(28, 9))]) == ServiceStar(4, 60)
    assert service_star([]) is None


@pytest.mark.parametrize(("text", "wish"), [
    ("想要一台收音机听新闻 王秀兰 13912345678", NewWish("想要一台收音机听新闻", "王秀兰", "13912345678")),
    ("帮忙 修理 水龙头 老李 0577-88886666", NewWish("帮忙 修理 水龙头", "老李", "0577-88886666")),
    ("想要一台收音机 王秀兰", None),  # no phone
    ("王秀兰 13912345678", None),  # no content
])
def test_parse_wish(text: str, wish: NewWish | None) -> None:
    assert parse_wish(text) == wish


@pytest.mark.parametrize(("content", "leaks"), [
    ("想要一台收音机", False), ("王秀兰想要一台收音机", True), ("想要收音机，电话13912345678", True),
])
def test_a_wish_naming_the_resident_or_a_phone_is_refused(content: str, leaks: bool) -> None:
    assert leaks_private(NewWish(content, "王秀兰", "13912345678")) == leaks
