"""Meetings of organisational life: reading a secretary's plan as typed or spoken, lateness and attendance.

`会议 党员大会 12月20日 14:30 村委会 学习全会精神` names the kind, the day, the time, the place and the topic,
optionally the length (`90分钟`, `1.5小时`). People type `12-20`, `2026-12-20`, `12.20`, `明天`, `14：30`,
`下午2点半`, `下午两点`, full-width digits, and speech recognition ends with `。`: all read the same.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.rules.periods import YEARS
from bot.storage.models import AttendanceStatus, MeetingKind, OrgKind

DEFAULT_MINUTES = 120  # a meeting's length unless the plan says otherwise
MIN_MINUTES = 15
MAX_MINUTES = 12 * 60
KINDS: dict[str, MeetingKind] = {
    **{kind.value: kind for kind in MeetingKind},
    "支部党员大会": MeetingKind.GENERAL, "支部委员会": MeetingKind.COMMITTEE, "支委会议": MeetingKind.COMMITTEE,
    "小组会": MeetingKind.GROUP, "党小组会议": MeetingKind.GROUP, "党日": MeetingKind.THEME_DAY,
}
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"\d{1,2}|[零〇一二两三四五六七八九十]{1,3}"
_RELATIVE = {"今天": 0, "明天": 1, "后天": 2}
_DATE = re.compile(r"(?:(?P<y>\d{4})[-./年])?(?P<m>\d{1,2})(?:月|[-./])(?P<d>\d{1,2})[日号]?|(?P<rel>今天|明天|后天)")
_TIME = re.compile(rf"(?P<half>上午|早上|早晨|中午|下午|晚上)?(?P<h>{_NUMBER})"
                   rf"(?:[:](?P<min>\d{{2}})|点(?:(?P<halfhour>半)|(?P<pm>{_NUMBER})分?|钟)?)")
_LENGTH = re.compile(r"(?P<n>\d+(?:\.\d)?)\s*(?P<unit>分钟|小时|个小时)")
_SEPARATORS = re.compile(r"[\s,，、;；]+")
_AFTERNOON = {"下午", "晚上"}


@dataclass(frozen=True, slots=True)
class Plan:
    """A meeting as planned: kind, local start, length, place and topic."""

    kind: MeetingKind
    starts: datetime  # naive local time
    minutes: int
    place: str
    topic: str


class PlanError(ValueError):
    """What is missing or wrong in a plan: `part` is kind, date, time, length or place."""

    def __init__(self, part: str) -> None:
        super().__init__(part)
        self.part = part


def normal(text: str) -> str:
    """NFKC (full-width digits and colons become half-width), the spoken full stop dropped."""
    return unicodedata.normalize("NFKC", text).strip().rstrip("。.!！")


def chinese_number(word: str) -> int:
    """`14` → 14, `两` → 2, `十` → 10, `十二` → 12, `二十` → 20, `二十三` → 23."""
    if word.isdigit():
        return int(word)
    tens, _, ones = word.partition("十")
    if "十" not in word:
        return _DIGITS[word]
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


def read_date(text: str, today: date) -> tuple[date, re.Match[str]] | None:
    """The first date in `text` and where it was; a day without a year is the nearest such day to `today`."""
    found = _DATE.search(text)
    if found is None:
        return None
    if found["rel"]:
        return today + timedelta(days=_RELATIVE[found["rel"]]), found
    month, day = int(found["m"]), int(found["d"])
    years = [int(found["y"])] if found["y"] else [today.year - 1, today.year, today.year + 1]
    candidates = [d for year in years if (d := _date_or_none(year, month, day)) is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda d: abs(d - today)), found


def _date_or_none(year: int, month: int, day: int) -> date | None:
    """The date, unless it is no date or in a year nobody means (`periods.YEARS`: `0001`, `9999` are slips)."""
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    return found if found.year in YEARS else None


def read_time(text: str) -> tuple[time, re.Match[str]] | None:
    """The first time of day in `text` (`14:30`, `下午2点半`, `下午两点`, `9点15分`) and where it was."""
    found = _TIME.search(text)
    if found is None:
        return None
    hour = chinese_number(found["h"])
    if found["half"] in _AFTERNOON and hour < 12:
        hour += 12
    minute = 30 if found["halfhour"] else chinese_number(found["min"] or found["pm"] or "0")
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute), found


def read_length(text: str) -> tuple[int, re.Match[str]] | None:
    """The meeting's length in minutes when given (`90分钟`, `1.5小时`)."""
    found = _LENGTH.search(text)
    if found is None:
        return None
    amount = float(found["n"])
    return round(amount * 60 if "小时" in found["unit"] else amount), found


