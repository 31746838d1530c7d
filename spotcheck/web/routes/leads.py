"""From a listing to enforcement: open a case about it, and capture a page as evidence.

Opening a case is ``scheduler.cases.open_case`` (the CLI's ``case open``: the same listing
and kind find the open case instead of a second one).  Capturing is the scheduler's
``capture`` job (``evidence.capture.capture_many``, as the CLI's ``capture URL``), queued as a
recorded job run (:func:`scheduler.runs.queue_run`) so the request returns at once; the
requester follows it on ``/captures/queue`` (queued, running, done with its capture, or why
it failed).  Any http(s) URL may be captured by a role with ``captures.run``, not only a
listing's: the capture network policy (``SPOTCHECK_CAPTURE_ALLOW_NETWORKS``) is checked
before queueing, and again by the capture's recording proxy on every connection.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from evidence.steps import failure_text, partial_text
from scheduler import cases
from spotcheck.web import i18n
from spotcheck.web.deps import CurrentUser, Permission, audit, console, flash, render
from spotcheck.web.i18n import gettext as _
from store import messages
from store.errors import InvalidInput, SpotcheckError
from store.models import AuditEvent, JobRun, Listing

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


#: Kinds of page a person may ask to capture here (order pages need a persona's login: the
#: buying flow and the CLI make those).
CONSOLE_KINDS = ("listing", "seller", "search")
#: Requests shown on a page of the queue, newest first.
QUEUE_SHOWN = 30


def refused_address(url: str, allow_networks: list[str]) -> InvalidInput | None:
    """Why the capture network policy refuses *url* (None: it may be captured): the check
    the recording proxy makes on every connection, made once before the request is queued
    so a refused address is said at once instead of as a failed capture."""
    from evidence.netguard import AddressPolicy, check_url, url_port

    host = check_url(url)
    return AddressPolicy(list(allow_networks)).refusal(host, url_port(url))


def _back(value: str) -> str:
    """A local page to return to (never another site)."""
    return value if value.startswith("/") and not value.startswith("//") else "/listings"


@router.post("/captures")
def capture(request: Request, url: str = Form(..., max_length=2000),
            kind: str = Form("listing", max_length=20), listing_id: int | None = Form(None),
            back: str = Form("/captures/queue", max_length=300), pdf: bool = Form(False),
            user: CurrentUser = Permission("captures.run")) -> Response:
    """Queue one capture of *url* (a listing's, or any page) and go to the queue page.
    *pdf* (a checkbox) also prints the page to a PDF; unticked, the setting decides."""
    from scheduler.runs import enqueue, queue_run

    target = _back(back)
    cons = console(request)
    url = url.strip()
    try:
        if kind not in CONSOLE_KINDS:
            raise InvalidInput("leads.kind_one_listing_seller_search")
        why = refused_address(url, cons.settings.capture_allow_networks)
        if why is not None:
            raise InvalidInput("leads.address_refused", reason=why)
        if listing_id is not None:
            with cons.db.session() as s:
                if s.get(Listing, listing_id) is None:
                    raise HTTPException(404)
    except SpotcheckError as exc:
        flash(request, "error", _("The action was refused") + ": " + i18n.refusal(exc))
        return RedirectResponse(target, status_code=303)
    with cons.db.session() as s:  # the request is a queued run before anything answers
        key = enqueue(s, "capture", None, options={
            "url": url, "kind": kind, "listing_id": listing_id, "operator": user.name,
            "purpose": "captured from the console", "pdf": True if pdf else None})
    audit(request, user.name, "capture.requested", "capture_request", key, url=url[:500],
          kind=kind, listing=listing_id, pdf=pdf)
    queue_run(cons.db, cons.settings, key, holder=f"console:{user.name}")
    flash(request, "ok", _("Capture queued; its status is below."))
    return RedirectResponse("/captures/queue", status_code=303)


#: Where a capture request stands, as the queue page shows it (labels: store.labels'
#: ``capture_request_state``).
STATES = ("queued", "running", "done", "failed")


def _status(run: JobRun | None) -> dict[str, Any]:
    """What the requester reads of one request: its state, the capture, why it failed."""
    if run is None or run.outcome == "queued":
        return {"state": "queued"}
    result = run.result or {}
    state = {"running": "running", "ok": "done"}.get(run.outcome, "failed")
    why = result.get("error") or (run.error or "").split("\n", 1)[0] or None
    refusal = result.get("refusal") or {}
    if (refusal.get("text") or {}).get(i18n.active()):
        why = refusal["text"][i18n.active()]
    elif refusal.get("code") and messages.known(refusal["code"]):
        why = messages.render(refusal["code"], refusal.get("params") or {}, i18n.active())
    why = failure_text(result.get("failure"), i18n.active()) or partial_text(
        result.get("partial"), why, i18n.active())
    return {"state": state, "capture": result.get("capture"), "why": why,
            "finished": run.finished_at}


@router.get("/captures/queue", response_class=HTMLResponse)
def capture_queue(request: Request, user: CurrentUser = Permission("captures.run"),
                  page: int = Query(1, ge=1, le=10_000),
                  format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    """The captures this user asked for, newest first, each with its state (the page
    reloads itself while one is still queued or running), and a form to capture any URL;
    the total, pages and a CSV of every request, as every list has."""
    from spotcheck.web.deps import when
    from spotcheck.web.labels import code_label
    from spotcheck.web.lists import Pager, csv_response, footer, rows_of, speak

    with console(request).db.session() as s:
        stmt = (select(AuditEvent).where(
            AuditEvent.action == "capture.requested", AuditEvent.actor == user.name,
            AuditEvent.object_type == "capture_request")
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
        total = int(s.scalar(select(func.count()).select_from(
            stmt.order_by(None).subquery())) or 0)
        pager = Pager(page, total, QUEUE_SHOWN)
        asked = list(s.scalars(rows_of(stmt, pager, format == "csv")))
        runs = {r.key: r for r in s.scalars(select(JobRun).where(
            JobRun.job == "capture", JobRun.key.in_([str(a.object_id) for a in asked])))}
        rows = [{"at": a.at, "url": (a.detail or {}).get("url", ""),
                 "kind": (a.detail or {}).get("kind", "listing"),
                 "listing": (a.detail or {}).get("listing"),
                 **_status(runs.get(str(a.object_id)))} for a in asked]
    if format == "csv":
        speak(request)
        audit(request, user.name, "capture_requests.export", "capture_request", None,
              rows=len(rows))
        return csv_response("capture-requests.csv", [
            _("Asked at"), _("Page"), _("Kind"), _("Listing"), _("Status"), _("Detail"),
            _("Capture")],
            [(when(r["at"]), r["url"], code_label(r["kind"], "capture_kind"), r["listing"],
              code_label(r["state"], "capture_request_state"), r.get("why") or "",
              r.get("capture")) for r in rows])
    pending = any(r["state"] in ("queued", "running") for r in rows)
    return render(request, "console/capture_queue.html", rows=rows, pending=pending,
                  kinds=CONSOLE_KINDS, footer=footer(request, pager))
