"""A shop with a plan over its listings: what the buying, case, report and redaction tests
start from, either made up (``small_world``) or taken from a running sandbox's planted
truth (``sandbox_plan``), so purchases go to real pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from store.models import Listing, PlanStatus, Sector, Seller, SupervisionClass
from store.settings import Settings
from tests.factory import rows


@dataclass
class World:
    platform_id: int
    seller_ids: list[int]
    listing_ids: list[int]
    campaign_id: int
    plan_id: int


def small_world(s: Session, *, listings: int = 6, sellers: int = 3,
                status: PlanStatus = PlanStatus.APPROVED, code: str = "mall",
                base_url: str = "http://127.0.0.1:9", prohibited: int = 0) -> World:
    """A platform *code* with *sellers* sellers, *listings* listings (the first *prohibited*
    of them prohibited, hostile markup in every title) and a plan buying all of them, in
    *status* (approved by default; its items carry the listings' prices)."""
    plat = rows.platform(s, code, name=f"SBX {code}", base_url=base_url,
                         company_name="沙箱跨境电商有限公司",
                         jurisdiction_bureau="杭州海关 Hangzhou Customs")
    seller_rows = [rows.seller(s, plat.id, f"s{i}", name=f"卖家 {i}", flush=False)
                   for i in range(sellers)]
    s.flush()
    sectors = [Sector.LIGHT_INDUSTRY, Sector.TEXTILES, Sector.ELECTRICAL]
    listing_rows = []
    for i in range(listings):
        cls = SupervisionClass.PROHIBITED if i < prohibited else (
            SupervisionClass.KEY if i % 2 else SupervisionClass.GENERAL)
        listing_rows.append(rows.listing(
            s, plat.id, f"L{i}", url=f"{base_url}/item/L{i}",
            title=f"商品 {i} <script>alert(1)</script>", price=Decimal("19.90") + i,
            currency="CNY", seller_id=seller_rows[i % sellers].id, sector=sectors[i % 3],
            supervision_class=cls, category="toys", flush=False))
    s.flush()
    camp = rows.campaign(s, f"2026H2 {code}", team="抽样一组", scope={"platforms": [code]},
                         period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 12, 31))
    plan = rows.plan(s, camp.id, listing_rows, status=status, seed=42, created_by="alice",
                     reviewed_by="bob", expected_prices=True,
                     strata=[f"{code}|{li.sector.value}" for li in listing_rows])
    return World(plat.id, [x.id for x in seller_rows], [li.id for li in listing_rows],
                 camp.id, plan.id)


def pick(truth: dict[str, Any], platform: str, n: int) -> list[dict[str, Any]]:
    """Active, non-prohibited listings of *platform* from the sandbox's truth."""
    return [li for li in truth["listings"]
            if li["platform"] == platform and li["status"] == "active"
            and li["supervision_class"] != "prohibited"][:n]


def sandbox_listing(s: Session, platform_id: int, li: dict[str, Any]) -> Listing:
    """The sandbox's truth listing *li* as a crawler would store it (its seller made on
    first sight)."""
    seller = s.query(Seller).filter_by(platform_id=platform_id,
                                       external_id=li["seller_id"]).one_or_none()
    if seller is None:
        seller = rows.seller(s, platform_id, li["seller_id"], name=li["seller_name"])
    return rows.listing(s, platform_id, li["external_id"], url=li["url"], title=li["title"],
                        price=Decimal(li["price"]), currency=li["currency"],
                        seller_id=seller.id, sector=Sector(li["sector"]),
                        supervision_class=SupervisionClass(li["supervision_class"]))


def sandbox_plan(s: Session, urls: dict[str, str], listings: list[dict[str, Any]],
                 platform: str = "mall") -> tuple[int, int, list[int]]:
    """(platform id, plan id, listing ids) for an approved plan buying *listings* of the
    sandbox platforms registered at *urls*."""
    from crawlers.platforms import register_sandbox_platforms

    plats = {p.code: p for p in register_sandbox_platforms(s, urls)}
    plat = plats[platform]
    plat.jurisdiction_bureau = plat.jurisdiction_bureau or "杭州海关"
    camp = rows.campaign(s, f"buy-{platform}", scope={"platforms": [platform]})
    made = [sandbox_listing(s, plat.id, li) for li in listings]
    plan = rows.plan(s, camp.id, made, stratum="x", created_by="amy", reviewed_by="bob")
    return plat.id, plan.id, [row.id for row in made]


def buyer_personas(s: Session, platform_id: int, settings: Settings, n: int = 3) -> None:
    """*n* buyer personas on the platform (p0, p1, …), through the scheduler's API, which
    encrypts their secrets: purchase tasks are assigned among them."""
    from scheduler.personas import create_persona

    for i in range(n):
        create_persona(s, platform_id, f"p{i}", f"acct{i}", "pw",
                       f"name{i} | 1380000000{i} | addr {i}", f"ref{i}", settings)
