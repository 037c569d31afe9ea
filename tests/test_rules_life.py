"""Pure rules of issue 14 part B as tables: the 学分卡 rule, reading `扣分` and `豁免`, and exempt star reviews."""

from __future__ import annotations

from datetime import date

import pytest

from bot.content.rules import Deduction
from bot.conversation.grammar import read
from bot.rules.attendance import Lapses, absences, conduct_deductions, needs_notice
from bot.rules.deductions import Asked, listed_points, parse, points_for
from bot.rules.exemptions import parse as parse_exemption
from bot.rules.stars import Change, Requirement, Shortfall, Star, StarStatus, changes, evaluate, excused

LISTED = (Deduction("无故缺席组织生活", 2), Deduction("违反村规民约", 3))
TODAY = date(2026, 11, 16)


@pytest.mark.parametrize(("absent", "late", "per", "expected"), [
    (0, 0, 2, 0),
    (1, 0, 2, 1),
    (0, 1, 2, 0),  # one late arrival is not yet an absence
    (0, 2, 2, 1),  # 迟到2次视为缺席1次
    (0, 3, 2, 1),
    (2, 5, 2, 4),
    (1, 3, 3, 2),
    (0, 3, 1, 3),  # every late arrival an absence
])
def test_late_arrivals_count_as_absences_by_the_rule(absent: int, late: int, per: int, expected: int) -> None:
    assert absences(Lapses(absent, late), per) == expected


@pytest.mark.parametrize(("unexcused", "before_notice", "told"), [
    (0, 2, False), (2, 2, False), (3, 2, True), (1, 0, True), (0, 0, False), (5, 5, False), (6, 5, True)])
def test_the_secretary_is_told_once_absences_are_more_than_the_rule_allows(
        unexcused: int, before_notice: int, told: bool) -> None:
    assert needs_notice(unexcused, before_notice) is told


@pytest.mark.parametrize(("unexcused", "flag", "expected"), [(0, True, 0), (3, True, 3), (3, False, 0), (0, False, 0)])
def test_absences_count_as_deductions_only_when_the_rules_say_so(unexcused: int, flag: bool, expected: int) -> None:
    assert conduct_deductions(unexcused, flag) == expected


@pytest.mark.parametrize(("typed", "asked", "reason"), [
    ("王芳 2 无故缺席", Asked("王芳", "", 2, 0), "无故缺席"),
    ("王芳 扣2分 不按时交纳党费。", Asked("王芳", "", 2, 0), "不按时交纳党费"),
    ("王芳扣２分，违反村规民约", Asked("王芳", "", 2, 0), "违反村规民约"),  # full-width, no spaces
    ("王芳 2分无故缺席", Asked("王芳", "", 2, 0), "无故缺席"),
    ("王芳 -3 理由", Asked("王芳", "", 3, 0), "理由"),
    ("王芳 0112 2 理由", Asked("王芳", "0112", 2, 0), "理由"),  # a phone's last four digits, then the points
    ("王芳 无故缺席组织生活", Asked("王芳", "", None, 0), "无故缺席组织生活"),
    ("王芳 扣押物品", Asked("王芳", "", None, 0), "扣押物品"),  # 扣 not followed by a number is the reason's
    ("王芳", Asked("王芳", "", None, 0), ""),
])
def test_reading_a_deduction(typed: str, asked: Asked, reason: str) -> None:
    norm = read(typed).norm
    found = parse(norm)
    assert found is not None and (found.name, found.tail, found.points) == (asked.name, asked.tail, asked.points)
    assert norm[found.reason_at:].rstrip("。") == reason


def test_nothing_after_the_command_is_no_deduction() -> None:
    assert parse("") is None and parse("  ") is None


@pytest.mark.parametrize(("reason", "points"), [
    ("无故缺席组织生活", 2), ("无故缺席组织生活，11月主题党日", 2), ("违反村规民约", 3), ("打架", None), ("缺席", None)])
def test_a_listed_reason_gives_its_points(reason: str, points: int | None) -> None:
    assert listed_points(reason, LISTED) == points


