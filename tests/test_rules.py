"""Pure rules as tables: points, stars, periods, binding throttle, check-in windows, text splitting."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.message.replies import cdata_safe, split_text
from bot.rules.binding import retry_after
from bot.rules.checkin import as_digits, code_in, new_code, window_minutes
from bot.rules.periods import Period, month_of, period_label, quarter_label, quarter_of, year_of
from bot.rules.points import PointsPolicy, monthly_score, standing, yearly_score
from bot.rules.stars import Requirement, Shortfall, Star, evaluate

POLICY = PointsPolicy(monthly_cap=10, yearly_line=120, flag_below=60)


@pytest.mark.parametrize(("deltas", "score"), [
    ([], 0), ([2, 2, 2], 6), ([6, 6], 10), ([6, 6, -3], 9), ([-5], 0), ([10, 1, -1], 10), ([4, -2, 3], 5),
])
def test_monthly_score_is_clamped_between_zero_and_the_cap(deltas: list[int], score: int) -> None:
    assert monthly_score(deltas, 10) == score


def test_yearly_score_sums_capped_months() -> None:
    entries = [(date(2026, 1, 3), 8), (date(2026, 1, 20), 8), (date(2026, 2, 1), 5), (date(2026, 3, 31), -2)]
    assert yearly_score(entries, 10) == 15


@pytest.mark.parametrize(("entries", "month", "year", "capped", "below", "flagged"), [
    ([(date(2026, 11, 2), 6), (date(2026, 11, 9), 6)], 10, 10, True, True, True),
    ([(date(2026, m, 1), 10) for m in range(1, 12)] + [(date(2026, 11, 20), 1)], 10, 110, False, True, False),
    ([(date(2026, m, 1), 10) for m in range(1, 7)], 0, 60, False, True, False),
    ([(date(2026, m, 1), 10) for m in range(1, 6)] + [(date(2026, 6, 1), 9)], 0, 59, False, True, True),
    ([(date(2025, 11, 2), 10)], 0, 0, False, True, True),
    ([(date(2026, 11, 30), 5)], 0, 0, False, True, True),
])
def test_standing_on_16_november(entries, month, year, capped, below, flagged) -> None:  # type: ignore[no-untyped-def]
    result = standing(entries, date(2026, 11, 16), POLICY)
    assert (result.month, result.year, result.capped, result.below_line, result.flagged) == (
        month, year, capped, below, flagged)


def test_a_correction_entry_lowers_a_capped_month_only_below_the_cap() -> None:
    over = [(date(2026, 5, 1), 8), (date(2026, 5, 2), 8)]
    assert yearly_score([*over, (date(2026, 5, 3), -4)], 10) == 10
    assert yearly_score([*over, (date(2026, 5, 3), -7)], 10) == 9


STARS = (
    Star("学习星", (Requirement("quiz_correct", at_least=6),)),
    Star("自律星", (Requirement("checkins", at_least=1), Requirement("deductions", at_most=0))),
)


@pytest.mark.parametrize(("metrics", "held", "shortfalls"), [
    ({"quiz_correct": 6, "checkins": 1}, [True, True], [(), ()]),
    ({"quiz_correct": 5, "checkins": 1}, [False, True], [(Shortfall("quiz_correct", 1, False),), ()]),
    ({"quiz_correct": 9, "checkins": 2, "deductions": 1}, [True, False],
     [(), (Shortfall("deductions", 0, True),)]),
    ({}, [False, False], [(Shortfall("quiz_correct", 6, False),), (Shortfall("checkins", 1, False),)]),
])
def test_stars_held_just_met_and_missing(metrics, held, shortfalls) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(STARS, metrics)
    assert [s.held for s in result] == held
    assert [s.shortfalls for s in result] == shortfalls


@pytest.mark.parametrize(("day", "start", "end", "label"), [
    (date(2026, 1, 1), date(2026, 1, 1), date(2026, 4, 1), "2026Q1"),
    (date(2026, 3, 31), date(2026, 1, 1), date(2026, 4, 1), "2026Q1"),
    (date(2026, 4, 1), date(2026, 4, 1), date(2026, 7, 1), "2026Q2"),
    (date(2026, 9, 30), date(2026, 7, 1), date(2026, 10, 1), "2026Q3"),
    (date(2026, 12, 31), date(2026, 10, 1), date(2027, 1, 1), "2026Q4"),
    (date(2028, 2, 29), date(2028, 1, 1), date(2028, 4, 1), "2028Q1"),
])
def test_quarter_boundaries(day: date, start: date, end: date, label: str) -> None:
    quarter = quarter_of(day)
    assert (quarter.start, quarter.end, quarter_label(day)) == (start, end, label)


def test_year_period_and_its_local_bounds() -> None:
    from zoneinfo import ZoneInfo

    assert quarter_of(date(2028, 2, 10)).last_day == date(2028, 3, 31)
    start, end = year_of(date(2026, 6, 1)).bounds(ZoneInfo("Asia/Shanghai"))
    assert start.isoformat() == "2026-01-01T00:00:00+08:00" and end.year == 2027


def test_a_report_period_is_labelled_as_a_quarter_or_a_year_and_nothing_else() -> None:
    assert period_label(quarter_of(date(2026, 11, 16))) == "2026Q4"
    assert period_label(year_of(date(2026, 11, 16))) == "2026年"
    for other in (month_of(date(2026, 11, 16)), Period(date(2026, 10, 1), date(2027, 4, 1))):
        with pytest.raises(ValueError, match="neither a calendar quarter nor a calendar year"):
            period_label(other)


NOW = datetime(2026, 11, 16, 9, 0)


@pytest.mark.parametrize(("minutes_ago", "wait"), [
    ([], None),
    ([5, 1], None),
    ([5, 3, 1], None),
    ([5, 3, 0.5], timedelta(minutes=0.5)),
    ([9, 7, 5, 0.5], timedelta(minutes=1.5)),
    ([9, 7, 5, 3, 1], timedelta(minutes=3)),
    ([40, 35, 31, 1], None),
])
def test_binding_retry_after(minutes_ago: list[float], wait: timedelta | None) -> None:
    failures = [NOW - timedelta(minutes=m) for m in minutes_ago]
    assert retry_after(failures, NOW) == wait


@pytest.mark.parametrize(("arg", "minutes"), [
    (None, 120), ("90", 90), ("5", 5), ("1440", 1440), ("4", None), ("1441", None), ("两小时", None), ("-5", None),
])
def test_check_in_window_minutes(arg: str | None, minutes: int | None) -> None:
    assert window_minutes(arg) == minutes


def test_new_code_avoids_codes_in_use() -> None:
    draws = iter([234, 234, 567])
    assert new_code({"1234"}, lambda _n: next(draws)) == "1567"


@pytest.mark.parametrize(("word", "digits"), [
    ("零〇0", "000"), ("一幺1", "111"), ("二两2", "222"), ("三3", "33"), ("四4", "44"), ("五5", "55"), ("六6", "66"),
    ("七7", "77"), ("八8", "88"), ("九9", "99"),
    ("七零七六", "7076"), ("幺三五七", "1357"), ("一三五七", "1357"),  # the field trial's spoken codes
    ("一下", "一下"), ("十二", "十二"), ("王一", "王一"), ("七零七六号", "七零七六号"),  # not all numerals: as typed
])
def test_chinese_numerals_are_read_as_digits_only_in_a_word_of_numerals(word: str, digits: str) -> None:
    assert as_digits(word) == digits


@pytest.mark.parametrize(("words", "code"), [
    (["7076"], "7076"), (["七零七六"], "7076"), (["幺三五七"], "1357"), (["65", "03"], "6503"),
    (["七零", "七六"], "7076"), (["7", "零", "76"], "7076"), (["0000"], "0000"), (["7o76"], "7o76"),
    (["一下"], None), (["是多少"], None), (["王一"], None),  # no digit: not a code at all (a question, a name)
    ([], None), (["8032", "8033"], None), (["8032", "号"], None), (["65", "031"], None), (["6", "5", "0"], None),
])
def test_the_check_in_code_is_one_word_or_digit_groups_making_four_digits(words: list[str], code: str | None) -> None:
    assert code_in(words) == code


@pytest.mark.parametrize("text", ["短消息", "一" * 682, "一" * 683, "a" * 5000, ("第一段\n" * 400), "😀" * 1000])
def test_split_text_keeps_every_piece_within_2048_bytes_and_loses_nothing(text: str) -> None:
    pieces = split_text(text)
    assert all(len(piece.encode()) <= 2048 for piece in pieces)
    markers = [f"({n}/{len(pieces)})\n" for n in range(1, len(pieces) + 1)] if len(pieces) > 1 else [""]
    assert all(piece.startswith(marker) for piece, marker in zip(pieces, markers, strict=True))
    bodies = [piece.removeprefix(marker) for piece, marker in zip(pieces, markers, strict=True)]
    assert "".join(bodies).replace("\n", "") == text.replace("\n", "")


def test_cdata_safe_text_cannot_close_its_section() -> None:
    assert "]]>" not in cdata_safe("a]]>b").replace("]]]]><![CDATA[>", "")
    assert cdata_safe("x\x00y\x1fz") == "xyz"


@pytest.mark.parametrize("text", ["0001Q1", "9999Q4", "0001", "9999年", "0001-01", "9999-12", "0000年1月"])
def test_a_year_nobody_means_names_no_period(text: str) -> None:
    from bot.rules.periods import parse_month, parse_quarter, parse_year, report_period

    today = date(2026, 11, 30)
    assert parse_quarter(text, today) is None and parse_year(text) is None and parse_month(text, today) is None
    assert report_period(text, today) is None
