"""Campaigns and their plans: the status pages and the supervisor's plan review."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence.covert import persona_capture_clause
from sampler import plans as sp
from sampler.registration import registration_of
from sampler.risk.reasons import TABLE as RISK_TABLE
from sampler.risk.reasons import render as render_reason
from scheduler.preregistration import approve_and_register
from spotcheck.web import charts, i18n, planview
from spotcheck.web.deps import (
    CurrentUser,
    Permission,
    audit,
    console,
    flash,
    platform_names,
    render,
    short,
)
from spotcheck.web.i18n import gettext as _
from spotcheck.web.labels import (
    class_name,
    code_label,
    plan_status_label,
    purchase_label,
    stratum_label,
)
from store import messages
from store.errors import Conflict, InvalidInput
from store.labels import stratum_in_text, text_label
from store.models import (
    Artifact,
    Campaign,
    Capture,
    Plan,
    PlanItem,
    PlanStatus,
    Purchase,
    PurchaseStatus,
)

router = APIRouter()

#: Purchase states in board order; "done" ones count as progress.
PURCHASE_ORDER = [PurchaseStatus.PLANNED, PurchaseStatus.ORDERED, PurchaseStatus.RECEIVED,
                  PurchaseStatus.SENT_TO_LAB, PurchaseStatus.RESULT, PurchaseStatus.CLOSED,
                  PurchaseStatus.CANCELLED, PurchaseStatus.FAILED]


def _purchase_counts(s: Session, campaign_ids: list[int]) -> dict[int, Counter[str]]:
    rows = s.execute(
        select(Plan.campaign_id, Purchase.status, func.count())
        .join(PlanItem, PlanItem.id == Purchase.plan_item_id)
        .join(Plan, Plan.id == PlanItem.plan_id)
        .where(Plan.campaign_id.in_(campaign_ids))
        .group_by(Plan.campaign_id, Purchase.status))
    out: dict[int, Counter[str]] = defaultdict(Counter)
    for cid, status, n in rows:
        out[cid][PurchaseStatus(status).value] += n
    return out


def progress_chart(counts: Counter[str], target: int | None, title: str) -> Any:
    parts = [(purchase_label(st), float(counts.get(st.value, 0))) for st in PURCHASE_ORDER
             if st not in (PurchaseStatus.CANCELLED, PurchaseStatus.FAILED)]
    return charts.progress(parts, title=title, total=float(target or 0))


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns(request: Request, user: CurrentUser = Permission("campaigns.view"),
              page: int = Query(1, ge=1, le=10_000),
              format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    """Campaigns, newest first, a page at a time with their total (CSV: every campaign)."""
    from spotcheck.web.deps import day, money
    from spotcheck.web.lists import Pager, csv_response, footer, rows_of, speak

    speak(request)
    with console(request).db.session() as s:
        total = int(s.scalar(select(func.count()).select_from(Campaign)) or 0)
        pager = Pager(page, total)
        stmt = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
        rows = list(s.scalars(rows_of(stmt, pager, format == "csv")))
        ids = [c.id for c in rows]
        counts = _purchase_counts(s, ids)
        latest = {cid: (v, st, n) for cid, v, st, n in s.execute(
            select(Plan.campaign_id, Plan.version, Plan.status, Plan.sample_size)
            .where(Plan.campaign_id.in_(ids)).order_by(Plan.campaign_id, Plan.version))}
        items = []
        for c in rows:
            # A budget-driven campaign has no fixed n: its newest plan's size is the target.
            target = c.sample_size or (latest[c.id][2] if c.id in latest else None)
            items.append({"c": c, "plan": latest.get(c.id), "counts": counts.get(c.id, Counter()),
                          "chart": progress_chart(counts.get(c.id, Counter()), target,
                                                  _("Purchases against the sample size"))})
    if format == "csv":
        audit(request, user.name, "campaigns.export", "campaign", None, rows=len(items))
        return csv_response("campaigns.csv", [
            _("Campaign"), _("Team"), _("Status"), _("Period"), _("Sample size"), _("Budget"),
            _("Latest plan"), _("Purchases")],
            [(it["c"].name, it["c"].team or "", code_label(it["c"].status, "campaign_status"),
              f"{day(it['c'].period_start)} – {day(it['c'].period_end)}",
              it["c"].sample_size if it["c"].sample_size is not None else "",
              money(it["c"].budget), f"v{it['plan'][0]} {plan_status_label(it['plan'][1])}"
              if it["plan"] else "", sum(it["counts"].values())) for it in items])
    return render(request, "console/campaigns.html", items=items,
                  plan_status=plan_status_label,
                  footer=footer(request, pager))


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign(request: Request, campaign_id: int,
             user: CurrentUser = Permission("campaigns.view")) -> Response:
    with console(request).db.session() as s:
        c = s.get(Campaign, campaign_id)
        if c is None:
            raise HTTPException(404)
        plans = list(s.scalars(select(Plan).where(Plan.campaign_id == c.id)
                               .order_by(Plan.version.desc())))
        counts = _purchase_counts(s, [c.id]).get(c.id, Counter())
        # The budget is in CNY; purchases are paid in the platform's currency.
        settings = console(request).settings
        spent = 0.0
        for currency, amount in s.execute(
                select(Purchase.currency, func.sum(Purchase.price_paid))
                .join(PlanItem, PlanItem.id == Purchase.plan_item_id)
                .join(Plan, Plan.id == PlanItem.plan_id).where(Plan.campaign_id == c.id)
                .group_by(Purchase.currency)):
            rate = settings.rate_to_cny(currency or "CNY") or 1
            spent += float(amount or 0) * float(rate)
        from spotcheck.web.routes.planning import schedule_form

        schedules = schedule_form(c)
    target = c.sample_size or (plans[0].sample_size if plans else None)
    chart = progress_chart(counts, target, _("Purchases against the sample size"))
    status_bars = charts.bar_chart(
        [(purchase_label(st), float(counts.get(st.value, 0))) for st in PURCHASE_ORDER],
        title=_("Purchases by status"))
    budget_chart = (charts.progress([(_("spent"), float(spent))], total=float(c.budget),
                                    title=_("Budget spent")) if c.budget else None)
    from spotcheck.web.routes.purchasing import take_flash

    return render(request, "console/campaign.html", c=c, plans=plans, chart=chart,
                  status_bars=status_bars, budget_chart=budget_chart, spent=spent,
                  plan_status=plan_status_label, schedules=schedules,
                  flash=take_flash(request))


# --- plan review ----------------------------------------------------------------------------


def reason_text(reason: Any, platforms: Mapping[str, str] | None = None) -> str:
    """One reason for display: a string, or a dict from the sampler/risk code (a plan
    item's stratum with its platform named from *platforms*)."""
    if isinstance(reason, str):
        return reason
    if isinstance(reason, dict):
        if reason.get("en") or reason.get("zh"):  # sampler.risk.reasons.Reason, plan reasons
            zh = i18n.active().startswith("zh")
            text = str(reason.get("zh") if zh and reason.get("zh") else reason.get("en") or
                       reason.get("zh"))
            code = str(reason.get("code") or "").removeprefix("risk:")  # a plan's: risk:<f>
            if messages.known(f"{RISK_TABLE}.{code}") and reason.get("params"):
                # a risk reason reads from its code and parameters, as the catalogue says it
                # now (one scored before a label existed reads labelled too)
                again = render_reason(code, 0.0, dict(reason["params"]))
                if not again.en.startswith(code):  # its parameters fill the sentence
                    text = again.zh if zh else again.en
            stratum = (reason.get("params") or {}).get("stratum")
            if reason.get("code") == "stratum" and isinstance(stratum, str):
                # the stratum as it reads now (labelled, its platform named), also in a
                # plan drawn before its reasons labelled it ("层 textiles/key")
                text = stratum_in_text(text, stratum, i18n.active(), platforms)
            points = reason.get("points")
            return f"{text} (+{float(points):.2f})" if isinstance(points, int | float) else text
        if reason.get("reason_zh") or reason.get("reason_en") or reason.get("rule"):
            # crawlers.classify's rules (an older row may carry only the rule's id)
            zh = i18n.active().startswith("zh")
            if not (reason.get("reason_zh") or reason.get("reason_en")):
                from crawlers.classify import default_classifier

                rule = default_classifier().rule(str(reason["rule"]))
                if rule is not None:  # the rule's reason, from the rules file
                    reason = {**reason, "reason_zh": rule.reason_zh, "reason_en": rule.reason_en}
            text = str(reason.get("reason_zh") if zh and reason.get("reason_zh")
                       else reason.get("reason_en") or reason.get("reason_zh")
                       or (f"分类规则 {reason['rule']}" if zh else f"rule {reason['rule']}"))
            if reason.get("matched"):
                where = (text_label("class_field", reason["field"], i18n.active())
                         + ("：" if zh else ": ")) if reason.get("field") else ""
                text += (f"（{where}“{reason['matched']}”）" if zh
                         else f" ({where}“{reason['matched']}”)")
            return text
        for key in ("text", "label", "reason", "message", "why"):
            if reason.get(key):
                extra = ", ".join(f"{k}={v}" for k, v in reason.items()
                                  if k not in (key, "code") and not isinstance(v, dict | list))
                return f"{reason[key]}" + (f" ({extra})" if extra else "")
        return ", ".join(f"{k}={v}" for k, v in reason.items())
    return str(reason)


def _thumbnails(s: Session, plan_id: int) -> dict[int, str]:
    """The newest screenshot of each plan item's listing (viewport preferred); captures made
    with a buyer persona are left out (they may show the persona)."""
    rows = s.execute(
        select(Capture.listing_id, Artifact.role, Artifact.sha256)
        .join(Artifact, Artifact.capture_id == Capture.id)
        .join(PlanItem, PlanItem.listing_id == Capture.listing_id)
        .where(PlanItem.plan_id == plan_id, Artifact.role.like("screenshot%"),
               Artifact.media_type.like("image/%"), ~persona_capture_clause())
        .order_by(Capture.started_at, Artifact.role.desc()))
    out: dict[int, str] = {}
    for listing_id, _role, sha in rows:
        if listing_id is not None:
            out[listing_id] = sha  # later captures (and 'viewport' after 'full') win
    return out


def review_rights(user: CurrentUser, plan: Plan) -> tuple[bool, str | None]:
    """Whether *user* may approve/reject *plan* now, and if not, why (shown on the page).

    The rule is sampler.plans.review_refusal (which approving enforces again); this only
    says it in the reader's language."""
    refusal = sp.review_refusal(plan, user.name, user.role)
    if refusal == "role":
        return False, _("Only a supervisor can approve or reject a plan.")
    if refusal == "status":
        return False, _("Only a submitted plan can be reviewed; this one is %(status)s.") % {
            "status": plan_status_label(plan.status)}
    if refusal == "four_eyes":
        return False, _("Four-eyes rule: you drew or submitted this plan, so someone else "
                        "must review it.")
    return True, None


def plan_review_context(request: Request, plan_id: int, user: CurrentUser) -> dict[str, Any]:
    """Everything the plan review page shows (also used by the benchmark)."""
    with console(request).db.session() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise HTTPException(404)
        campaign = plan.campaign
        items = planview.load_items(s, plan.id)
        thumbs = _thumbnails(s, plan.id)
        summary = planview.summary(plan, items)
        prev = s.scalar(select(Plan).where(Plan.campaign_id == plan.campaign_id,
                                           Plan.version < plan.version)
                        .order_by(Plan.version.desc()).limit(1))
        diff = planview.diff(s, prev, plan, items) if prev is not None else None
        titles = {it.listing_id: it.title for it in items}
        can_review, why_not = review_rights(user, plan)
        registration = registration_of(s, plan.id)
        rejected = sp.previous_rejection(s, plan) if plan.status in (
            PlanStatus.DRAFT, PlanStatus.SUBMITTED) else None
        rejection = ({"version": rejected.version, "id": rejected.id,
                      "by": rejected.reviewed_by, "at": rejected.reviewed_at,
                      "comment": rejected.review_comment} if rejected is not None else None)
        # Reasons as display text once, here: thousands of template calls cost more.
        names = platform_names(request)  # a stratum names its platform
        why = planview.reason_texts(s, plan, i18n.active(),
                                    lambda r: short(reason_text(r, names), 160))
    item_rows = planview.items_html(items, thumbs, why, class_name, _("certain"), names)
    strata = summary["strata"]
    n_total = sum(r["n_h"] for r in strata)
    N_total = sum(r["N_h"] for r in strata)
    allocation = charts.bar_chart(
        [(stratum_label(str(r["stratum"]), names), float(r["n_h"])) for r in strata],
        title=_("Allocation by stratum"),
        secondary=[r["N_h"] * n_total / N_total for r in strata] if N_total else None)
    risk_chart = charts.bar_chart(
        [(label, float(n)) for label, n in summary["risk_distribution"].items()],
        title=_("Risk scores of the chosen listings"), label_width=90)
    pis = [it.pi for it in items]
    # Bins from the data: its own range, Sturges' number of bins (all π in the first of ten
    # fixed bins over [0, 1] said nothing).
    pi_chart = charts.histogram(pis, title=_("Inclusion probabilities"),
                                bins=min(12, max(3, math.ceil(math.log2(max(len(pis), 1))) + 1)))
    totals = summary["totals"]
    cost = float(totals.get("expected_cost") or totals.get("sample_cost") or 0.0)
    if plan.expected_cost is not None:
        cost = float(plan.expected_cost)
    budget = float(campaign.budget) if campaign.budget is not None else None
    budget_chart = charts.progress([(_("expected cost"), cost)], total=budget or cost,
                                   title=_("Expected cost against the budget"))
    return {"plan": plan, "campaign": campaign, "items": items, "item_rows": item_rows,
            "strata": strata,
            "totals": totals, "sellers": summary["sellers"], "diff": diff, "titles": titles,
            "allocation": allocation, "risk_chart": risk_chart, "pi_chart": pi_chart,
            "budget_chart": budget_chart, "cost": cost, "budget": budget,
            "can_review": can_review, "why_not": why_not, "registration": registration,
            "can_submit": (user.can("plans.submit") and plan.status is PlanStatus.DRAFT
                           and user.name == plan.created_by),
            "rejection": rejection,
            "may_tasks": user.can("purchases.work") and plan.status is PlanStatus.APPROVED,
            "may_draw": user.can("plans.draw") and plan.status is PlanStatus.REJECTED,
            "plan_status": plan_status_label, "reason_text": reason_text,
            "over_budget": budget is not None and cost > budget}


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_review(request: Request, plan_id: int,
                user: CurrentUser = Permission("plans.view")) -> Response:
    ctx = plan_review_context(request, plan_id, user)
    message = request.state.session.pop("flash", None)
    if message:
        request.state.session_dirty = True
    return render(request, "console/plan.html", flash=message, **ctx)


def _review(request: Request, plan_id: int, user: CurrentUser, action: str,
            comment: str) -> Response:
    """Approve or reject through sampler.plans (which writes the audit event); refusals are
    audited here, with the client's address."""
    db = console(request).db
    with db.session() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise HTTPException(404)
        allowed, why = review_rights(user, plan)
        code = sp.review_refusal(plan, user.name, user.role)
    if not allowed:
        # the refusal's code (labelled on the audit page), not the sentence in this
        # user's language
        audit(request, user.name, f"plan.{action}.denied", "plan", plan_id, reason=code)
        raise HTTPException(403, detail=why)
    if action == "reject" and not comment.strip():
        flash(request, "error", _("A rejection needs a comment saying what to change."))
        return RedirectResponse(f"/plans/{plan_id}", status_code=303)
    try:
        with db.session() as s:
            if action == "approve":
                # Approval pre-registers the plan (signed, time-stamped manifest) at once.
                approve_and_register(s, plan_id, user.name, user.role.value, comment or None,
                                     console(request).settings)
            else:
                sp.reject_plan(s, plan_id, user.name, user.role.value, comment)
    except (Conflict, InvalidInput) as exc:
        audit(request, user.name, f"plan.{action}.refused", "plan", plan_id,
              reason=exc.stored())
        raise
    flash(request, "ok", _("Plan approved.") if action == "approve" else _("Plan rejected."))
    if action == "approve":
        from scheduler.purchases import open_purchases_elsewhere

        with db.session() as s:
            others = open_purchases_elsewhere(s, plan_id)
        if others:  # approved all the same, but the supervisor must see it
            flash(request, "error", _("Plan approved.") + " " + " ".join(
                _("Plan v%(version)s of this campaign is also approved and still has "
                  "%(n)s open purchases: two plans now spend one budget.")
                % {"version": o["version"], "n": o["open_purchases"]} for o in others))
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)


