"""What every list page shares: a page of rows with its total, and the same rows as CSV.

Pages say how many rows there are in all (not only on the page) and page through them with
``?page=N``; ``?format=csv`` gives every row of the filtered list (up to :data:`CSV_LIMIT`)
with headers in the reader's language.  CSV cells that a spreadsheet would run as a formula
(crawled titles are hostile) are quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response

from spotcheck.web.routes.evidence import download_headers

PAGE_SIZE = 100
CSV_LIMIT = 100_000
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Pager:
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def cell(value: Any) -> str:
    """One CSV cell: no formula a spreadsheet would evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """*rows* as a CSV download (UTF-8 with BOM, which Excel on a Chinese Windows opens)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    headers = download_headers(name)
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers=headers)
