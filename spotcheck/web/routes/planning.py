"""Planning in the console: draw a new plan version, schedule a campaign, and a plan's
non-compliance estimates (overall and by domain, with intervals and a chart).

Each is the CLI's own function — ``sampler.plans.draw_plan`` (``plan draw``),
``scheduler.campaign_schedules.set_schedules`` (``campaign schedule``),
``sampler.plan_estimates.estimate_plan`` (``plan estimate``) — under the permission the CLI
asks (:mod:`spotcheck.permissions`); the domain functions write the audit events.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sampler.domains import DOMAIN_FIELDS
from sampler.plans import draw_plan
from scheduler.campaign_schedules import STATUSES, set_schedules
from scheduler.schedules import JOB_KINDS
from spotcheck.web import charts, i18n
from spotcheck.web.deps import (
    CurrentUser,
    Permission,
    audit,
    console,
    flash,
    platform_names,
    render,
)
from spotcheck.web.i18n import gettext as _
from spotcheck.web.labels import code_label, stratum_label
from spotcheck.web.lists import csv_response, speak
from spotcheck.web.routes.purchasing import take_flash
from store.errors import InvalidInput, NotFound, SpotcheckError
from store.models import Campaign, Plan

router = APIRouter()


@router.post("/campaigns/{campaign_id}/draw")
def draw(request: Request, campaign_id: int, seed: str = Form("", max_length=20),
         user: CurrentUser = Permission("plans.draw")) -> Response:
    """A new draft version of the campaign's plan (the sampler then reviews and submits it)."""
    try:
        value = secrets.randbits(62) if not seed.strip() else int(seed)
    except ValueError:
        flash(request, "error", _("The seed must be a whole number."))
        return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)
    try:
        with console(request).db.session() as s:
            if s.get(Campaign, campaign_id) is None:
                raise HTTPException(404)
            plan = draw_plan(s, campaign_id, seed=value, actor=user.name,
                             settings=console(request).settings)
            plan_id = plan.id
    except SpotcheckError as exc:
        audit(request, user.name, "plan.draw.refused", "campaign", campaign_id,
              reason=exc.stored())
        flash(request, "error", _("The action was refused") + ": " + i18n.refusal(exc))
        return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)
    flash(request, "ok", _("New plan version drawn; check it and submit it for review."))
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)


@router.post("/campaigns/{campaign_id}/schedule")
async def schedule(request: Request, campaign_id: int,
                   user: CurrentUser = Permission("campaigns.schedule")) -> Response:
    """Cron per job kind (an empty field removes it), the period and the status."""
    form = await request.form()

    def field(name: str, limit: int = 100) -> str:
        value = form.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    changes: dict[str, str | None] = {k: field(f"cron_{k}") or None for k in JOB_KINDS}
    changes["timezone"] = field("timezone") or None
    import datetime as dt

    back = RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)
    try:
        start = dt.date.fromisoformat(field("period_start")) if field("period_start") else None
        end = dt.date.fromisoformat(field("period_end")) if field("period_end") else None
    except ValueError:
        flash(request, "error", _("Dates are written YYYY-MM-DD."))
        return back
    try:
        with console(request).db.session() as s:
            campaign = s.get(Campaign, campaign_id)
            if campaign is None:
                raise HTTPException(404)
            set_schedules(s, campaign, changes, actor=user.name, period_start=start,
                          period_end=end, status=field("status") or None)
    except SpotcheckError as exc:
        flash(request, "error", _("The action was refused") + ": " + i18n.refusal(exc))
        return back
    flash(request, "ok", _("Schedules saved."))
    return back


def schedule_form(campaign: Campaign) -> dict[str, Any]:
    """What the campaign page's schedule form shows."""
    current = dict(campaign.schedules or {})
    return {"kinds": [(k, code_label(k, "job_kind"), current.get(k, "")) for k in JOB_KINDS],
            "timezone": current.get("timezone", ""), "statuses": STATUSES}


