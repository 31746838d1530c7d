"""The plan review page's figures, read with column queries.

sampler.plans.plan_summary and plan_diff compute the same figures through ORM entities, which
for a 2,000-item plan (and its previous version) means materialising some 10,000 objects with
their JSON columns: seconds per page.  The review page must render in well under a second, so
it reads plain columns here and follows the sampler's definitions exactly;
tests/web/test_planview.py checks that both give the same answers on the same plans.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Listing, Plan, PlanItem, Seller


@dataclass(frozen=True)
class ItemRow:
    """One plan item as the review page shows it."""

    seq: int
    listing_id: int
    title: str
    price: Decimal | None
    currency: str | None
    seller_id: int | None
    seller: str | None
    stratum: str
    pi: float
    certainty: bool
    reasons: list[Any]
    risk: float | None
    supervision_class: str
    expected_price: Decimal | None


def load_items(s: Session, plan_id: int) -> list[ItemRow]:
    rows = s.execute(
        select(PlanItem.seq, PlanItem.listing_id, Listing.title, Listing.price,
               Listing.currency, Listing.seller_id, Seller.name, PlanItem.stratum,
               PlanItem.inclusion_probability, PlanItem.certainty, PlanItem.reasons,
               Listing.risk_score, Listing.supervision_class, PlanItem.expected_price)
        .join(Listing, Listing.id == PlanItem.listing_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .where(PlanItem.plan_id == plan_id).order_by(PlanItem.seq))
    return [ItemRow(seq, lid, title or "", price, cur, sid, seller, stratum, float(pi),
                    bool(cert), reasons if isinstance(reasons, list) else [reasons], risk,
                    getattr(cls, "value", str(cls)), expected)
            for (seq, lid, title, price, cur, sid, seller, stratum, pi, cert, reasons, risk, cls,
                 expected) in rows]


def risk_bin(score: float | None) -> str:
    if score is None:
        return "none"
    b = min(int(max(score, 0.0) * 10), 9)
    return f"{b / 10:.1f}–{(b + 1) / 10:.1f}"


def summary(plan: Plan, items: list[ItemRow]) -> dict[str, Any]:
    """The ``strata``, ``totals``, ``risk_distribution`` and ``sellers`` of
    sampler.plans.plan_summary, from already loaded items."""
    params = plan.parameters or {}
    sizes: dict[str, int] = params.get("stratum_sizes", {})
    alloc: dict[str, int] = params.get("allocation", {})
    by: dict[str, list[ItemRow]] = defaultdict(list)
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
                     "risk_mean": sum(risks) / len(risks) if risks else None})
    bins = Counter(risk_bin(it.risk) for it in items)
    sellers = Counter(it.seller_id for it in items if it.seller_id)
    return {"strata": rows,
            "totals": {"N": plan.frame_size, "n": plan.sample_size, "strata": len(rows),
                       "expected_cost": params.get("expected_cost"),
                       "sample_cost": round(sum(r["sample_cost"] for r in rows), 2),
                       "certainty": sum(r["certainty"] for r in rows),
                       "excluded": params.get("excluded", {})},
            "risk_distribution": dict(sorted(bins.items())),
            "sellers": {"distinct": len(sellers),
                        "max_buys": max(sellers.values()) if sellers else 0,
                        "limit": (plan.design or {}).get("max_per_seller")}}


def diff(s: Session, a: Plan, b: Plan, b_items: list[ItemRow]) -> dict[str, Any]:
    """sampler.plans.plan_diff(a, b) for the page: added/removed items carry listing_id,
    title and π; changed ones the π and stratum pairs."""
    old = {lid: (float(pi), stratum, title or "") for lid, pi, stratum, title in s.execute(
        select(PlanItem.listing_id, PlanItem.inclusion_probability, PlanItem.stratum,
               Listing.title).join(Listing, Listing.id == PlanItem.listing_id)
        .where(PlanItem.plan_id == a.id))}
    new = {it.listing_id: (it.pi, it.stratum, it.title) for it in b_items}
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
            "seed": [a.seed, b.seed] if a.seed != b.seed else None,
            "frame_changed": a.frame_sha256 != b.frame_sha256,
            "frame_size": [a.frame_size, b.frame_size],
            "design": {k: [da.get(k), db_.get(k)] for k in sorted(set(da) | set(db_))
                       if da.get(k) != db_.get(k)},
            "added": [{"listing_id": lid, "title": new[lid][2],
                       "inclusion_probability": new[lid][0]}
                      for lid in sorted(set(new) - set(old))],
            "removed": [{"listing_id": lid, "title": old[lid][2],
                         "inclusion_probability": old[lid][0]}
                        for lid in sorted(set(old) - set(new))],
            "changed": changed,
            "kept": len(set(old) & set(new))}