@pytest.mark.parametrize(("typed", "reason", "most", "points"), [
    (2, "打架斗殴", 10, 2),  # a free reason with its number
    (None, "打架斗殴", 10, None),  # a free reason needs a number
    (None, "违反村规民约", 10, 3),
    (5, "违反村规民约", 10, 5),  # the secretary's number wins over the listed one
    (11, "违反村规民约", 10, None),  # more than one deduction may take
    (0, "违反村规民约", 10, None),
    (None, "违反村规民约", 2, None),  # a listed reason over the most (content check refuses such rules)
])
def test_the_points_a_deduction_takes(typed: int | None, reason: str, most: int, points: int | None) -> None:
    assert points_for(Asked("王芳", "", typed, 0), reason, LISTED, most) == points


@pytest.mark.parametrize(("typed", "tail", "starts", "ends", "reason"), [
    ("王芳 2026-12-01 2027-02-28 转场放牧", "", date(2026, 12, 1), date(2027, 2, 28), "转场放牧"),
    ("王芳 12月1日至2月28日 生病住院。", "", date(2026, 12, 1), date(2027, 2, 28), "生病住院"),  # into next year
    ("王芳 0112 12.1-2.28 年老体弱", "0112", date(2026, 12, 1), date(2027, 2, 28), "年老体弱"),
    ("王芳 １２月１日—１２月３１日 转场", "", date(2026, 12, 1), date(2026, 12, 31), "转场"),  # full-width
    ("王芳 2026年11月10日到2027年1月5日 病", "", date(2026, 11, 10), date(2027, 1, 5), "病"),
    ("王芳 2026.12.1 2026.12.31 住院", "", date(2026, 12, 1), date(2026, 12, 31), "住院"),
    ("王芳 11月20号 12月10号 住院", "", date(2026, 11, 20), date(2026, 12, 10), "住院"),  # a start just past
    ("王芳 1月5日 3月1日 转场", "", date(2027, 1, 5), date(2027, 3, 1), "转场"),  # the nearest 1月5日 is next year's
    ("王芳 12.1 2.28", "", date(2026, 12, 1), date(2027, 2, 28), ""),  # the reason is asked for
])
def test_reading_an_exemption(typed: str, tail: str, starts: date, ends: date, reason: str) -> None:
    norm = read(typed).norm
    found = parse_exemption(norm, TODAY)
    assert found is not None and (found.name, found.tail, found.starts_on, found.ends_on) == ("王芳", tail, starts, ends)
    assert norm[found.reason_at:] == reason


@pytest.mark.parametrize("typed", ["王芳", "王芳 12月1日 转场", "王芳 2月30日 3月1日 转场", "王芳 2026-13-01 2027-01-01 x", ""])
def test_an_exemption_without_two_real_dates_is_not_read(typed: str) -> None:
    assert parse_exemption(read(typed).norm, TODAY) is None


STARS = (Star("敬业星", (Requirement("checkins", at_least=3),)),
         Star("自律星", (Requirement("checkins", at_least=1), Requirement("deductions", at_most=0))))


@pytest.mark.parametrize(("status", "expected"), [
    (StarStatus("敬业星", True, ()), False),
    (StarStatus("敬业星", False, (Shortfall("checkins", 2, False),)), True),
    (StarStatus("自律星", False, (Shortfall("deductions", 0, True),)), False),  # a limit crossed is conduct
    (StarStatus("自律星", False, (Shortfall("checkins", 1, False), Shortfall("deductions", 0, True))), False),
])
def test_an_exemption_excuses_only_what_was_left_undone(status: StarStatus, expected: bool) -> None:
    assert excused(status) is expected


@pytest.mark.parametrize(("held", "metrics", "exempt", "expected"), [
    ({"敬业星", "自律星"}, {}, False, [Change("敬业星", False), Change("自律星", False)]),
    ({"敬业星", "自律星"}, {}, True, []),  # exempt: kept
    ({"敬业星", "自律星"}, {"deductions": 1}, True, [Change("自律星", False)]),  # a deduction still removes it
    (set(), {"checkins": 3}, True, [Change("敬业星", True), Change("自律星", True)]),  # earned anyway: granted
    (set(), {}, True, []),
])
def test_an_exempt_members_review_keeps_the_stars_only_unmet_requirements_stand_against(
        held: set[str], metrics: dict[str, float], exempt: bool, expected: list[Change]) -> None:
    assert changes(held, evaluate(STARS, metrics), exempt=exempt) == expected
