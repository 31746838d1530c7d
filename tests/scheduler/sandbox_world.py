"""A small world on a running sandbox: platforms registered, a few real listings, a plan."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from crawlers.platforms import register_sandbox_platforms
from store.models import (
    Campaign,
    Listing,
    Plan,
    PlanItem,
    PlanStatus,
    Sector,
    Seller,
    SupervisionClass,
)


def pick(truth: dict[str, Any], platform: str, n: int) -> list[dict[str, Any]]:
    """Active, non-prohibited listings of *platform* from the sandbox's truth."""
    return [li for li in truth["listings"]
            if li["platform"] == platform and li["status"] == "active"
            and li["supervision_class"] != "prohibited"][:n]


def add_listing(s: Session, platform_id: int, li: dict[str, Any]) -> Listing:
    seller = s.query(Seller).filter_by(platform_id=platform_id,
                                       external_id=li["seller_id"]).one_or_none()
    if seller is None:
        seller = Seller(platform_id=platform_id, external_id=li["seller_id"],
                        name=li["seller_name"])
        s.add(seller)
        s.flush()
    row = Listing(platform_id=platform_id, external_id=li["external_id"], url=li["url"],
                  title=li["title"], price=Decimal(li["price"]), currency=li["currency"],
                  seller_id=seller.id, sector=Sector(li["sector"]),
                  supervision_class=SupervisionClass(li["supervision_class"]))
    s.add(row)
    s.flush()
    return row


def approved_plan(s: Session, urls: dict[str, str], listings: list[dict[str, Any]],
                  platform: str = "mall") -> tuple[int, int, list[int]]:
    """(platform id, plan id, listing ids) for an approved plan buying *listings*."""
    rows = {p.code: p for p in register_sandbox_platforms(s, urls)}
    plat = rows[platform]
    plat.jurisdiction_bureau = plat.jurisdiction_bureau or "杭州海关"
    campaign = Campaign(name=f"buy-{platform}", scope={"platforms": [platform]})
    s.add(campaign)
    s.flush()
    plan = Plan(campaign_id=campaign.id, version=1, status=PlanStatus.DRAFT, seed=1,
                method="srs", frame_sha256="0" * 64, frame_size=len(listings),
                sample_size=len(listings), created_by="amy", reviewed_by="bob")
    s.add(plan)
    s.flush()
    ids = []
    for seq, li in enumerate(listings):
        row = add_listing(s, plat.id, li)
        s.add(PlanItem(plan_id=plan.id, listing_id=row.id, seq=seq, stratum="x",
                       inclusion_probability=0.5))
        ids.append(row.id)
    s.flush()
    plan.status = PlanStatus.APPROVED  # after the items: approved plans are immutable
    s.flush()
    return plat.id, plan.id, ids