@router.get("/plans/{plan_id}/estimates", response_class=HTMLResponse)
def estimates(request: Request, plan_id: int, user: CurrentUser = Permission("plans.view"),
              by: str = Query("sector", max_length=20),
              confidence: float = Query(0.95, ge=0.5, le=0.999),
              format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    """``plan estimate PLAN --by FIELD``: the rate overall, by stratum and by domain."""
    from sampler.plan_estimates import estimate_plan, notes_in

    speak(request)  # labels below are made before the page renders
    if by not in DOMAIN_FIELDS:
        raise HTTPException(400, detail=_("Unknown domain."))
    with console(request).db.session() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise HTTPException(404)
        campaign_name, version, campaign_id = plan.campaign.name, plan.version, plan.campaign_id
        try:
            est: dict[str, Any] | None = estimate_plan(
                s, plan_id, confidence, by=by, settings=console(request).settings)
            why_none = None
        except (InvalidInput, NotFound) as exc:
            est, why_none = None, i18n.refusal(exc)
    rows: list[tuple[str, str, dict[str, Any]]] = []
    if est is not None:
        rows.append((_("Overall"), "overall", est["overall"]))
        names = platform_names(request)  # a stratum names its platform (CSV and page alike)
        rows += [(stratum_label(str(e["stratum"]), names), "stratum", e)
                 for e in est["by_stratum"]]
        rows += [(stratum_label(str(e["stratum"]), names), "domain", e)
                 for e in est.get("by_domain", {}).get("domains", [])]
    if format == "csv":
        audit(request, user.name, "plan.estimates.export", "plan", plan_id, by=by)
        return csv_response(f"plan-{plan_id}-estimates.csv", [
            _("Domain"), _("Kind"), _("Results"), _("Failures"), _("Hájek rate"),
            _("Interval low"), _("Interval high"), _("HT count"), _("Count low"),
            _("Count high")],
            [(name, kind, e["n"], e["failures"], e["hajek_rate"], e["hajek_rate_ci"][0],
              e["hajek_rate_ci"][1], e["ht_count"], e["ht_count_ci"][0], e["ht_count_ci"][1])
             for name, kind, e in rows])
    chart = charts.interval_chart(
        [(name, e["hajek_rate"], e["hajek_rate_ci"][0], e["hajek_rate_ci"][1])
         for name, kind, e in rows if kind != "stratum"],
        title=_("Non-compliance rate with %(level)s intervals")
        % {"level": f"{100 * confidence:g}%"}) if rows else None
    return render(request, "console/estimates.html", plan_id=plan_id, campaign_id=campaign_id,
                  campaign_name=campaign_name, version=version, est=est, why_none=why_none,
                  rows=rows, chart=chart, by=by, domains=DOMAIN_FIELDS, confidence=confidence,
                  notes=notes_in(est, i18n.active()) if est else [], flash=take_flash(request))


#: Exports offered on the plan page: format → (file suffix, media type).
EXPORTS = {"xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
           "form": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
           "csv": ("csv", "text/csv; charset=utf-8"), "pdf": ("pdf", "application/pdf")}


@router.get("/plans/{plan_id}/export/{fmt}")
def export(request: Request, plan_id: int, fmt: str,
           user: CurrentUser = Permission("plans.view")) -> Response:
    """``plan export PLAN --format FMT`` in the reader's language, as a download (audited);
    the same permission as the plan's page."""
    import tempfile
    from pathlib import Path

    from starlette.background import BackgroundTask

    from sampler.export import export_plan
    from spotcheck.web.deps import language
    from spotcheck.web.security import download_headers

    if fmt not in EXPORTS:
        raise HTTPException(404)
    suffix, media = EXPORTS[fmt]
    folder = Path(tempfile.mkdtemp(prefix="spotcheck-export-"))
    with console(request).db.session() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise HTTPException(404)
        name = f"plan-{plan.id}-v{plan.version}{'-form' if fmt == 'form' else ''}.{suffix}"
        path = export_plan(s, plan_id, fmt, folder / name, locale=language(request),
                           settings=console(request).settings)
    audit(request, user.name, "plan.export", "plan", plan_id, format=fmt)
    import shutil

    from fastapi.responses import FileResponse

    return FileResponse(path, media_type=media, headers=download_headers(name),
                        background=BackgroundTask(shutil.rmtree, folder, True))
