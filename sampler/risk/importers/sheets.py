"""Reading the spreadsheets bureaus exchange: CSV (UTF-8, UTF-8 BOM, UTF-16, GB18030/GBK) and
XLSX (the first worksheet, through openpyxl in read-only mode).

Both give the same thing: the header cells and the data rows, each with the line (CSV) or row
number (XLSX) a person sees in their spreadsheet program, so every error can name it.  Cells are
text; an XLSX date cell becomes ISO ``YYYY-MM-DD``, a whole number loses its ``.0``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

from sampler.textfile import decode
from store.errors import InvalidInput

#: A spreadsheet of more rows than this is refused (split it).
MAX_ROWS = 500_000
#: Cells are cut to this many characters (a cell is a name or a short text, not a document).
MAX_CELL = 4000


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()[:MAX_CELL]


def _xlsx(path: Path, data: bytes, has_header: bool = True
          ) -> tuple[list[str], list[tuple[int, list[str]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise InvalidInput("risk_import.unreadable_xlsx", path_name=path.name,
                           detail=str(exc)[:200]) from None
    try:
        sheet = book.worksheets[0]
        header: list[str] | None = None if has_header else []
        rows: list[tuple[int, list[str]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell(v) for v in values]
            while cells and cells[-1] == "":
                cells.pop()
            if header is None:
                if any(cells):
                    header = cells
                continue
            if any(cells):
                if len(rows) >= MAX_ROWS:
                    raise InvalidInput("risk_import.too_many_rows", path_name=path.name,
                                       max_rows=MAX_ROWS)
                rows.append((number, cells))
        return header or [], rows
    finally:
        book.close()


def _csv(path: Path, data: bytes, has_header: bool = True
         ) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text, _ = decode(data, path.name)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096],
                                                                       delimiters=",;\t")
        # The sniffer says "no doubled quotes" when its sample has none, and a cell further
        # down written as "15╳24""60cm" (RFC 4180's only escape) was then read as two cells'
        # worth of text: every spreadsheet program doubles quotes, so the reader must too.
        dialect.doublequote = True
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header: list[str] | None = None if has_header else []
    rows: list[tuple[int, list[str]]] = []
    line = 0
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if header is None:
                if any(c.strip() for c in cells):
                    header = [c.strip() for c in cells]
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput("risk_import.too_many_rows", path_name=path.name,
                                       max_rows=MAX_ROWS)
            rows.append((start, [c.strip()[:MAX_CELL] for c in cells]))
    except csv.Error as exc:
        raise InvalidInput("risk_import.unreadable_csv", path_name=path.name,
                           line=reader.line_num, detail=str(exc)[:200]) from None
    return header or [], rows


def read_sheet(path: Path, data: bytes, has_header: bool = True
               ) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header cells, [(line, cells)]) of a CSV or XLSX file's first table; without a header
    row (*has_header* False) the header is empty and every non-blank row is a data row."""
    if data[:4] == b"PK\x03\x04" or path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx(path, data, has_header)
    return _csv(path, data, has_header)
