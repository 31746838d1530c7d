"""Purchase plans in the store: draw, review (four eyes), diff, summary.

The API the scheduler, the web console and the demo call (all take an open SQLAlchemy
session; the caller commits):

* :func:`draw_plan` — freeze the campaign's frame, draw, store a new plan version (draft);
* :func:`submit_plan`, :func:`approve_plan`, :func:`reject_plan` — the review, with audit
  events; approving or rejecting is for a supervisor or admin who neither drew nor submitted
  the plan;
* :func:`plan_diff`, :func:`plan_summary`, :func:`plan_dict`, :func:`resolve_plan`;
* :func:`estimate_plan` (in :mod:`sampler.plan_estimates`), re-exported here; exporting a
  plan is :func:`sampler.export.export_plan` (it reads plans, so plans does not import it).

An approved plan is immutable: the ``before_flush`` guard of :mod:`store.guards` (registered
by :mod:`store.db` on every session) refuses any change to it or to its items (``Conflict``),
whoever the caller is.  A change means drawing a new version.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sampler.campaign_scope import campaign_design, get_campaign
from sampler.design import TAKE_ALL, run_design
from sampler.frame import build_frame, freeze_frame
from store.errors import Conflict, InvalidInput, NotFound
from store.messages import render
from store.models import (
    AuditEvent,
    Campaign,
    Listing,
    Plan,
    PlanItem,
    PlanStatus,
    Role,
    utcnow,
)
from store.settings import Settings, get_settings

REVIEWER_ROLES = frozenset({Role.SUPERVISOR.value, Role.ADMIN.value})
MAX_SEED = 2**63 - 1


# --- drawing --------------------------------------------------------------------------------


def _reason(code: str, **params: Any) -> dict[str, Any]:
    """Why an item is in the plan: its code and parameters, with the sentence
    (``plan_reason.<code>`` in store/messages.toml) in both languages as drawn (the plan is
    immutable once approved; its reasons read as they were written)."""
    return {"code": code, "params": params,
            "en": render(f"plan_reason.{code}", params, "en"),
            "zh": render(f"plan_reason.{code}", params, "zh-CN")}


def draw_plan(session: Session, campaign_id: int, *, seed: int, actor: str,
              settings: Settings | None = None, as_of: dt.datetime | None = None) -> Plan:
    """Freeze the campaign's frame, draw a sample with *seed*, store it as a new draft version.

    The same campaign design, frame and seed always give the same items (same listings, π,
    order).  Earlier drafts and submitted versions become ``superseded``.  One generator
    seeded by *seed* draws the sample and then the purchase order, in that order.
    """
    settings = settings or get_settings()
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput("plans.seed_integer", seed=seed)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("plans.campaign", campaign_id=campaign_id)
    design = campaign_design(campaign)
    cfg = campaign.design or {}
    strata_fields = tuple(cfg.get("strata") or ("platform", "sector"))
    exclude_days = cfg.get("exclude_bought_days")
    carried: dict[int, Any] = {}
    if cfg.get("take_all_failed_products"):
        from sampler.products import carried_failures

        carried = carried_failures(session)
    table = build_frame(session, campaign, strata=strata_fields,
                        exclude_bought_days=exclude_days, as_of=as_of,
                        exclude_unbuyable=bool(cfg.get("exclude_out_of_stock")),
                        take_all=set(carried))
    frame = table.to_frame()
    rng = np.random.default_rng(seed)
    result = run_design(frame, design, rng)
    sha = freeze_frame(session, table, settings)
    version = _supersede_open_versions(session, campaign.id)
    purchase_order = rng.permutation(result.selected.size)
    listings = {row.id: row for row in session.scalars(
        select(Listing).where(Listing.id.in_([int(frame.ids[i]) for i in result.selected])))}
    prices = frame.prices if frame.prices is not None else np.full(len(frame.ids), np.nan)
    plan = Plan(
        campaign_id=campaign.id, version=version, status=PlanStatus.DRAFT, seed=seed,
        method=design.method,
        design={**design.to_dict(), "strata": list(strata_fields),
                "exclude_bought_days": exclude_days,
                "take_all_failed_products": bool(cfg.get("take_all_failed_products"))},
        parameters=_plan_parameters(frame, table, result, design,
                                    known_cost=float(np.nansum(prices[result.selected]))),
        frame_sha256=sha, frame_size=len(frame.ids), sample_size=int(result.selected.size),
        expected_cost=None if result.expected_cost is None
        else round(_decimal(result.expected_cost), 2),
        created_by=actor)
    session.add(plan)
    _add_items(session, plan, frame, result, design, purchase_order, listings, carried)
    session.flush()
    _audit(session, actor, "plan.draw", plan, {"campaign": campaign.name, "version": version,
                                               "seed": seed, "frame_sha256": sha,
                                               "n": plan.sample_size})
    return plan


def _supersede_open_versions(session: Session, campaign_id: int) -> int:
    """The campaign's next plan version; its drafts and submitted versions become
    ``superseded`` (only the newest draw can be submitted or approved)."""
    version = (session.scalar(select(func.max(Plan.version))
                              .where(Plan.campaign_id == campaign_id)) or 0) + 1
    for old in session.scalars(select(Plan).where(
            Plan.campaign_id == campaign_id,
            Plan.status.in_([PlanStatus.DRAFT, PlanStatus.SUBMITTED]))):
        old.status = PlanStatus.SUPERSEDED
    return version


def _plan_parameters(frame: Any, table: Any, result: Any, design: Any, *,
                     known_cost: float) -> dict[str, Any]:
    """What the draw computed that the estimates and reports need later: sample size,
    allocation and stratum sizes (N_h), exclusions, costs, the seller cap's and Pareto's
    notes, and the frozen frame's columns."""
    return {"n": result.n, "allocation": {str(k): v for k, v in result.allocation.items()},
            "stratum_sizes": {str(k): v for k, v in result.stratum_sizes.items()},
            "excluded": table.excluded,
            "expected_cost": result.expected_cost,
            "sample_cost_known_prices": known_cost,
            "seller_cap": result.seller_cap,
            "pareto": _pareto_note(frame, result, design) if design.method == "pareto" else None,
            "expected_cost_by_stratum": None if result.expected_cost_by_stratum is None
            else {str(k): round(v, 2) for k, v in result.expected_cost_by_stratum.items()},
            "frame_columns": ["listing_id", "stratum", "size", "price_cny", "seller",
                              "prn", "risk_score"]}


