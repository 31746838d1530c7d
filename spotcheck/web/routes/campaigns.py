"""Campaigns and their plans: the status pages and the supervisor's plan review."""

from __future__ import annotations

import inspect
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spotcheck.web import charts, domain, i18n
from spotcheck.web.deps import CurrentUser, Permission, audit, console, render
from spotcheck.web.i18n import gettext as _
from store.errors import Conflict
from store.models import (
    Artifact,
    Campaign,
    Capture,
    Listing,
    Plan,
    PlanItem,
    PlanStatus,
    Purchase,
    PurchaseStatus,
    Role,
    Seller,
)

router = APIRouter()

#: Purchase states in board order; "done" ones count as progress.
PURCHASE_ORDER = [PurchaseStatus.PLANNED, PurchaseStatus.ORDERED, PurchaseStatus.RECEIVED,
                  PurchaseStatus.SENT_TO_LAB, PurchaseStatus.RESULT, PurchaseStatus.CLOSED,
                  PurchaseStatus.CANCELLED, PurchaseStatus.FAILED]


def purchase_label(status: PurchaseStatus | str) -> str:
    labels = {"planned": _("planned"), "ordered": _("ordered"), "received": _("received"),
              "sent_to_lab": _("sent to lab"), "result": _("result"), "closed": _("closed"),
              "cancelled": _("cancelled"), "failed": _("failed")}
    value = status.value if isinstance(status, PurchaseStatus) else status
    return labels.get(value, value)


def plan_status_label(status: PlanStatus | str) -> str:
    labels = {"draft": _("draft"), "submitted": _("submitted"), "approved": _("approved"),
              "rejected": _("rejected"), "superseded": _("superseded")}
    value = status.value if isinstance(status, PlanStatus) else status
    return labels.get(value, value)


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
def campaigns(request: Request, user: CurrentUser = Permission("campaigns.view")) -> Response:
    with console(request).db.session() as s:
        rows = list(s.scalars(select(Campaign).order_by(Campaign.created_at.desc())))
        counts = _purchase_counts(s, [c.id for c in rows])
        latest = {cid: (v, st) for cid, v, st in s.execute(
            select(Plan.campaign_id, Plan.version, Plan.status)
            .order_by(Plan.campaign_id, Plan.version))}
        items = []
        for c in rows:
            target = c.sample_size
            items.append({"c": c, "plan": latest.get(c.id), "counts": counts.get(c.id, Counter()),
                          "chart": progress_chart(counts.get(c.id, Counter()), target,
                                                  _("Purchases against the sample size"))})
    return render(request, "console/campaigns.html", items=items,
                  plan_status=plan_status_label)


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
        spent = s.scalar(
            select(func.coalesce(func.sum(Purchase.price_paid), 0))
            .join(PlanItem, PlanItem.id == Purchase.plan_item_id)
            .join(Plan, Plan.id == PlanItem.plan_id).where(Plan.campaign_id == c.id)) or 0
    chart = progress_chart(counts, c.sample_size, _("Purchases against the sample size"))
    status_bars = charts.bar_chart(
        [(purchase_label(st), float(counts.get(st.value, 0))) for st in PURCHASE_ORDER],
        title=_("Purchases by status"))
    budget_chart = (charts.progress([(_("spent"), float(spent))], total=float(c.budget),
                                    title=_("Budget spent")) if c.budget else None)
    return render(request, "console/campaign.html", c=c, plans=plans, chart=chart,
                  status_bars=status_bars, budget_chart=budget_chart, spent=spent,
                  plan_status=plan_status_label)


# --- plan review ----------------------------------------------------------------------------


@dataclass
class ItemRow:
    seq: int
    listing_id: int
    title: str
    price: Decimal | None
    currency: str | None
    seller: str | None
    stratum: str
    pi: float
    certainty: bool
    reasons: list[Any]
    risk: float | None
    supervision_class: str
    thumb: str | None = None


@dataclass
class Stratum:
    name: str
    n: int = 0
    certainty: int = 0
    cost: float = 0.0
    pi_sum: float = 0.0
    frame: int | None = None

    @property
    def mean_pi(self) -> float:
        return self.pi_sum / self.n if self.n else 0.0


@dataclass
class PlanDiff:
    previous_version: int | None = None
    added: list[tuple[int, str]] = field(default_factory=list)
    removed: list[tuple[int, str]] = field(default_factory=list)
    changed: list[tuple[int, str, float, float]] = field(default_factory=list)
    from_domain: Any = None


