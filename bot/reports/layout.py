"""A report (bot/reports/report.py) laid out as sheets of tables, written as XLSX (widths, frozen headers,
percentages, bar charts of the monthly points) or one sheet as CSV. Pure: the data is gathered before."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bot.reports.report import Report, Summary
from bot.reports.sheets import Rate, append_plain, csv_cell, fit_widths
from bot.rules.periods import is_year

# Column and sheet names are for the organisation department's spreadsheets, not member messages.
MEMBERS, SUMMARY, BRANCHES = "成员", "汇总", "支部"
MONTH, POINTS = "月份", "积分合计"
FROZEN = {MEMBERS: "B2", BRANCHES: "B2"}  # the header row and the names stay in view
CHART_ROWS = 16  # rows one chart takes, where a sheet has two


@dataclass(frozen=True, slots=True)
class Table:
    """Rows under a header. `chart`: the title of a bar chart of its columns after the first (one series each,
    titled by its header cell) against the first column."""

    rows: Sequence[Sequence[object]]
    chart: str | None = None


def _rate(value: float | None) -> Rate | None:
    return None if value is None else Rate(value)


FIGURES: tuple[tuple[str, Callable[[Summary], object]], ...] = (
    ("党员人数", lambda s: s.members),
    (POINTS, lambda s: s.points),
    ("签到率", lambda s: _rate(s.checkin_rate)),
    ("补学率", lambda s: _rate(s.makeup_rate)),
    ("持星人数", lambda s: s.star_holders),
    ("确认志愿服务（小时）", lambda s: round(s.hours, 1)),
    ("微心愿收集", lambda s: s.wishes[0]),
    ("微心愿认领", lambda s: s.wishes[1]),
    ("微心愿实现", lambda s: s.wishes[2]),
)


def sheets(report: Report) -> dict[str, list[Table]]:
    """The workbook's content, sheet name → tables: 成员, 汇总, and 支部 when the report has several."""
    laid_out = {MEMBERS: [Table(_members(report))], SUMMARY: _summary(report)}
    if report.has_branches:
        laid_out[BRANCHES] = _branches(report)
    return laid_out


def _members(report: Report) -> list[list[object]]:
    """A header, then a row per member; a 支部 column when the report has several."""
    branch = ["支部"] if report.has_branches else []
    head: list[object] = ["姓名", *branch, *(f"{m}月积分" for m in report.months),
                          "年度积分" if is_year(report.period) else "季度积分", "星级", "签到次数", "签到率", "答题正确",
                          "答题次数", "确认志愿服务（小时）", "缺席或请假（次）", "已补学或送学（次）", "关注提示"]
    return [head] + [[r.name, *([r.branch] if branch else []), *r.months, r.points, "、".join(r.stars), r.checkins,
                      _rate(r.checkin_rate), r.quiz_correct, r.quiz_answered, round(r.hours, 1), r.missed,
                      r.caught_up, r.flags] for r in report.rows]


def _summary(report: Report) -> list[Table]:
    whole = report.summary()
    return [
        Table([["项目", "数值"], ["组织", report.org], ["期间", report.label], ["组织活动", report.activities],
               *([name, value(whole)] for name, value in FIGURES)]),
        Table([["星数", "人数"], *([n, count] for n, count in report.star_distribution())]),
        Table([[MONTH, POINTS], *([f"{m}月", total] for m, total in report.points_by_month())], chart="各月积分"),
    ]


def _branches(report: Report) -> list[Table]:
    branches = report.by_branch()
    return [
        Table([["支部", *(name for name, _ in FIGURES)], *([b.name, *(value(b) for _, value in FIGURES)]
                                                        for b in branches)]),
        Table([[MONTH, *(b.name for b in branches)],
               *([f"{m}月", *(b.months[i] for b in branches)] for i, m in enumerate(report.months))],
              chart="各支部各月积分"),
    ]


def write_csv(report: Report, target: Path | IO[bytes], *, sheet: str = MEMBERS) -> None:
    """One sheet (成员 by default) as CSV, its tables separated by an empty line, rates as `40.0%`, text that would
    run as a formula (a member named `=HYPERLINK(…)`) led by `'`; UTF-8 with a BOM so that Excel opens the Chinese
    correctly. KeyError for a sheet the report has not (支部 of a single
    branch)."""
    text = io.StringIO(newline="")
    out = csv.writer(text)
    for number, table in enumerate(sheets(report)[sheet]):
        if number:
            out.writerow([])
        out.writerows([csv_cell(cell) for cell in row] for row in table.rows)
    data = text.getvalue().encode("utf-8-sig")
    if isinstance(target, Path):
        target.write_bytes(data)
    else:
        target.write(data)


def write_xlsx(report: Report, target: Path | IO[bytes]) -> None:
    """Every sheet of `sheets`: bold headers, widths from the widest cell, rates formatted as percentages, the
    header row and names frozen on 成员 and 支部, and each table's chart to the right of its sheet's tables."""
    from openpyxl import Workbook  # only reports need it

    book = Workbook()
    book.remove(book.active)
    for title, tables in sheets(report).items():
        sheet = book.create_sheet(title)
        charts = [_write_table(sheet, table, first=number == 0) for number, table in enumerate(tables)]
        fit_widths(sheet)
        _place(sheet, [chart for chart in charts if chart is not None])
        sheet.freeze_panes = FROZEN.get(title)
    book.save(target)


def _write_table(sheet: Any, table: Table, *, first: bool) -> Any:
    """Append the table (after an empty row unless first) with a bold header; its chart, if it has one."""
    from openpyxl.styles import Font

    if not first:
        sheet.append([])
    append_plain(sheet, table.rows[0])
    header = sheet.max_row
    for cell in sheet[header]:
        cell.font = Font(bold=True)
    for row in table.rows[1:]:
        append_plain(sheet, row)
    return None if table.chart is None else _bar_chart(sheet, table.chart, header, len(table.rows[0]))


def _bar_chart(sheet: Any, title: str, header: int, columns: int) -> Any:
    """Columns 2…`columns` below row `header` as series titled by their header cells, by column 1's labels."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.chart.data_source import AxDataSource, StrRef

    chart = BarChart()
    chart.title = title
    chart.add_data(Reference(sheet, min_col=2, max_col=columns, min_row=header, max_row=sheet.max_row),
                   titles_from_data=True)
    labels = Reference(sheet, min_col=1, min_row=header + 1, max_row=sheet.max_row)
    for series in chart.series:  # the labels are text (`11月`): a string reference, as spreadsheets write them
        series.cat = AxDataSource(strRef=StrRef(f=str(labels)))
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl leaves it unset: some spreadsheets hide the axes
    return chart


def _place(sheet: Any, charts: list[Any]) -> None:
    """The charts one under another, a column right of the sheet's widest table."""
    from openpyxl.utils import get_column_letter

    column = get_column_letter(sheet.max_column + 2)
    for number, chart in enumerate(charts):
        sheet.add_chart(chart, f"{column}{2 + number * CHART_ROWS}")