def _add_items(session: Session, plan: Plan, frame: Any, result: Any, design: Any,
               purchase_order: np.ndarray, listings: dict[int, Listing],
               carried: dict[int, Any]) -> None:
    """One PlanItem per drawn listing (*listings*: the drawn listings by id), in purchase
    order (``seq``), each with its π and the reasons it is in the plan."""
    floors = {h: design.floor_ratio * result.allocation[h] / result.stratum_sizes[h]
              for h in result.stratum_sizes}
    for seq, pos in enumerate(purchase_order, start=1):
        k = int(result.selected[pos])
        lid = int(frame.ids[k])
        pik = float(result.pik[k])
        stratum = str(frame.strata[k])
        listing = listings[lid]
        session.add(PlanItem(
            plan=plan, listing_id=lid, seq=seq, stratum=stratum, inclusion_probability=pik,
            certainty=pik >= 1 - 1e-9, size=float(frame.sizes[k]),
            expected_price=None if listing.price_cny is None else listing.price_cny,
            reasons=_item_reasons(listing, k, pik, stratum, frame, result, design, floors,
                                  carried)))


def _item_reasons(listing: Listing, k: int, pik: float, stratum: str, frame: Any,
                  result: Any, design: Any, floors: dict[Any, float],
                  carried: dict[int, Any]) -> list[dict[str, Any]]:
    """Why frame unit *k* is in the plan, as the buyer and the reviewer read it: its stratum
    and allocation, how its π came about (carried failure, certainty, floor or size), no
    risk score, the seller cap, and the first three risk reasons."""
    n_h, N_h = result.allocation[stratum], result.stratum_sizes[stratum]
    reasons = [_reason("stratum", stratum=stratum, n_h=n_h, N_h=N_h,
                       allocation=design.allocation)]
    if stratum == TAKE_ALL:
        c = carried[int(frame.ids[k])]
        reasons.append(_reason("take_all", failure_via=c.source, ref=c.ref,
                               cluster=c.cluster, strength=round(c.strength, 3)))
    elif pik >= 1 - 1e-9:
        reasons.append(_reason("certainty", pi=pik))
    elif abs(pik - floors[stratum]) < 1e-12:
        reasons.append(_reason("floor", pi=pik))
    else:
        reasons.append(_reason("pps", pi=pik, size=float(frame.sizes[k])))
    if listing.risk_score is None:
        reasons.append(_reason("no_score"))
    if result.seller_capped.size and result.seller_capped[k]:
        reasons.append(_reason("seller_cap", limit=design.max_per_seller))
    for r in (listing.risk_reasons or [])[:3]:
        if isinstance(r, dict):
            reasons.append({**r, "code": f"risk:{r.get('code', '')}"})
    return reasons


