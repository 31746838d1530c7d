"""The day-to-day boards: purchases, cases with measures and notifications, report downloads,
and the audit log."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import func, select

from spotcheck.permissions import file_permission
from spotcheck.web.deps import (
    CurrentUser,
    Permission,
    audit,
    console,
    day,
    platform_names,
    render,
)
from spotcheck.web.i18n import gettext as _
from spotcheck.web.labels import code_label, purchase_label
from spotcheck.web.lists import CSV_LIMIT, Pager, csv_response, footer, rows_of, speak
from spotcheck.web.routes.campaigns import PURCHASE_ORDER
from spotcheck.web.security import download_headers
from store.models import (
    AuditEvent,
    BuyerPersona,
    Campaign,
    Capture,
    Case,
    LabResult,
    Listing,
    Measure,
    MeasureKind,
    Notification,
    Plan,
    PlanItem,
    Purchase,
    Sample,
)

router = APIRouter()
_REPORT_NAME = re.compile(r"^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff._ -]{0,200}$")
REPORT_SUFFIXES = {".pdf", ".html", ".xlsx", ".csv", ".json", ".zip", ".md", ".txt"}


@router.get("/purchases", response_class=HTMLResponse)
def purchases(request: Request, user: CurrentUser = Permission("purchases.view"),
              campaign: int | None = Query(None), plan: int | None = Query(None),
              format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    """The board by status (cards show the lab's pass/fail), its totals, the rotation rules
    broken by orders on record, and the same list as CSV."""
    from scheduler.purchases import breach_dict, rotation_breaches
    from spotcheck.web.routes.purchasing import breach_text, take_flash

    with console(request).db.session() as s:
        stmt = (select(Purchase.id, Purchase.status, Purchase.deadline, Purchase.order_number,
                       Purchase.price_paid, Purchase.currency, Listing.id, Listing.title,
                       BuyerPersona.alias, Campaign.name, Plan.version, Plan.id,
                       LabResult.outcome, Sample.code)
                .join(PlanItem, PlanItem.id == Purchase.plan_item_id)
                .join(Plan, Plan.id == PlanItem.plan_id)
                .join(Campaign, Campaign.id == Plan.campaign_id)
                .join(Listing, Listing.id == PlanItem.listing_id)
                .outerjoin(BuyerPersona, BuyerPersona.id == Purchase.persona_id)
                .outerjoin(Sample, Sample.purchase_id == Purchase.id)
                .outerjoin(LabResult, LabResult.sample_id == Sample.id)
                .order_by(Purchase.deadline.asc().nulls_last(), Purchase.id))
        if campaign is not None:
            stmt = stmt.where(Plan.campaign_id == campaign)
        if plan is not None:
            stmt = stmt.where(Plan.id == plan)
        if format == "csv":
            rows = s.execute(stmt.limit(CSV_LIMIT)).all()
        else:
            rows = s.execute(stmt.limit(2000)).all()
            total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            flags = [breach_text(breach_dict(b)) for b in rotation_breaches(s)]
    show_persona = user.can("personas.secrets")
    if format == "csv":
        speak(request)
        audit(request, user.name, "purchases.export", "purchase", None, rows=len(rows))
        return csv_response("purchases.csv", [
            _("Id"), _("Status"), _("Lab result"), _("Campaign"), _("Plan version"),
            _("Listing"), _("Deadline"), _("Order number"), _("Price paid"), _("Currency"),
            _("Sample (seal number)"), *([_("Persona")] if show_persona else [])],
            [(r[0], purchase_label(r[1]), code_label(r[12], "LabOutcome") if r[12] else "",
              r[9], r[10], r[7], day(r[2]) if r[2] else "", r[3] or "",
              r[4] if r[4] is not None else "", r[5] or "", r[13] or "",
              *([r[8] or ""] if show_persona else [])) for r in rows])
    columns: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        columns[row[1].value].append(row)
    board = [(st.value, purchase_label(st), columns.get(st.value, [])) for st in PURCHASE_ORDER]
    paid: dict[str, float] = defaultdict(float)
    for row in rows:
        if row[4] is not None:
            paid[row[5] or "CNY"] += float(row[4])
    outcomes = {"pass": sum(1 for r in rows if r[12] is not None and r[12].value == "pass"),
                "fail": sum(1 for r in rows if r[12] is not None and r[12].value == "fail")}
    query = "&".join(f"{k}={v}" for k, v in (("campaign", campaign), ("plan", plan))
                     if v is not None)
    return render(request, "console/purchases.html", board=board, show_persona=show_persona,
                  total=total, shown=len(rows), paid=sorted(paid.items()), outcomes=outcomes,
                  flags=flags, csv_url="/purchases?" + (query + "&" if query else "")
                  + "format=csv", plan=plan, flash=take_flash(request))


@router.get("/cases", response_class=HTMLResponse)
def cases(request: Request, user: CurrentUser = Permission("cases.view"),
          page: int = Query(1, ge=1, le=10_000),
          format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    with console(request).db.session() as s:
        total = int(s.scalar(select(func.count()).select_from(Case)) or 0)
        pager = Pager(page, total)
        stmt = select(Case).order_by(Case.opened_at.desc(), Case.id.desc())
        rows = list(s.scalars(rows_of(stmt, pager, format == "csv")))
        measures = dict(s.execute(select(Measure.case_id, func.count())
                                  .group_by(Measure.case_id)).all())
        notes = dict(s.execute(select(Notification.case_id, func.count())
                               .group_by(Notification.case_id)).all())
    if format == "csv":
        speak(request)
        audit(request, user.name, "cases.export", "case", None, rows=len(rows))
        return csv_response("cases.csv", [
            _("Number"), _("Kind"), _("Title"), _("Status"), _("Bureau"), _("Measures"),
            _("Notifications"), _("Opened")],
            [(c.number, code_label(c.kind, "case_kind"), c.title,
              code_label(c.status, "CaseStatus"), c.jurisdiction_bureau or "",
              measures.get(c.id, 0), notes.get(c.id, 0), day(c.opened_at)) for c in rows])
    return render(request, "console/cases.html", rows=rows, measures=measures, notes=notes,
                  footer=footer(request, pager))


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(request: Request, case_id: int, user: CurrentUser = Permission("cases.view")
         ) -> Response:
    with console(request).db.session() as s:
        row = s.get(Case, case_id)
        if row is None:
            raise HTTPException(404)
        measures = list(row.measures)
        notifications = list(row.notifications)
        listing = s.get(Listing, row.listing_id) if row.listing_id else None
        captures = list(s.scalars(select(Capture).where(Capture.case_id == row.id)
                                  .order_by(Capture.started_at)))
    flash = request.state.session.pop("flash", None)
    if flash:
        request.state.session_dirty = True
    return render(request, "console/case.html", case=row, measures=measures,
                  notifications=notifications, listing=listing, captures=captures,
                  flash=flash, export_available=True,
                  measure_kinds=[k.value for k in MeasureKind])


def _report_files(request: Request) -> list[tuple[str, str, int, float]]:
    """(folder, name, size, mtime) of the downloadable reports and packs."""
    settings = console(request).settings
    out: list[tuple[str, str, int, float]] = []
    for folder, base in (("reports", settings.reports_dir), ("packs", settings.packs_dir)):
        if not base.is_dir():
            continue
        for path in base.iterdir():
            if path.is_file() and path.suffix.lower() in REPORT_SUFFIXES | {".wacz"}:
                st = path.stat()
                out.append((folder, path.name, st.st_size, st.st_mtime))
    return sorted(out, key=lambda r: -r[3])[:500]


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request, user: CurrentUser = Permission("reports.view")) -> Response:
    import datetime as dt

    from spotcheck.web.routes.evidence import may_open_pack

    settings = console(request).settings
    dirs = {"reports": settings.reports_dir, "packs": settings.packs_dir}
    files = [(folder, name, size, dt.datetime.fromtimestamp(mtime, dt.UTC))
             for folder, name, size, mtime in _report_files(request)
             if user.can(file_permission(name))
             and may_open_pack(user, dirs[folder] / name)]  # a pack with persona captures
    return render(request, "console/reports.html", files=files)


@router.get("/reports/{name}")
def report(request: Request, name: str, user: CurrentUser = Permission("reports.view")
           ) -> Response:
    if not _REPORT_NAME.match(name) or Path(name).suffix.lower() not in REPORT_SUFFIXES:
        raise HTTPException(404)
    base = console(request).settings.reports_dir.resolve()
    path = (base / name).resolve()
    if path.parent != base or not path.is_file():
        raise HTTPException(404)
    from spotcheck.web.routes.evidence import may_open_pack

    needed = file_permission(name)
    if not user.can(needed) or not may_open_pack(user, path):
        audit(request, user.name, "access.denied", "report", name, permission=needed)
        raise HTTPException(403, detail="role")
    audit(request, user.name, "report.download", "report", name)
    return FileResponse(path, media_type="application/octet-stream",
                        headers=download_headers(name))


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, user: CurrentUser = Permission("audit.view"),
              actor: str = Query("", max_length=100), action: str = Query("", max_length=100),
              page: int = Query(1, ge=1, le=10_000),
              format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    from spotcheck.web.auditview import stored_text
    from spotcheck.web.deps import when

    with console(request).db.session() as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
        if actor:
            stmt = stmt.where(AuditEvent.actor == actor)
        if action:
            stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
        total = int(s.scalar(select(func.count()).select_from(
            stmt.order_by(None).subquery())) or 0)
        pager = Pager(page, total)
        rows = list(s.scalars(rows_of(stmt, pager, format == "csv")))
        # details name a platform by its code; the page shows its name (the code in the
        # cell's tooltip and in the CSV, as stored)
        names = {"platform": platform_names(request)}
    if format == "csv":
        speak(request)
        audit(request, user.name, "audit.export", "audit", None, rows=len(rows))
        return csv_response("audit.csv", [_("When"), _("Who"), _("Action"), _("Object"),
                                          _("Address"), _("Detail")],
                            [(when(e.at), e.actor, e.action,
                              f"{e.object_type or ''} {e.object_id or ''}".strip(), e.ip or "",
                              stored_text(e.detail))
                             for e in rows])
    return render(request, "console/audit.html", rows=rows, page=page, actor=actor,
                  action=action, footer=footer(request, pager), names=names, stored=stored_text)
