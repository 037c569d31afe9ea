"""Reading a secretary's meeting plan as typed or spoken, and attendance at the close (bot/rules/meetings.py)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.rules.meetings import (
    DEFAULT_MINUTES,
    PlanError,
    attendance,
    held_by,
    parse_plan,
    plan_from,
    read_date,
    read_time,
    too_far_back,
)
from bot.storage.models import AttendanceStatus, MeetingKind

TODAY = date(2026, 12, 18)


@pytest.mark.parametrize(("text", "kind", "starts", "minutes", "place", "topic"), [
    ("党员大会 12月20日 14:30 村委会 学习全会精神", MeetingKind.GENERAL, datetime(2026, 12, 20, 14, 30),
     DEFAULT_MINUTES, "村委会", "学习全会精神"),
    ("党员大会 １２月２０日 １４：３０ 村委会 学习全会精神。", MeetingKind.GENERAL, datetime(2026, 12, 20, 14, 30),
     DEFAULT_MINUTES, "村委会", "学习全会精神"),
    ("支委会 12-20 9:00 90分钟 支部办公室 研究发展党员", MeetingKind.COMMITTEE, datetime(2026, 12, 20, 9, 0), 90,
     "支部办公室", "研究发展党员"),
    ("党课 2027-01-05 下午2点半 村史馆 重温入党誓词", MeetingKind.LECTURE, datetime(2027, 1, 5, 14, 30),
     DEFAULT_MINUTES, "村史馆", "重温入党誓词"),
    ("党小组会 12.22 下午两点 1.5小时 王家院坝 交流春耕 打算", MeetingKind.GROUP, datetime(2026, 12, 22, 14, 0),
     90, "王家院坝", "交流春耕 打算"),
    ("党员大会，明天上午九点，村委会，学习全会精神。", MeetingKind.GENERAL, datetime(2026, 12, 19, 9, 0),
     DEFAULT_MINUTES, "村委会", "学习全会精神"),
    ("主题党日 后天 晚上7点 文化广场 观看教育片", MeetingKind.THEME_DAY, datetime(2026, 12, 20, 19, 0),
     DEFAULT_MINUTES, "文化广场", "观看教育片"),
    ("党员大会 1月3日 9点15分 村委会 年度总结", MeetingKind.GENERAL, datetime(2027, 1, 3, 9, 15),
     DEFAULT_MINUTES, "村委会", "年度总结"),  # a day without a year is the nearest one
    ("党员大会 12月12日 十点 村委会 补开", MeetingKind.GENERAL, datetime(2026, 12, 12, 10, 0),
     DEFAULT_MINUTES, "村委会", "补开"),
])
def test_a_plan_reads_the_same_however_it_is_written(text: str, kind: MeetingKind, starts: datetime, minutes: int,
                                                     place: str, topic: str) -> None:
    plan = parse_plan(text, TODAY)
    assert (plan.kind, plan.starts, plan.minutes, plan.place, plan.topic) == (kind, starts, minutes, place, topic)


@pytest.mark.parametrize(("text", "part"), [
    ("座谈会 12月20日 14:30 村委会 学习", "kind"),
    ("党员大会 14:30 村委会 学习", "date"),
    ("党员大会 12月20日 村委会 学习", "time"),
    ("党员大会 12月20日 14:30 5分钟 村委会 学习", "length"),
    ("党员大会 12月20日 14:30 村委会", "place"),
    ("党员大会 2月30日 14:30 村委会 学习", "date"),
    ("党员大会 12月20日 25:30 村委会 学习", "time"),
    ("党员大会 9999年12月31日 23:00 村委会 学习", "date"),  # its end and its month's end would be no date
])
def test_a_plan_missing_a_part_names_it(text: str, part: str) -> None:
    with pytest.raises(PlanError) as raised:
        parse_plan(text, TODAY)
    assert raised.value.part == part


FORM = {"kind": "党课", "day": "2026-12-20", "at": "14:30", "minutes": "", "place": " 村史馆 ", "topic": "重温入党誓词"}


def test_a_plan_from_a_form_reads_each_field() -> None:
    plan = plan_from(**FORM)
    assert (plan.kind, plan.starts, plan.minutes, plan.place, plan.topic) == (
        MeetingKind.LECTURE, datetime(2026, 12, 20, 14, 30), DEFAULT_MINUTES, "村史馆", "重温入党誓词")
    assert plan_from(**FORM | {"kind": "支部委员会", "at": "09:05:30", "minutes": "90"}).minutes == 90


@pytest.mark.parametrize(("field", "value", "part"), [
    ("kind", "座谈会", "kind"), ("kind", "", "kind"), ("day", "", "date"), ("day", "2026-02-30", "date"),
    ("day", "12月20日", "date"), ("day", "9999-12-31", "date"), ("at", "", "time"), ("at", "25:00", "time"),
    ("minutes", "5", "length"), ("minutes", "-90", "length"), ("minutes", "9" * 30, "length"),
    ("minutes", "721", "length"), ("place", "  ", "place"), ("topic", "", "place"),
])
def test_a_plan_from_a_form_names_the_field_missing_or_wrong(field: str, value: str, part: str) -> None:
    with pytest.raises(PlanError) as raised:
        plan_from(**FORM | {field: value})
    assert raised.value.part == part


@pytest.mark.parametrize(("text", "expected"), [
    ("12月20日", date(2026, 12, 20)), ("12月20号", date(2026, 12, 20)), ("12-20", date(2026, 12, 20)),
    ("12.20", date(2026, 12, 20)), ("2026-12-20", date(2026, 12, 20)), ("2026年12月20日", date(2026, 12, 20)),
    ("明天", date(2026, 12, 19)), ("今天", TODAY), ("1月2日", date(2027, 1, 2)), ("11月30日", date(2026, 11, 30)),
])
def test_dates(text: str, expected: date) -> None:
    found = read_date(text, TODAY)
    assert found is not None and found[0] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("14:30", time(14, 30)), ("下午2点半", time(14, 30)), ("下午两点", time(14, 0)), ("上午九点", time(9, 0)),
    ("晚上8点", time(20, 0)), ("9点15分", time(9, 15)), ("十二点", time(12, 0)), ("下午十二点半", time(12, 30)),
])
def test_times(text: str, expected: time) -> None:
    found = read_time(text)
    assert found is not None and found[0] == expected


@pytest.mark.parametrize(("day", "refused"), [
    (date(2026, 12, 11), False), (date(2026, 12, 10), True), (date(2027, 3, 1), False)])
def test_no_back_filling_beyond_the_configured_days(day: date, refused: bool) -> None:
    assert too_far_back(day, TODAY, 7) is refused


START = datetime(2026, 12, 20, 14, 30)


@pytest.mark.parametrize(("checked_in", "on_leave", "exempt", "status"), [
    (datetime(2026, 12, 20, 14, 40), False, False, AttendanceStatus.PRESENT),
    (datetime(2026, 12, 20, 14, 41), False, False, AttendanceStatus.LATE),
    (datetime(2026, 12, 20, 14, 41), True, True, AttendanceStatus.LATE),  # came after all: late, not on leave
    (None, True, True, AttendanceStatus.LEAVE),
    (None, False, True, AttendanceStatus.EXEMPT),
    (None, False, False, AttendanceStatus.ABSENT),
])
def test_attendance_at_the_close(checked_in: datetime | None, on_leave: bool, exempt: bool,
                                 status: AttendanceStatus) -> None:
    assert attendance(checked_in=checked_in, starts=START, grace_minutes=10, on_leave=on_leave,
                      exempt=exempt) == status


@pytest.mark.parametrize(("kind", "org_kind", "held"), [
    ("党小组会", "党小组", True), ("党小组会", "党支部", False), ("党小组会", "党总支", False),
    ("党员大会", "党支部", True), ("党员大会", "党总支", True), ("党员大会", "党小组", False),
    ("支委会", "党支部", True), ("支委会", "党小组", False), ("党课", "党小组", True), ("主题党日", "党支部", True),
])
def test_which_organisations_hold_which_meetings(kind: str, org_kind: str, held: bool) -> None:
    assert held_by(kind, org_kind) is held
