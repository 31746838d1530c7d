"""Spreadsheets people can hand on: typed columns, frozen headers, filters, widths, charts.

Every XLSX spotcheck writes (plan, half-year statistics, listings) goes through
:func:`write_table`, so a rate is a percentage cell, a price a number with two decimals, a
date a date, an id text (a seed or an order number must not turn into 1.23E+17), the header
row frozen with an autofilter, and columns wide enough to read — in the file's language.
Crawled text is hostile: a cell that starts like a formula is written as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["FORMATS", "Column", "safe_sheet_title", "write_table"]

#: Number formats by column kind.
FORMATS = {
    "int": "#,##0",
    "number": "#,##0.00",
    "money": "#,##0.00",
    "percent": "0.0%",
    "ratio": "0.0000",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "text": "@",
}
_HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters Excel refuses in sheet names.
_SHEET_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Column:
    """One column: its header (in the file's language), kind and width (characters)."""

    header: str
    kind: str = "text"
    width: float | None = None


def safe_sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    return title.translate(_SHEET_BAD)[:31] or "Sheet"


def _cell_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "text":
        text = str(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    if kind in ("date", "datetime"):
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value[:10]) if kind == "date" \
                    else dt.datetime.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.replace(tzinfo=None)  # Excel has no zones: callers pass local time
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return value


def _display_width(value: Any) -> float:
    """Rough width in Excel characters: CJK characters take two."""
    if value is None:
        return 0
    text = value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, dt.datetime) \
        else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def write_table(ws: Worksheet, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *,
                first_row: int = 1, title: str | None = None) -> tuple[int, int]:
    """Write a typed table at *first_row* (after an optional bold *title* line).

    Returns (header row, last row), for charts that reference the table.  When the table
    starts the sheet, its header row is frozen and filtered.
    """
    row_no = first_row
    if title:
        ws.cell(row=row_no, column=1, value=title).font = Font(bold=True, size=13)
        row_no += 1
    header_row = row_no
    widths = [max(_display_width(c.header), 6.0) for c in columns]
    for j, col in enumerate(columns, start=1):
        cell = ws.cell(row=header_row, column=j, value=col.header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    last = header_row
    for values in rows:
        last += 1
        for j, (col, value) in enumerate(zip(columns, values, strict=False), start=1):
            cell = ws.cell(row=last, column=j, value=_cell_value(value, col.kind))
            cell.number_format = FORMATS.get(col.kind, "General")
            widths[j - 1] = max(widths[j - 1], _display_width(cell.value))
    for j, col in enumerate(columns, start=1):
        letter = get_column_letter(j)
        want = col.width if col.width is not None else min(max(widths[j - 1] + 2, 8), 60)
        current = ws.column_dimensions[letter].width or 0
        ws.column_dimensions[letter].width = max(current, want)
    if header_row == 1 or (title and header_row == 2):
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
        ws.auto_filter.ref = (f"A{header_row}:{get_column_letter(len(columns))}"
                              f"{max(last, header_row)}")
    return header_row, last