def parse_plan(text: str, today: date) -> Plan:
    """The plan in `text` (after the command word); PlanError naming the first part missing or wrong."""
    rest = normal(text)
    kind_word = next((word for word in sorted(KINDS, key=len, reverse=True) if rest.startswith(word)), None)
    if kind_word is None:
        raise PlanError("kind")
    rest = rest[len(kind_word):]
    day = read_date(rest, today)
    if day is None:
        raise PlanError("date")
    rest = _cut(rest, day[1])
    at = read_time(rest)
    if at is None:
        raise PlanError("time")
    rest = _cut(rest, at[1])
    length = read_length(rest)
    minutes = DEFAULT_MINUTES
    if length is not None:
        minutes, rest = length[0], _cut(rest, length[1])
    if not fits_length(minutes):
        raise PlanError("length")
    words = [word for word in _SEPARATORS.split(rest) if word]
    if len(words) < 2:
        raise PlanError("place")
    return Plan(KINDS[kind_word], datetime.combine(day[0], at[0]), minutes, words[0], " ".join(words[1:]))


def plan_from(*, kind: str, day: str, at: str, minutes: str, place: str, topic: str) -> Plan:
    """The plan a form gives field by field: a kind's name, an ISO date (`2026-12-20`), a time (`14:30`), the length
    in minutes (empty: DEFAULT_MINUTES), the place and the topic; PlanError naming the first part missing or wrong,
    as `parse_plan` does (`place` for a missing place or topic)."""
    if kind not in KINDS:
        raise PlanError("kind")
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise PlanError("date") from None
    starts = _time_or_none(at)
    if on.year not in YEARS:
        raise PlanError("date")
    if starts is None:
        raise PlanError("time")
    length = int(minutes) if minutes.isdigit() and len(minutes) < 6 else 0 if minutes else DEFAULT_MINUTES
    if not fits_length(length):
        raise PlanError("length")
    if not place.strip() or not topic.strip():
        raise PlanError("place")
    return Plan(KINDS[kind], datetime.combine(on, starts), length, place.strip(), topic.strip())


def _time_or_none(text: str) -> time | None:
    """`14:30` (seconds dropped), or None."""
    try:
        return time.fromisoformat(text).replace(second=0, microsecond=0, tzinfo=None)
    except ValueError:
        return None


def fits_length(minutes: int) -> bool:
    """A meeting lasts from MIN_MINUTES to MAX_MINUTES."""
    return MIN_MINUTES <= minutes <= MAX_MINUTES


def _cut(text: str, found: re.Match[str]) -> str:
    return f"{text[:found.start()]} {text[found.end():]}"


def held_by(kind: str, org_kind: str) -> bool:
    """Whether an organisation of `org_kind` holds meetings of `kind` (三会一课): a 党小组会 only a 党小组; a
    党员大会 or 支委会 a 党支部 or above, never a 党小组; a 党课 or 主题党日 any."""
    if kind == MeetingKind.GROUP:
        return org_kind == OrgKind.GROUP
    if kind in (MeetingKind.GENERAL, MeetingKind.COMMITTEE):
        return org_kind != OrgKind.GROUP
    return True


AHEAD_DAYS = 366  # a meeting is planned at most a year ahead: further is a typing slip (`2099-01-01`)


def too_far_ahead(day: date, today: date) -> bool:
    """A meeting dated more than AHEAD_DAYS after today is refused: members are told 月 and 日, not the year."""
    return day > today + timedelta(days=AHEAD_DAYS)


def too_far_back(day: date, today: date, backfill_days: int) -> bool:
    """A meeting dated more than `backfill_days` before today is refused (no back-filling)."""
    return day < today - timedelta(days=backfill_days)


def is_late(checked_in: datetime, starts: datetime, grace_minutes: int) -> bool:
    """A check-in after the start plus the grace is late."""
    return checked_in > starts + timedelta(minutes=grace_minutes)


def attendance(*, checked_in: datetime | None, starts: datetime, grace_minutes: int, on_leave: bool,
               exempt: bool) -> AttendanceStatus:
    """How one audience member stood at the close: present or late by their check-in, else on granted leave,
    else excused by an exemption, else absent."""
    if checked_in is not None:
        return AttendanceStatus.LATE if is_late(checked_in, starts, grace_minutes) else AttendanceStatus.PRESENT
    if on_leave:
        return AttendanceStatus.LEAVE
    return AttendanceStatus.EXEMPT if exempt else AttendanceStatus.ABSENT


def question_index(meeting_id: int, bank_size: int) -> int:
    """Which question of its kind's bank a meeting's catch-up asks (the same one for every absentee)."""
    return meeting_id % bank_size
