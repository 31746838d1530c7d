"""Notice-listing matches in the console: the proposed ones for review, best first, and a
person's confirm or reject; and one foreign notice with every field it was imported with.

A proposed match adds risk only in proportion to its confidence; a confirmed one counts in
full; a rejected one adds nothing and never comes back as proposed for the same pair
(``sampler.risk.matching``: a reviewed match keeps its status on every later run).  The
decision goes through the CLI's own function (:func:`sampler.risk.matching.review_match`,
which keeps the review history on the match and re-scores the listing at once) under one
permission (``matches.review`` in
:mod:`spotcheck.permissions`), and is written to the audit log like the CLI's
``spotcheck signals confirm|reject``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from sampler.risk.matching import count_matches, list_matches, review_match
from spotcheck.web import i18n
from spotcheck.web.deps import CurrentUser, Permission, audit, console, flash, render
from spotcheck.web.i18n import gettext as _
from spotcheck.web.labels import code_label
from spotcheck.web.lists import CSV_LIMIT, Pager, csv_response, footer, speak
from spotcheck.web.routes.purchasing import take_flash
from store.errors import InvalidInput, NotFound
from store.models import ForeignNotice, Listing, NoticeMatch

router = APIRouter()

STATUSES = ("proposed", "confirmed", "rejected")
#: Rows of a notice's original fields shown at most (raw is bounded on import: 200 items).
MAX_FIELD_ROWS = 5000


def _back(next_url: str, match_id: int) -> str:
    """Where to go after a decision: a page of this console only (no open redirect)."""
    if next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url[:500]
    return f"/matches#match-{match_id}"


@router.get("/matches", response_class=HTMLResponse)
def matches(request: Request, status: str = Query("proposed", max_length=20),
            page: int = Query(1, ge=1, le=10_000),
            format: str = Query("html", pattern="^(html|csv)$"),
            user: CurrentUser = Permission("matches.view")) -> Response:
    """The matches of one status, best first: a page of them with the total, or all as CSV."""
    if status not in (*STATUSES, "all"):
        raise HTTPException(400, "status")
    wanted = None if status == "all" else status
    with console(request).db.session() as s:
        pager = Pager(page, count_matches(s, wanted))
        rows = (list_matches(s, wanted, CSV_LIMIT) if format == "csv"
                else list_matches(s, wanted, pager.size, offset=pager.offset))
    if format == "csv":
        speak(request)
        audit(request, user.name, "matches.export", "notice_match", None, rows=len(rows))
        return csv_response("matches.csv", [
            _("Notice"), _("Reference"), _("Product"), _("Listing"), _("Title"),
            _("Confidence"), _("Matched on"), _("Status"), _("Reviewed by")],
            [(code_label(r["source"], "notice_source"), r["reference"], r["notice_product"],
              r["listing_id"], r["listing_title"], f"{r['score']:.2f}",
              code_label(r["method"], "match_method") if r["method"] else "",
              code_label(r["status"], "match_status"), r["reviewed_by"] or "")
             for r in rows])
    return render(request, "console/matches.html", rows=rows, status=status,
                  statuses=(*STATUSES, "all"), flash=take_flash(request),
                  footer=footer(request, pager))


def _decide(request: Request, match_id: int, decision: str, note: str, next_url: str,
            user: CurrentUser) -> Response:
    text = note.strip() or None
    try:
        with console(request).db.session() as s:
            row = s.get(NoticeMatch, match_id)
            if row is None:
                raise NotFound("matches.notice_match", match_id=match_id)
            previous = row.status
            review_match(s, match_id, decision, user.name, text)
            listing_id, notice_id = row.listing_id, row.notice_id
    except NotFound:
        raise HTTPException(404) from None
    except InvalidInput as exc:
        flash(request, "error", i18n.refusal(exc))
        return RedirectResponse(_back(next_url, match_id), status_code=303)
    audit(request, user.name, "signals.confirm" if decision == "confirmed" else "signals.reject",
          "notice_match", match_id, previous=previous, note=text, listing_id=listing_id,
          notice_id=notice_id)
    flash(request, "ok", _("Match confirmed: the listing's risk score was recalculated and "
                           "counts it in full.")
          if decision == "confirmed" else
          _("Match rejected: the listing's risk score was recalculated without it, and it will "
            "not be proposed again."))
    return RedirectResponse(_back(next_url, match_id), status_code=303)


@router.post("/matches/{match_id}/confirm")
def confirm(request: Request, match_id: int, note: str = Form("", max_length=1000),
            next_url: str = Form("", alias="next", max_length=500),
            user: CurrentUser = Permission("matches.review")) -> Response:
    return _decide(request, match_id, "confirmed", note, next_url, user)


@router.post("/matches/{match_id}/reject")
def reject(request: Request, match_id: int, note: str = Form("", max_length=1000),
           next_url: str = Form("", alias="next", max_length=500),
           user: CurrentUser = Permission("matches.review")) -> Response:
    return _decide(request, match_id, "rejected", note, next_url, user)


def field_rows(value: Any, path: str = "") -> list[tuple[str, str]]:
    """A notice's original record as (field path, text) rows: nested objects and lists are
    spelt out ("Products[0].Model"), so every value the source gave has a line of its own."""
    rows: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            rows += field_rows(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        if not value:
            rows.append((path, "[]"))
        for i, item in enumerate(value):
            rows += field_rows(item, f"{path}[{i}]")
    else:
        rows.append((path, "" if value is None else str(value)))
    return rows[:MAX_FIELD_ROWS]


def _is_web_link(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(("https://", "http://"))


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
def notice(request: Request, notice_id: int,
           user: CurrentUser = Permission("matches.view")) -> Response:
    """One notice as imported: the typed columns matching uses, then every original field
    (escaped by the template: a notice is foreign content), then its matches."""
    with console(request).db.session() as s:
        row = s.get(ForeignNotice, notice_id)
        if row is None:
            raise HTTPException(404)
        matched = list(s.execute(
            select(NoticeMatch, Listing).join(Listing, Listing.id == NoticeMatch.listing_id)
            .where(NoticeMatch.notice_id == row.id)
            .order_by(NoticeMatch.score.desc()).limit(200)).all())
        s.expunge_all()
    raw = {k: v for k, v in (row.raw or {}).items() if k != "line"}
    return render(request, "console/notice.html", notice=row, fields=field_rows(raw),
                  line=(row.raw or {}).get("line"), matched=matched,
                  link=row.url if _is_web_link(row.url) else None)