def reason_text(reason: Any) -> str:
    """One reason for display: a string, or a dict from the sampler/risk code."""
    if isinstance(reason, str):
        return reason
    if isinstance(reason, dict):
        if reason.get("en") or reason.get("zh"):  # sampler.risk.reasons.Reason
            zh = i18n.active().startswith("zh")
            text = str(reason.get("zh") if zh and reason.get("zh") else reason.get("en") or
                       reason.get("zh"))
            points = reason.get("points")
            return f"{text} (+{float(points):.2f})" if isinstance(points, int | float) else text
        for key in ("text", "label", "reason", "message", "why"):
            if reason.get(key):
                extra = ", ".join(f"{k}={v}" for k, v in reason.items()
                                  if k not in (key, "code") and not isinstance(v, dict | list))
                return f"{reason[key]}" + (f" ({extra})" if extra else "")
        return ", ".join(f"{k}={v}" for k, v in reason.items())
    return str(reason)


def _thumbnails(s: Session, plan_id: int) -> dict[int, str]:
    """The newest screenshot of each plan item's listing (viewport preferred)."""
    rows = s.execute(
        select(Capture.listing_id, Artifact.role, Artifact.sha256)
        .join(Artifact, Artifact.capture_id == Capture.id)
        .join(PlanItem, PlanItem.listing_id == Capture.listing_id)
        .where(PlanItem.plan_id == plan_id, Artifact.role.like("screenshot%"),
               Artifact.media_type.like("image/%"), Capture.persona_id.is_(None))
        .order_by(Capture.started_at, Artifact.role.desc()))
    out: dict[int, str] = {}
    for listing_id, _role, sha in rows:
        if listing_id is not None:
            out[listing_id] = sha  # later captures (and 'viewport' after 'full') win
    return out


