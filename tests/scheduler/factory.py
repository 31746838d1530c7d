"""Data the scheduler tests put in the database: platforms, sellers, listings, a plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from store.models import (
    Campaign,
    Listing,
    Plan,
    PlanItem,
    PlanStatus,
    Platform,
    Sector,
    Seller,
    SupervisionClass,
)


@dataclass
class World:
    platform_id: int
    seller_ids: list[int]
    listing_ids: list[int]
    campaign_id: int
    plan_id: int


def build_world(session: Session, *, listings: int = 6, sellers: int = 3,
                status: PlanStatus = PlanStatus.APPROVED, code: str = "mall",
                base_url: str = "http://127.0.0.1:9", prohibited: int = 0) -> World:
    platform = Platform(code=code, name=f"SBX {code}", base_url=base_url,
                        company_name="沙箱跨境电商有限公司", jurisdiction_bureau="杭州海关 Hangzhou Customs")
    session.add(platform)
    session.flush()
    seller_rows = [Seller(platform_id=platform.id, external_id=f"s{i}", name=f"卖家 {i}")
                   for i in range(sellers)]
    session.add_all(seller_rows)
    session.flush()
    sectors = [Sector.LIGHT_INDUSTRY, Sector.TEXTILES, Sector.ELECTRICAL]
    listing_rows = []
    for i in range(listings):
        cls = SupervisionClass.PROHIBITED if i < prohibited else (
            SupervisionClass.KEY if i % 2 else SupervisionClass.GENERAL)
        listing_rows.append(Listing(
            platform_id=platform.id, external_id=f"L{i}", url=f"{base_url}/item/L{i}",
            title=f"商品 {i} <script>alert(1)</script>", price=Decimal("19.90") + i,
            currency="CNY", seller_id=seller_rows[i % sellers].id, sector=sectors[i % 3],
            supervision_class=cls, category="toys"))
    session.add_all(listing_rows)
    session.flush()
    campaign = Campaign(name=f"2026H2 {code}", team="抽样一组", scope={"platforms": [code]},
                        period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 12, 31))
    session.add(campaign)
    session.flush()
    plan = Plan(campaign_id=campaign.id, version=1, status=PlanStatus.DRAFT, seed=42, method="srs",
                frame_sha256="0" * 64, frame_size=listings, sample_size=listings,
                created_by="alice", reviewed_by="bob")
    session.add(plan)
    session.flush()
    for seq, listing in enumerate(listing_rows):
        session.add(PlanItem(plan_id=plan.id, listing_id=listing.id, seq=seq,
                             stratum=f"{code}|{listing.sector.value}",
                             inclusion_probability=0.5, expected_price=listing.price))
    session.flush()
    plan.status = status  # items first: the sampler refuses changes to an approved plan
    session.flush()
    return World(platform.id, [s.id for s in seller_rows], [li.id for li in listing_rows],
                 campaign.id, plan.id)
