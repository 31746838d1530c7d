"""Purchase work in the console: tasks for an approved plan, the order placed by hand, the
parcel's receipt with its seal number and photo, the lab, the lab's result with its report.

Every step is the CLI's own function in :mod:`scheduler.purchases` (which checks the
transition, writes the purchase history and the audit event), under the same permission
(``purchases.work`` in :mod:`spotcheck.permissions`).  A refusal comes back as a message on
the purchase's page; nothing is half-recorded (one transaction per step).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from scheduler import purchases as sp
from spotcheck.web import i18n
from spotcheck.web.deps import CurrentUser, Permission, audit, console, flash, render
from spotcheck.web.domain import artifact_file
from spotcheck.web.i18n import gettext as _
from spotcheck.web.security import download_headers
from store.errors import InvalidInput, NotFound, SpotcheckError
from store.models import Artifact, BuyerPersona, LabResult, Purchase, Sample

router = APIRouter()

#: The steps a form may take.
STEPS = ("ordered", "receive", "send", "result", "close", "cancel")


def _done(step: str) -> str:
    """What the page says once *step* is done, in the reader's language."""
    return {"ordered": _("Order recorded."), "receive": _("Receipt and seal recorded."),
            "send": _("Sample sent to the lab."), "result": _("Lab result recorded."),
            "close": _("Purchase closed."), "cancel": _("Purchase cancelled.")}[step]


def take_flash(request: Request) -> dict[str, Any] | None:
    """The message left for this page by the last action (shown once)."""
    message: dict[str, Any] | None = request.state.session.pop("flash", None)
    if message:
        request.state.session_dirty = True
    return message


def breach_text(flag: dict[str, Any]) -> str:
    """A rotation-rule breach (scheduler.purchases.breach_dict) in the reader's language."""
    rules = {"persona_per_day": _("at most %(limit)s order(s) a day per persona"),
             "persona_per_period": _("at most %(limit)s orders per persona in the period"),
             "seller_per_day": _("at most %(limit)s covert order(s) a day per seller"),
             "lockout": _("no second order from the same seller within the lockout")}
    who = (_("Persona #%(id)s") % {"id": flag["persona_id"]} if flag["persona_id"] is not None
           else _("Seller #%(id)s") % {"id": flag["seller_id"]})
    rule = rules.get(flag["rule"], flag["rule"]) % {"limit": flag["limit"]}
    return _("%(who)s: %(count)s orders on %(day)s break the rule “%(rule)s” (purchases "
             "%(ids)s).") % {"who": who, "count": flag["count"], "day": flag["day"],
                             "rule": rule,
                             "ids": ", ".join(f"#{i}" for i in flag["purchases"])}


@router.get("/purchases/{purchase_id}", response_class=HTMLResponse)
def purchase_page(request: Request, purchase_id: int,
                  user: CurrentUser = Permission("purchases.view")) -> Response:
    with console(request).db.session() as s:
        p = s.get(Purchase, purchase_id)
        if p is None:
            raise HTTPException(404)
        summary = sp.purchase_summary(p)
        sample = s.scalar(select(Sample).where(Sample.purchase_id == p.id))
        result = (s.scalar(select(LabResult).where(LabResult.sample_id == sample.id))
                  if sample else None)
        persona = s.get(BuyerPersona, p.persona_id) if p.persona_id else None
        allowed = sorted(st.value for st in sp.TRANSITIONS[p.status])
        history = [{**h, "at": _at(h.get("at"))} for h in p.history]
        report = sp.lab_report_of(p)
        status = p.status
        flags = [f for f in (sp.breach_dict(b) for b in sp.rotation_breaches(s))
                 if p.id in f["purchases"]]
    return render(request, "console/purchase.html", p=summary, status=status, sample=sample,
                  result=result, history=history, report=report, allowed=allowed,
                  persona_alias=persona.alias if persona and user.can("personas.secrets")
                  else None, may_work=user.can("purchases.work"),
                  flags=[breach_text(f) for f in flags], flash=take_flash(request))


def _at(value: Any) -> dt.datetime | None:
    """A history entry's ISO time, for display in the bureau's zone."""
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def _upload(file: UploadFile | None) -> bytes | None:
    """The uploaded file's bytes (None when the field was left empty); read with a bound."""
    if file is None or not file.filename:
        return None
    data = await file.read(sp.MAX_DOCUMENT_BYTES + 1)
    return data


def _lines(text: str) -> list[str]:
    return [line.strip()[:500] for line in text.replace(";", "\n").splitlines()
            if line.strip()][:50]