def _items(s: Session, plan_id: int) -> list[ItemRow]:
    rows = s.execute(
        select(PlanItem.seq, PlanItem.listing_id, Listing.title, Listing.price,
               Listing.currency, Seller.name, PlanItem.stratum,
               PlanItem.inclusion_probability, PlanItem.certainty, PlanItem.reasons,
               Listing.risk_score, Listing.supervision_class, PlanItem.expected_price)
        .join(Listing, Listing.id == PlanItem.listing_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .where(PlanItem.plan_id == plan_id).order_by(PlanItem.seq))
    thumbs = _thumbnails(s, plan_id)
    return [ItemRow(seq, lid, title or "", price if price is not None else expected, cur,
                    seller, stratum, float(pi), bool(cert),
                    reasons if isinstance(reasons, list) else [reasons],
                    risk, getattr(cls, "value", str(cls)), thumbs.get(lid))
            for (seq, lid, title, price, cur, seller, stratum, pi, cert, reasons, risk, cls,
                 expected) in rows]


def _strata(plan: Plan, items: list[ItemRow]) -> list[Stratum]:
    by: dict[str, Stratum] = {}
    for it in items:
        st = by.setdefault(it.stratum, Stratum(it.stratum))
        st.n += 1
        st.certainty += it.certainty
        st.pi_sum += it.pi
        st.cost += float(it.price or 0)
    frame = (plan.parameters or {}).get("strata") or (plan.design or {}).get("strata")
    if isinstance(frame, dict):
        for name, info in frame.items():
            size = info.get("N", info.get("frame_size")) if isinstance(info, dict) else info
            if isinstance(size, int | float):
                by.setdefault(str(name), Stratum(str(name))).frame = int(size)
    return sorted(by.values(), key=lambda st: st.name)


def _diff(s: Session, plan: Plan, items: list[ItemRow]) -> PlanDiff:
    prev = s.scalar(select(Plan).where(Plan.campaign_id == plan.campaign_id,
                                       Plan.version < plan.version)
                    .order_by(Plan.version.desc()).limit(1))
    if prev is None:
        return PlanDiff()
    fn = domain.find("sampler.plans", "plan_diff")
    if fn is not None:
        try:
            return PlanDiff(previous_version=prev.version, from_domain=_call_diff(fn, s, prev,
                                                                                  plan))
        except TypeError:
            pass
    old = {lid: (float(pi), title or "") for lid, pi, title in s.execute(
        select(PlanItem.listing_id, PlanItem.inclusion_probability, Listing.title)
        .join(Listing, Listing.id == PlanItem.listing_id).where(PlanItem.plan_id == prev.id))}
    new = {it.listing_id: (it.pi, it.title) for it in items}
    diff = PlanDiff(previous_version=prev.version)
    diff.added = sorted((lid, new[lid][1]) for lid in new.keys() - old.keys())
    diff.removed = sorted((lid, old[lid][1]) for lid in old.keys() - new.keys())
    diff.changed = sorted((lid, new[lid][1], old[lid][0], new[lid][0])
                          for lid in new.keys() & old.keys()
                          if abs(new[lid][0] - old[lid][0]) > 1e-9)
    return diff


def _call_diff(fn: Any, s: Session, prev: Plan, plan: Plan) -> Any:
    params = list(inspect.signature(fn).parameters)
    if params and params[0] in ("session", "s"):
        return fn(s, prev.id, plan.id)
    return fn(prev.id, plan.id)


def review_rights(user: CurrentUser, plan: Plan) -> tuple[bool, str | None]:
    """Whether *user* may approve/reject *plan* now, and if not, why (shown on the page)."""
    if not user.can("plans.review"):
        return False, _("Only a supervisor can approve or reject a plan.")
    if plan.status != PlanStatus.SUBMITTED:
        return False, _("Only a submitted plan can be reviewed; this one is %(status)s.") % {
            "status": plan_status_label(plan.status)}
    if user.name in {plan.submitted_by, plan.created_by}:
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
        items = _items(s, plan.id)
        diff = _diff(s, plan, items)
    strata = _strata(plan, items)
    frame_risks = [it.risk for it in items if it.risk is not None]
    allocation = charts.bar_chart(
        [(st.name, float(st.n)) for st in strata], title=_("Allocation by stratum"),
        secondary=[float(st.frame or 0) * sum(x.n for x in strata) / max(1, sum(
            x.frame or 0 for x in strata)) for st in strata]
        if all(st.frame for st in strata) and strata else None)
    risk_chart = charts.histogram(frame_risks, title=_("Risk scores of the chosen listings"),
                                  bins=10, lo=0.0, hi=max([1.0, *frame_risks]))
    pi_chart = charts.histogram([it.pi for it in items], title=_("Inclusion probabilities"),
                                bins=10, lo=0.0, hi=1.0)
    cost = float(plan.expected_cost if plan.expected_cost is not None
                 else sum(float(it.price or 0) for it in items))
    budget = float(campaign.budget) if campaign.budget is not None else None
    budget_chart = charts.progress([(_("expected cost"), cost)], total=budget or cost,
                                   title=_("Expected cost against the budget"))
    can_review, why_not = review_rights(user, plan)
    return {"plan": plan, "campaign": campaign, "items": items, "strata": strata,
            "diff": diff, "allocation": allocation, "risk_chart": risk_chart,
            "pi_chart": pi_chart, "budget_chart": budget_chart, "cost": cost,
            "budget": budget, "can_review": can_review, "why_not": why_not,
            "review_available": domain.approve_plan() is not None,
            "can_submit": (user.can("plans.submit") and plan.status == PlanStatus.DRAFT
                           and domain.submit_plan() is not None),
            "plan_status": plan_status_label, "reason_text": reason_text,
            "over_budget": budget is not None and cost > budget}


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_review(request: Request, plan_id: int,
                user: CurrentUser = Permission("plans.view")) -> Response:
    ctx = plan_review_context(request, plan_id, user)
    flash = request.state.session.pop("flash", None)
    if flash:
        request.state.session_dirty = True
    return render(request, "console/plan.html", flash=flash, **ctx)


def _call_review(fn: Any, request: Request, plan_id: int, actor: str, comment: str) -> None:
    """Call sampler.plans.approve_plan/reject_plan, whatever shape its arguments take."""
    db = console(request).db
    sig = inspect.signature(fn)
    names = list(sig.parameters)
    kwargs: dict[str, Any] = {}
    for key, value in (("comment", comment), ("by", actor), ("reviewer", actor),
                       ("user", actor), ("actor", actor)):
        if key in sig.parameters:
            kwargs[key] = value
    if names and names[0] in ("session", "s"):
        with db.session() as s:
            fn(s, plan_id, **kwargs)
    elif names and names[0] == "db":
        fn(db, plan_id, **kwargs)
    else:
        fn(plan_id, **kwargs)


def _review(request: Request, plan_id: int, user: CurrentUser, action: str,
            comment: str) -> Response:
    with console(request).db.session() as s:
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise HTTPException(404)
        allowed, why = review_rights(user, plan)
    if not allowed:
        audit(request, user.name, f"plan.{action}.denied", "plan", plan_id, reason=why)
        raise HTTPException(403, detail=why)
    fn = domain.approve_plan() if action == "approve" else domain.reject_plan()
    if fn is None:
        raise HTTPException(501, detail=_("This action is not available in this installation."))
    if action == "reject" and not comment.strip():
        request.state.session["flash"] = {"kind": "error",
                                          "text": _("A rejection needs a comment.")}
        request.state.session_dirty = True
        return RedirectResponse(f"/plans/{plan_id}", status_code=303)
    try:
        _call_review(fn, request, plan_id, user.name, comment.strip())
    except Conflict as exc:
        audit(request, user.name, f"plan.{action}.refused", "plan", plan_id, reason=str(exc))
        raise
    audit(request, user.name, f"plan.{action}", "plan", plan_id, comment=comment.strip())
    request.state.session["flash"] = {
        "kind": "ok", "text": _("Plan approved.") if action == "approve" else _("Plan rejected.")}
    request.state.session_dirty = True
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
    fn = domain.submit_plan()
    if fn is None:
        raise HTTPException(501, detail=_("This action is not available in this installation."))
    _call_review(fn, request, plan_id, user.name, "")
    audit(request, user.name, "plan.submit", "plan", plan_id)
    request.state.session["flash"] = {"kind": "ok", "text": _("Plan submitted for review.")}
    request.state.session_dirty = True
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)


__all__ = ["Role", "router"]
