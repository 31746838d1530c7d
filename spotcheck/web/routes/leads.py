"""From a listing to enforcement: open a case about it, and capture a page as evidence.

Opening a case is ``scheduler.cases.open_case`` (the CLI's ``case open``: the same listing
and kind find the open case instead of a second one); capturing is
``evidence.capture.capture_many`` (the CLI's ``capture URL``), run after the response in
the console's worker thread so the page does not wait for Chromium.  The capture row, its
status and its failure reason appear on the listing's page and the evidence list.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from scheduler import cases
from spotcheck.web import i18n
from spotcheck.web.deps import CurrentUser, Permission, audit, console, flash
from spotcheck.web.i18n import gettext as _
from store.db import Database
from store.errors import InvalidInput, SpotcheckError
from store.models import Listing
from store.settings import Settings

router = APIRouter()
log = logging.getLogger(__name__)


@router.post("/listings/{listing_id}/case")
def open_case(request: Request, listing_id: int, kind: str = Form(..., max_length=40),
              summary: str = Form("", max_length=4000),
              user: CurrentUser = Permission("cases.work")) -> Response:
    try:
        with console(request).db.session() as s:
            if s.get(Listing, listing_id) is None:
                raise HTTPException(404)
            case = cases.open_case(s, kind, listing_id=listing_id, summary=summary.strip(),
                                   actor=user.name)
            case_id, number = case.id, case.number
    except SpotcheckError as exc:
        flash(request, "error", _("The action was refused") + ": " + i18n.refusal(exc))
        return RedirectResponse(f"/listings/{listing_id}", status_code=303)
    flash(request, "ok", _("Case %(number)s is open for this listing.") % {"number": number})
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def run_capture(db: Database, settings: Settings, url: str, kind: str, listing_id: int | None,
                operator: str) -> None:
    """One capture, as ``spotcheck capture URL --listing ID`` makes it (its row records the
    outcome, failures included)."""
    from evidence.capture import CaptureRequest, capture_many

    req = CaptureRequest(url=url, kind=kind, listing_id=listing_id,
                         purpose="captured from the console")
    try:
        asyncio.run(capture_many(db, [req], operator=operator, settings=settings))
    except SpotcheckError as exc:  # no browser, refused address: logged, nothing half-made
        log.warning("console capture of %s failed: %s", url[:200], exc)


def _back(value: str) -> str:
    """A local page to return to (never another site)."""
    return value if value.startswith("/") and not value.startswith("//") else "/listings"


@router.post("/captures")
def capture(request: Request, tasks: BackgroundTasks, url: str = Form(..., max_length=2000),
            kind: str = Form("listing", max_length=20), listing_id: int | None = Form(None),
            back: str = Form("/listings", max_length=300),
            user: CurrentUser = Permission("captures.run")) -> Response:
    from evidence.capture import KINDS
    from evidence.netguard import check_url

    target = _back(back)
    try:
        if kind not in KINDS or kind == "order":  # order pages need a persona: CLI/buying
            raise InvalidInput("leads.kind_one_listing_seller_search")
        check_url(url)
    except SpotcheckError as exc:
        flash(request, "error", _("The action was refused") + ": " + i18n.refusal(exc))
        return RedirectResponse(target, status_code=303)
    cons = console(request)
    audit(request, user.name, "capture.requested", "listing" if listing_id else "url",
          listing_id if listing_id else url[:100], url=url[:500], kind=kind)
    tasks.add_task(run_capture, cons.db, cons.settings, url, kind, listing_id, user.name)
    flash(request, "ok", _("Capture started; it appears under Captures when it is done "
                           "(reload the page)."))
    return RedirectResponse(target, status_code=303)