@router.post("/purchases/{purchase_id}/{step}")
async def purchase_step(
    request: Request, purchase_id: int, step: str,
    user: CurrentUser = Permission("purchases.work"),
    order_number: str = Form("", max_length=100), price: str = Form("", max_length=30),
    currency: str = Form("", max_length=3), sample_code: str = Form("", max_length=64),
    seal_photo: UploadFile | None = File(None), lab: str = Form("", max_length=200),
    outcome: str = Form("", max_length=10), defects: str = Form("", max_length=4000),
    clauses: str = Form("", max_length=4000), third_party: bool = Form(False),
    verified: bool = Form(False), report: UploadFile | None = File(None),
    reason: str = Form("", max_length=2000),
) -> Response:
    """One step of the purchase, by the CLI's function for it."""
    if step not in STEPS:
        raise HTTPException(404)
    settings = console(request).settings
    back = RedirectResponse(f"/purchases/{purchase_id}", status_code=303)
    try:
        photo = await _upload(seal_photo) if step == "receive" else None
        report_data = await _upload(report) if step == "result" else None
        with console(request).db.session() as s:
            sp.get_purchase(s, purchase_id)  # NotFound → 404 below
            if step == "ordered":
                sp.mark_ordered(s, purchase_id, order_number, price or None, currency or None,
                                actor=user.name)
            elif step == "receive":
                sha = (sp.store_document(s, photo, settings.artifacts_dir, "seal_photo")
                       if photo is not None else None)
                sp.receive_sample(s, purchase_id, sample_code, seal_photo_sha256=sha,
                                  actor=user.name)
            elif step == "send":
                if not lab.strip():
                    raise InvalidInput("purchasing.lab_s_name_needed")
                sp.send_to_lab(s, purchase_id, lab.strip(), actor=user.name)
            elif step == "result":
                sha = (sp.store_document(s, report_data, settings.artifacts_dir, "lab_report")
                       if report_data is not None else None)
                _res, case = sp.record_lab_result(
                    s, purchase_id, outcome, defects=_lines(defects), clauses=_lines(clauses),
                    lab_name=lab.strip() or None, third_party=third_party, verified=verified,
                    actor=user.name, report_sha256=sha)
                if case is not None:
                    flash(request, "ok", _done(step) + " " + _("Case %(number)s opened.")
                          % {"number": case.number})
                    return back
            elif step == "close":
                sp.close_purchase(s, purchase_id, actor=user.name)
            else:
                sp.cancel_purchase(s, purchase_id, reason, actor=user.name)
    except NotFound:
        raise HTTPException(404) from None
    except SpotcheckError as exc:
        audit(request, user.name, f"purchase.{step}.refused", "purchase", purchase_id,
              reason=exc.stored())
        flash(request, "error", _("The action was refused") + ": " + i18n.refusal(exc))
        return back
    flash(request, "ok", _done(step))
    return back


@router.get("/purchases/{purchase_id}/documents/{role}")
def purchase_document(request: Request, purchase_id: int, role: str,
                      user: CurrentUser = Permission("purchases.view")) -> Response:
    """The seal photo or lab report of a purchase, as a download (audited)."""
    if role not in sp.DOCUMENT_TYPES:
        raise HTTPException(404)
    with console(request).db.session() as s:
        p = s.get(Purchase, purchase_id)
        if p is None:
            raise HTTPException(404)
        if role == "seal_photo":
            sample = s.scalar(select(Sample).where(Sample.purchase_id == p.id))
            sha = sample.seal_photo_sha256 if sample else None
        else:
            sha = sp.lab_report_of(p)
        media = s.scalar(select(Artifact.media_type).where(Artifact.sha256 == sha,
                                                           Artifact.role == role)) if sha else None
    path = artifact_file(console(request).settings, sha) if sha else None
    if path is None or media is None:
        raise HTTPException(404)
    audit(request, user.name, f"purchase.{role}.download", "purchase", purchase_id, sha256=sha)
    ext = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp",
           "application/pdf": ".pdf"}[media]
    return FileResponse(path, media_type=media,
                        headers=download_headers(f"purchase-{purchase_id}-{role}{ext}"))


@router.post("/plans/{plan_id}/tasks")
def plan_tasks(request: Request, plan_id: int,
               user: CurrentUser = Permission("purchases.work")) -> Response:
    """Purchase tasks for an approved plan with personas assigned (the CLI's ``purchase
    tasks``); rotation-rule breaches on record are flagged on the page that follows."""
    back = RedirectResponse(f"/purchases?plan={plan_id}", status_code=303)
    try:
        with console(request).db.session() as s:
            report = sp.create_purchase_tasks(s, plan_id, actor=user.name)
    except NotFound:
        raise HTTPException(404) from None
    except SpotcheckError as exc:
        flash(request, "error", _("The action was refused") + ": " + i18n.refusal(exc))
        return RedirectResponse(f"/plans/{plan_id}", status_code=303)
    text = _("%(created)s purchase tasks created, %(existing)s already there, %(skipped)s "
             "skipped, %(unassigned)s without a persona.") % {
        "created": len(report.created), "existing": len(report.existing),
        "skipped": len(report.skipped), "unassigned": len(report.unassigned)}
    flash(request, "error" if report.flags else "ok", text,
          **({"flags": "\n".join(breach_text(f) for f in report.flags)} if report.flags else {}))
    return back
