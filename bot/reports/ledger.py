"""The branch 台账 of organisational life: each meeting as the chat recorded it, shaped into rows (pure) and
written as an XLSX (a sheet per meeting type and a year summary), or counted for a month in chat (`台账`).

Attendance, leave, lateness, exemption, 补学 and 送学 stay separate numbers everywhere: never one "attended".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from bot.reports.sheets import append_plain
from bot.rules.oversight import MeetingFacts
from bot.storage.models import AttendanceStatus, MakeupKind, MeetingKind

if TYPE_CHECKING:
    from openpyxl.workbook import Workbook

# Column and sheet names are for the organisation department's spreadsheets, not member messages.
NAMES = "、"
HELD, PLANNED = "已召开", "计划中"
SUMMARY = "年度汇总"
COUNTS = ("按时出席", "迟到", "请假", "缺席", "豁免", "补学", "送学")
MEETING_COLUMNS = (("组织", 28), ("日期", 12), ("开始", 8), ("结束", 8), ("地点", 16), ("主题", 28), ("状态", 8),
                   *((name, 18) for name in COUNTS), ("纪要", 60), ("照片（张）", 10), ("照片链接", 40))
SUMMARY_COLUMNS = (("组织", 28), ("类型", 10), ("召开次数", 10), ("计划中", 8), *((name, 10) for name in COUNTS))
WRAPPED = {"纪要", "照片链接", *COUNTS}
STANDINGS = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEAVE, AttendanceStatus.ABSENT,
             AttendanceStatus.EXEMPT, MakeupKind.SELF_STUDY, MakeupKind.DELIVERED)  # the order of COUNTS


@dataclass(frozen=True, slots=True)
class Attendee:
    name: str
    status: str  # AttendanceStatus
    makeup: str | None  # MakeupKind


@dataclass(frozen=True, slots=True)
class MeetingRecord:
    """One meeting as stored, in local time: its attendance once closed, its minutes and photos in order."""

    id: int
    org_id: int
    org: str  # the full path
    kind: str
    topic: str
    place: str
    starts_at: datetime
    ends_at: datetime
    planned_at: datetime
    closed: bool
    attendance: tuple[Attendee, ...]
    minutes: tuple[str, ...]  # texts, exactly as sent
    photos: tuple[str, ...]  # each photo's link (its media id when it has none)

    @property
    def recorded(self) -> bool:
        """Minutes or a photo of them are attached (活动纪实)."""
        return bool(self.minutes or self.photos)

    @property
    def facts(self) -> MeetingFacts:
        return MeetingFacts(self.id, self.kind, self.topic, self.planned_at.date(), self.starts_at.date(),
                            self.ends_at, self.recorded)

    def names(self, wanted: str) -> list[str]:
        """Who stood as `wanted` (an attendance status or a makeup kind); nobody before the meeting closed."""
        return [a.name for a in self.attendance if self.closed and wanted in (a.status, a.makeup)]


@dataclass(frozen=True, slots=True)
class Tally:
    """Meetings held (closed) and planned (not yet closed), and the person-times of each standing at those held."""

    held: int
    planned: int
    present: int
    late: int
    leave: int
    absent: int
    exempt: int
    self_study: int  # 补学
    delivered: int  # 送学

    @property
    def counts(self) -> tuple[int, ...]:
        """The person-times in the order of COUNTS."""
        return (self.present, self.late, self.leave, self.absent, self.exempt, self.self_study, self.delivered)


def tally(records: Iterable[MeetingRecord]) -> Tally:
    records = list(records)
    held = [r for r in records if r.closed]
    counted = Counter(w for r in held for a in r.attendance for w in (a.status, a.makeup) if w)
    return Tally(len(held), len(records) - len(held), *(counted[w] for w in STANDINGS))


def by_kind(records: Sequence[MeetingRecord]) -> list[tuple[str, Tally]]:
    """Each meeting type (all five, in order) with its tally: the month's summary in chat."""
    return [(kind.value, tally(r for r in records if r.kind == kind)) for kind in MeetingKind]


def unrecorded(records: Sequence[MeetingRecord], now: datetime) -> list[MeetingRecord]:
    """The meetings that have ended with no minutes and no photo yet."""
    return [r for r in records if r.ends_at <= now and not r.recorded]


def meeting_row(record: MeetingRecord) -> list[object]:
    """A meeting's row of its type's sheet: local date and times, names by standing, the minutes as sent."""
    return [record.org, record.starts_at.date(), record.starts_at.time().replace(tzinfo=None),
            record.ends_at.time().replace(tzinfo=None), record.place, record.topic,
            HELD if record.closed else PLANNED,
            *(NAMES.join(record.names(w)) for w in STANDINGS),
            "\n".join(record.minutes), len(record.photos), "\n".join(record.photos)]


def meeting_sheets(records: Sequence[MeetingRecord]) -> dict[str, list[list[object]]]:
    """Every meeting type's rows (a type with none still has its sheet), by date."""
    ordered = sorted(records, key=lambda r: (r.starts_at, r.id))
    return {kind.value: [meeting_row(r) for r in ordered if r.kind == kind] for kind in MeetingKind}


def summary_rows(records: Sequence[MeetingRecord]) -> list[list[object]]:
    """Per organisation (by path) and meeting type with any meeting: its tally."""
    rows: list[list[object]] = []
    for org in sorted({r.org for r in records}):
        for kind in MeetingKind:
            mine = [r for r in records if r.org == org and r.kind == kind]
            if mine:
                counted = tally(mine)
                rows.append([org, kind.value, counted.held, counted.planned, *counted.counts])
    return rows


def write_xlsx(records: Sequence[MeetingRecord], path: Path | BinaryIO) -> None:
    """The 台账 workbook, to a file or a binary stream: a sheet per meeting type, then the year summary."""
    from openpyxl import Workbook  # only the ledger command needs it

    book = Workbook()
    book.remove(book.active)
    for name, rows in meeting_sheets(records).items():
        _sheet(book, name, MEETING_COLUMNS, rows)
    _sheet(book, SUMMARY, SUMMARY_COLUMNS, summary_rows(records))
    book.save(path)


def _sheet(book: Workbook, title: str, columns: Sequence[tuple[str, int]], rows: list[list[object]]) -> None:
    """A sheet with a frozen bold header, set widths, wrapped long text, dates and times formatted as such."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(title)
    sheet.append([name for name, _ in columns])
    for row in rows:
        append_plain(sheet, row)  # the minutes as sent, never a formula
    sheet.freeze_panes = "A2"
    for number, (name, width) in enumerate(columns, start=1):
        letter = get_column_letter(number)
        sheet.column_dimensions[letter].width = width
        sheet[f"{letter}1"].font = Font(bold=True)
        for cell in sheet[letter][1:]:
            cell.alignment = Alignment(wrap_text=name in WRAPPED, vertical="top")
            cell.number_format = {"日期": "yyyy-mm-dd", "开始": "hh:mm", "结束": "hh:mm"}.get(name, cell.number_format)