@router.post("/plans/{plan_id}/approve")
def approve(request: Request, plan_id: int, comment: str = Form("", max_length=4000),
            user: CurrentUser = Permission("plans.view")) -> Response:
    # plans.view, not plans.review: a sampler's attempt is refused *and* audited in _review.
    return _review(request, plan_id, user, "approve", comment)


@router.post("/plans/{plan_id}/reject")
def reject(request: Request, plan_id: int, comment: str = Form("", max_length=4000),
           user: CurrentUser = Permission("plans.view")) -> Response:
    return _review(request, plan_id, user, "reject", comment)


@router.post("/plans/{plan_id}/submit")
def submit(request: Request, plan_id: int, user: CurrentUser = Permission("plans.submit")
           ) -> Response:
    with console(request).db.session() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise HTTPException(404)
        refusal = sp.submit_refusal(s, plan)
    if refusal is not None:
        # A rejected plan sent again as it is, or a draw identical to it: said on the page,
        # in the reader's language (submit_plan enforces the same rule).
        why = {"rejected": _("A rejected plan is not sent again as it is: draw a new version "
                             "that answers the comment."),
               "unchanged": _("This version has the same items and inclusion probabilities as "
                              "the rejected one: change the design or the seed and draw "
                              "again."),
               }.get(refusal, _("Only a draft can be submitted."))
        audit(request, user.name, "plan.submit.refused", "plan", plan_id, reason=refusal)
        flash(request, "error", _("The action was refused") + ": " + why)
        return RedirectResponse(f"/plans/{plan_id}", status_code=303)
    with console(request).db.session() as s:
        sp.submit_plan(s, plan_id, user.name)
    flash(request, "ok", _("Plan submitted for review."))
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)
