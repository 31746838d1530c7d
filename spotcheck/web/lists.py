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

from spotcheck.web.security import download_headers

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


def rows_of(stmt: Any, pager: Pager, csv: bool) -> Any:
    """A list's rows to fetch: the whole list (up to :data:`CSV_LIMIT`) for its CSV, else the
    pager's page; *stmt* is the list's ordered select."""
    return stmt.limit(CSV_LIMIT) if csv else stmt.offset(pager.offset).limit(pager.size)


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


def page_url(request: Any, **changes: Any) -> str:
    """This list's address with *changes* to its query (``page=3``, ``format="csv"``); other
    filters kept, the CSV link without a page (it has every row)."""
    from urllib.parse import urlencode

    params = {k: v for k, v in request.query_params.multi_items()
              if k not in changes and not (k == "page" and changes.get("format") == "csv")}
    params.update({k: str(v) for k, v in changes.items() if v is not None})
    query = urlencode(params)
    return request.url.path + ("?" + query if query else "")


def footer(request: Any, pager: Pager, csv: bool = True) -> dict[str, Any]:
    """What ``console/list_footer.html`` shows: the total, the pages, the CSV link."""
    return {"pager": pager,
            "prev_url": page_url(request, page=pager.page - 1) if pager.has_prev else None,
            "next_url": page_url(request, page=pager.page + 1) if pager.has_next else None,
            "csv_url": page_url(request, format="csv") if csv else None}


def speak(request: Any) -> None:
    """Activate the reader's language for a response not rendered from a template (CSV)."""
    from spotcheck.web import i18n
    from spotcheck.web.deps import language

    i18n.activate(language(request))
