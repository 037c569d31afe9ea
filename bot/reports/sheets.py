"""Writing tables for spreadsheets: cells as a person reads them, typed text kept as text, widths that fit.

Shared by the report and the 台账 (bot/reports/report.py, bot/reports/ledger.py). Text a spreadsheet would run
as a formula (`=HYPERLINK(…)`, `+1+1`, `@SUM(…)`, and a leading tab or carriage return, as OWASP lists them)
is never run: an XLSX cell is typed as text, a CSV cell gets a leading `'`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

PERCENT = "0.0%"
PADDING = 2  # characters of room beside the widest cell
WIDEST = 60  # no column wider: longer text wraps
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a cell beginning so is a formula to Excel and WPS


class Rate(float):
    """A fraction (0.4) that people read as a percentage (40.0%): a number formatted as such in a workbook."""


def shown(value: object) -> str:
    """A cell as a person reads it: a rate as `40.0%`, nothing as an empty string."""
    if value is None:
        return ""
    if isinstance(value, Rate):
        return f"{value:.1%}"
    return str(value)


def formula_like(value: object) -> bool:
    """Whether a cell is text that a spreadsheet would run as a formula (numbers, even negative, are not)."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: object) -> str:
    """A cell for a CSV file: as `shown`, with a `'` before text that would otherwise run as a formula."""
    return f"'{value}" if formula_like(value) else shown(value)


def display_width(text: str) -> int:
    """Columns the text takes in a spreadsheet: wide (CJK) and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def append_plain(sheet: Any, row: Iterable[object]) -> None:
    """Append a row to an openpyxl sheet: text that looks like a formula (`formula_like`) stays text, rates get
    the percentage format."""
    sheet.append(list(row))
    for cell in sheet[sheet.max_row]:
        if formula_like(cell.value):  # typed text is shown as typed, never run as a formula
            cell.data_type = "s"
        if isinstance(cell.value, Rate):
            cell.number_format = PERCENT


def fit_widths(sheet: Any) -> None:
    """Set each column's width from its widest cell as shown (its widest line), up to WIDEST characters; a cell
    wider than that wraps."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    widest: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            width = max(display_width(line) for line in shown(cell.value).splitlines() or [""]) + PADDING
            if width > WIDEST:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            widest[cell.column] = min(max(widest.get(cell.column, 0), width), WIDEST)
    for column, width in widest.items():
        sheet.column_dimensions[get_column_letter(column)].width = width