def _pareto_note(frame: Any, result: Any, design: Any) -> dict[str, Any]:
    """What Pareto's λ adjustment achieved on the vectors the draw used (each stratum, or each
    seller cell's conditional π): λ are solved so that the exact Pareto inclusion
    probabilities (Aires 1999, numerical integration) equal π, so the items' π are the
    design's own; the largest remaining |π(λ) − π| is recorded, with d = Σπ(1−π) per
    stratum (the size of the adjustment, Rosén 1997: O(1/d))."""
    from sampler.pareto import pareto_lambda
    from sampler.probabilities import CERTAIN_TOL
    from sampler.seller_cap import conditional_vectors

    d: dict[str, float] = {}
    for h in result.allocation:
        inside = np.asarray(frame.strata) == h
        lam = result.pik[inside]
        d[str(h)] = round(float(np.sum(lam * (1 - lam))), 3)
    capped = design.max_per_seller is not None and frame.sellers is not None
    worst, largest_shift = 0.0, 0.0
    for q in conditional_vectors(result.pik, frame.strata, frame.sellers if capped else None,
                                 design.max_per_seller if capped else None):
        frac = q[(q > 1e-12) & (q < 1.0 - CERTAIN_TOL)]
        m = round(float(frac.sum()))
        if frac.size <= m or m < 1:
            continue
        adj = pareto_lambda(frac * (m / frac.sum()), m)
        worst = max(worst, adj.max_error)
        largest_shift = max(largest_shift, float(np.max(np.abs(adj.lam - adj.target))))
    return {"pi_are": "exact: λ adjusted so that Pareto's inclusion probabilities equal π "
                      "(Aires 1999, 2000; sampler.pareto)",
            "max_abs_error": worst, "max_abs_lambda_shift": largest_shift,
            "d_by_stratum": d}




def _decimal(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(round(value, 2)))


def _audit(session: Session, actor: str, action: str, plan: Plan,
           detail: dict[str, Any]) -> None:
    session.add(AuditEvent(actor=actor, action=action, object_type="plan",
                           object_id=str(plan.id), detail=detail))


# --- review ---------------------------------------------------------------------------------


def _load(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("plans.plan", plan_id=plan_id)
    return plan


def submit_plan(session: Session, plan_id: int, actor: str) -> Plan:
    """Send a draft for review.

    A rejected plan is not sent again as it is: its items are frozen, so "resubmitting" it
    would put the same plan before the reviewer who sent it back.  The sampler draws a new
    version (which supersedes nothing approved) and submits that; a draft whose items and
    inclusion probabilities equal the rejected version's is refused too.  The rejection
    comment stays on the rejected version (and is shown with the new one, see
    :func:`previous_rejection`).
    """
    plan = _load(session, plan_id)
    refusal = submit_refusal(session, plan)
    if refusal == "rejected":
        raise Conflict("plans.plan_was_rejected_draw_new", plan_id=plan.id,
                       comment=plan.review_comment or '—')
    if refusal == "status":
        raise Conflict("plans.plan_only_draft_can_submitted", plan_id=plan.id,
                       plan_status=plan.status)
    if refusal == "unchanged":
        rejected = previous_rejection(session, plan)
        raise Conflict("plans.plan_has_same_items_inclusion", plan_id=plan.id,
                       version=rejected.version if rejected else '?')
    plan.status = PlanStatus.SUBMITTED
    plan.submitted_by = actor
    plan.submitted_at = utcnow()
    plan.reviewed_by = plan.reviewed_at = plan.review_comment = None
    session.flush()
    _audit(session, actor, "plan.submit", plan, {"version": plan.version})
    return plan


def submit_refusal(session: Session, plan: Plan) -> str | None:
    """Why *plan* may not be submitted now: ``"rejected"`` (send a new version, not this
    one again), ``"status"`` (only a draft), ``"unchanged"`` (the same items and π as the
    rejected version before it); None when it may.  The one rule: :func:`submit_plan`
    enforces it, the console asks it to explain a refusal in the reader's language."""
    if plan.status is PlanStatus.REJECTED:
        return "rejected"
    if plan.status is not PlanStatus.DRAFT:
        return "status"
    rejected = previous_rejection(session, plan)
    if rejected is not None and _fingerprint(rejected) == _fingerprint(plan):
        return "unchanged"
    return None


def previous_rejection(session: Session, plan: Plan) -> Plan | None:
    """The newest rejected version of *plan*'s campaign drawn before it (its comment is what
    the new version answers), or None."""
    return session.scalar(select(Plan).where(Plan.campaign_id == plan.campaign_id,
                                             Plan.version < plan.version,
                                             Plan.status == PlanStatus.REJECTED)
                          .order_by(Plan.version.desc()).limit(1))


def _fingerprint(plan: Plan) -> tuple[str, frozenset[tuple[int, float]]]:
    """What a reviewer judged: the design and the items with their π (rounded)."""
    return (json.dumps(plan.design, sort_keys=True, default=str),
            frozenset((it.listing_id, round(float(it.inclusion_probability), 9))
                      for it in plan.items))


def review_refusal(plan: Plan, actor: str, role: Role | str) -> str | None:
    """Why *actor* (with *role*) may not review *plan* now: ``"role"`` (only supervisors and
    admins review), ``"status"`` (only a submitted plan), ``"four_eyes"`` (never a plan one
    drew or submitted); None when they may.  The one rule: the CLI and the console both ask
    it (the console to explain a disabled button), and :func:`approve_plan` enforces it."""
    role_value = role.value if isinstance(role, Role) else str(role)
    if role_value not in REVIEWER_ROLES:
        return "role"
    if plan.status is not PlanStatus.SUBMITTED:
        return "status"
    if actor in {plan.submitted_by, plan.created_by}:
        return "four_eyes"
    return None


def _review(session: Session, plan_id: int, actor: str, role: str, comment: str | None,
            outcome: PlanStatus) -> Plan:
    plan = _load(session, plan_id)
    role_value = role.value if isinstance(role, Role) else str(role)
    refusal = review_refusal(plan, actor, role_value)
    if refusal == "role":
        shown = Role(role_value) if role_value in {r.value for r in Role} else role_value
        raise Conflict("plans.has_role_only_supervisor_admin", actor=actor, role=shown)
    if refusal == "status":
        raise Conflict("plans.plan_only_submitted_plan_can", plan_id=plan.id,
                       plan_status=plan.status)
    if refusal == "four_eyes":
        raise Conflict("plans.four_eyes_drew_submitted_plan", actor=actor, plan_id=plan.id)
    if outcome is PlanStatus.REJECTED and not (comment or "").strip():
        raise InvalidInput("plans.rejection_needs_comment_saying_what")
    plan.status = outcome
    plan.reviewed_by = actor
    plan.reviewed_at = utcnow()
    plan.review_comment = (comment or "").strip()[:5000] or None
    session.flush()
    _audit(session, actor, f"plan.{outcome.value}", plan,
           {"version": plan.version, "role": role_value, "comment": plan.review_comment})
    return plan


def approve_plan(session: Session, plan_id: int, actor: str, role: str,
                 comment: str | None = None) -> Plan:
    """Approve a submitted plan (supervisor/admin, not its drawer or submitter)."""
    return _review(session, plan_id, actor, role, comment, PlanStatus.APPROVED)


def reject_plan(session: Session, plan_id: int, actor: str, role: str, comment: str) -> Plan:
    """Send a submitted plan back, with a comment (same four-eyes rule as approval)."""
    return _review(session, plan_id, actor, role, comment, PlanStatus.REJECTED)


# --- reading --------------------------------------------------------------------------------


def resolve_plan(session: Session, ref: str | int) -> Plan:
    """A plan by id, or ``CAMPAIGN`` (its newest version), or ``CAMPAIGN@vN``."""
    text = str(ref).strip()
    if text.isdigit():
        return _load(session, int(text))
    name, _, ver = text.partition("@")
    campaign = get_campaign(session, name)
    q = select(Plan).where(Plan.campaign_id == campaign.id)
    if ver:
        if not ver.lstrip("v").isdigit():
            raise InvalidInput("plans.bad_plan_reference_use_id", text=text)
        q = q.where(Plan.version == int(ver.lstrip("v")))
    plan = session.scalar(q.order_by(Plan.version.desc()).limit(1))
    if plan is None:
        raise NotFound("plans.plan_2", text=text)
    return plan


def list_plans(session: Session, campaign_id: int | None = None) -> list[Plan]:
    q = select(Plan).order_by(Plan.campaign_id, Plan.version)
    if campaign_id is not None:
        q = q.where(Plan.campaign_id == campaign_id)
    return list(session.scalars(q))


def plan_dict(plan: Plan, *, items: bool = True) -> dict[str, Any]:
    """A plan as plain data (JSON output, exports)."""
    data: dict[str, Any] = {
        "id": plan.id, "campaign": plan.campaign.name, "campaign_id": plan.campaign_id,
        "version": plan.version, "status": plan.status.value, "seed": plan.seed,
        "method": plan.method, "design": plan.design, "parameters": plan.parameters,
        "frame_sha256": plan.frame_sha256, "frame_size": plan.frame_size,
        "sample_size": plan.sample_size,
        "expected_cost": None if plan.expected_cost is None else str(plan.expected_cost),
        "created_by": plan.created_by, "created_at": plan.created_at,
        "submitted_by": plan.submitted_by, "submitted_at": plan.submitted_at,
        "reviewed_by": plan.reviewed_by, "reviewed_at": plan.reviewed_at,
        "review_comment": plan.review_comment}
    if items:
        data["items"] = [item_dict(it) for it in plan.items]
    return data


def item_dict(item: PlanItem) -> dict[str, Any]:
    listing = item.listing
    return {"seq": item.seq, "listing_id": item.listing_id,
            "platform": listing.platform.code if listing is not None else None,
            "external_id": listing.external_id if listing is not None else None,
            "title": (listing.title or "")[:300] if listing is not None else None,
            "url": listing.url if listing is not None else None,
            "seller_id": listing.seller_id if listing is not None else None,
            "stratum": item.stratum, "inclusion_probability": item.inclusion_probability,
            "weight": 1.0 / item.inclusion_probability if item.inclusion_probability else None,
            "certainty": item.certainty, "size": item.size,
            "risk_score": listing.risk_score if listing is not None else None,
            "expected_price": None if item.expected_price is None else str(item.expected_price),
            "reasons": item.reasons}


def plan_summary(session: Session, plan_id: int) -> dict[str, Any]:
    """What a reviewer reads first: strata table (N_h, n_h, π range, budget) and risk spread.

    Keys: ``plan`` (plan_dict without items), ``strata`` (rows with stratum, N_h, n_h,
    sampling_rate, pi_min, pi_max, certainty, expected_cost, sample_cost, risk_mean),
    ``totals``, ``risk_distribution`` (histogram of the sampled items' risk scores over
    their real range, :func:`risk_bins`), ``sellers`` (max buys per seller).
    """
    plan = _load(session, plan_id)
    rows = [SummaryRow(it.stratum, it.inclusion_probability, it.certainty,
                       it.listing.risk_score, it.expected_price, it.listing.seller_id)
            for it in plan.items]
    return {"plan": plan_dict(plan, items=False), **summarise_items(plan, rows)}


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """What the review figures need of one plan item."""

    stratum: str
    pi: float
    certainty: bool
    risk: float | None
    expected_price: Decimal | None
    seller_id: int | None


class SummaryItem(Protocol):
    """Any row with a plan item's review figures (:class:`SummaryRow`, the console's rows)."""

    @property
    def stratum(self) -> str: ...
    @property
    def pi(self) -> float: ...
    @property
    def certainty(self) -> bool: ...
    @property
    def risk(self) -> float | None: ...
    @property
    def expected_price(self) -> Decimal | None: ...
    @property
    def seller_id(self) -> int | None: ...


def risk_bins(scores: Sequence[float | None], target: int = 8) -> dict[str, int]:
    """Histogram of risk scores over their real range, in about *target* bins of a round width
    (1, 2, 2.5 or 5 × 10^k), ordered by value; scores missing count under "none".  Scores run
    on any scale (1.18–11.42 in the demo): fixed tenths of [0, 1] put every one in one bin."""
    vals = [float(v) for v in scores if v is not None]
    out: dict[str, int] = {}
    if vals:
        lo, hi = min(vals), max(vals)
        raw = (hi - lo) / target if hi > lo else 1.0
        mag = 10 ** math.floor(math.log10(raw))
        step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
        start = math.floor(lo / step) * step
        nbins = max(1, math.ceil((hi - start) / step + 1e-12))
        if start + nbins * step <= hi:
            nbins += 1
        counts = [0] * nbins
        for v in vals:
            counts[min(int((v - start) // step), nbins - 1)] += 1
        for i, c in enumerate(counts):
            a_, b_ = start + i * step, start + (i + 1) * step
            out[f"{_num(a_)}–{_num(b_)}"] = c
    missing = sum(1 for v in scores if v is None)
    if missing:
        out["none"] = missing
    return out


def _num(x: float) -> str:
    return f"{round(x, 6):g}"


def summarise_items(plan: Plan, items: Sequence[SummaryItem]) -> dict[str, Any]:
    """The ``strata``, ``totals``, ``risk_distribution`` and ``sellers`` of a plan, from its
    items however they were read (ORM here, plain columns in the console)."""
    params = plan.parameters or {}
    sizes: dict[str, int] = params.get("stratum_sizes", {})
    alloc: dict[str, int] = params.get("allocation", {})
    expected_by: dict[str, float] = params.get("expected_cost_by_stratum") or {}
    by: dict[str, list[SummaryItem]] = defaultdict(list)
    for it in items:
        by[it.stratum].append(it)
    rows: list[dict[str, Any]] = []
    for h in sorted(set(sizes) | set(by)):
        its = by.get(h, [])
        pis = [it.pi for it in its]
        risks = [it.risk for it in its if it.risk is not None]
        cost = sum(float(it.expected_price) for it in its if it.expected_price is not None)
        rows.append({"stratum": h, "N_h": sizes.get(h, 0), "n_h": len(its),
                     "allocated": alloc.get(h, len(its)),
                     "sampling_rate": len(its) / sizes[h] if sizes.get(h) else None,
                     "pi_min": min(pis) if pis else None, "pi_max": max(pis) if pis else None,
                     "certainty": sum(1 for it in its if it.certainty),
                     "sample_cost": round(cost, 2),
                     "expected_cost": expected_by.get(h),
                     "risk_mean": sum(risks) / len(risks) if risks else None})
    sellers = Counter(it.seller_id for it in items if it.seller_id)
    return {"strata": rows,
            "totals": {"N": plan.frame_size, "n": plan.sample_size, "strata": len(rows),
                       "expected_cost": params.get("expected_cost"),
                       "sample_cost": round(sum(r["sample_cost"] for r in rows), 2),
                       "certainty": sum(r["certainty"] for r in rows),
                       "excluded": params.get("excluded", {})},
            "risk_distribution": risk_bins([it.risk for it in items]),
            "sellers": {"distinct": len(sellers),
                        "max_buys": max(sellers.values()) if sellers else 0,
                        "limit": (plan.design or {}).get("max_per_seller")}}


def compare_plans(a: Plan, b: Plan, old: Mapping[int, tuple[float, str]],
                  new: Mapping[int, tuple[float, str]]) -> dict[str, Any]:
    """The one rule of what changed from plan *a* to plan *b*, given each plan's items as
    ``{listing_id: (π, stratum)}``: design, seed, frame, and which items were added, removed
    (``added_ids``/``removed_ids``, for the caller to describe) or changed (π, stratum).
    The CLI's diff and the console's review page both build on it."""
    changed = []
    for lid in sorted(set(old) & set(new)):
        x, y = old[lid], new[lid]
        delta: dict[str, list[Any]] = {}
        if abs(x[0] - y[0]) > 1e-12:
            delta["inclusion_probability"] = [x[0], y[0]]
        if x[1] != y[1]:
            delta["stratum"] = [x[1], y[1]]
        if delta:
            changed.append({"listing_id": lid, **delta})
    da, db_ = a.design or {}, b.design or {}
    return {"a": {"id": a.id, "version": a.version, "status": a.status.value},
            "b": {"id": b.id, "version": b.version, "status": b.status.value},
            "same_campaign": a.campaign_id == b.campaign_id,
            "seed": [a.seed, b.seed] if a.seed != b.seed else None,
            "frame_changed": a.frame_sha256 != b.frame_sha256,
            "frame_size": [a.frame_size, b.frame_size],
            "design": {k: [da.get(k), db_.get(k)] for k in sorted(set(da) | set(db_))
                       if da.get(k) != db_.get(k)},
            "added_ids": sorted(set(new) - set(old)),
            "removed_ids": sorted(set(old) - set(new)),
            "changed": changed,
            "kept": len(set(old) & set(new))}


def plan_diff(session: Session, a_id: int, b_id: int) -> dict[str, Any]:
    """What changed from plan *a* to plan *b*: items added/removed/changed, design, frame."""
    a, b = _load(session, a_id), _load(session, b_id)
    ia = {it.listing_id: it for it in a.items}
    ib = {it.listing_id: it for it in b.items}
    out = compare_plans(a, b, {k: (it.inclusion_probability, it.stratum) for k, it in ia.items()},
                        {k: (it.inclusion_probability, it.stratum) for k, it in ib.items()})
    out["added"] = [item_dict(ib[lid]) for lid in out.pop("added_ids")]
    out["removed"] = [item_dict(ia[lid]) for lid in out.pop("removed_ids")]
    return out


# --- re-exports (kept in their own modules) -------------------------------------------------


def estimate_plan(session: Session, plan_id: int, confidence: float = 0.95) -> dict[str, Any]:
    """Non-compliance estimates of a plan from its lab results (see sampler.plan_estimates)."""
    from sampler.plan_estimates import estimate_plan as _estimate

    return _estimate(session, plan_id, confidence=confidence)
