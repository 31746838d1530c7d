"""The sampler's market template: two platforms, forty sellers and a few hundred listings of
every sector and supervision class, risk-scored, with the four users of a plan's review.

Big enough that a plan's draw, strata and estimates mean something; the SQLite copy is built
once per session (``tests/sampler/conftest.py``) and copied as a file into each test.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from store.db import Database
from store.models import Listing, ListingStatus, Sector, Seller, SupervisionClass
from store.settings import Settings
from tests.factory import rows


def market(db: Database, listings: int = 400, seed: int = 11, reverse: bool = False) -> int:
    """Two platforms, sellers, listings of every sector and class (a few prohibited and
    removed ones that must never be drawn), risk scores on most, and four users.  *reverse*
    stores the same listings in the opposite order (other row ids, as after another crawl).
    Returns the number of listings."""
    rng = np.random.default_rng(seed)
    with db.session() as s:
        platforms = [rows.platform(s, "mall", name="Mall 商城"),
                     rows.platform(s, "shop", name="Shop 小店")]
        sellers = [Seller(platform_id=platforms[i % 2].id, external_id=f"s{i}", name=f"卖家{i}")
                   for i in range(40)]
        s.add_all(sellers)
        s.flush()
        sectors = [Sector.LIGHT_INDUSTRY, Sector.TEXTILES, Sector.ELECTRICAL]
        made: list[Listing] = []
        for i in range(listings):  # one bulk insert: hundreds of flushes would cost seconds
            seller = sellers[int(rng.integers(0, len(sellers)))]
            cls = (SupervisionClass.PROHIBITED if i % 50 == 7 else
                   SupervisionClass.KEY if i % 3 == 0 else SupervisionClass.GENERAL)
            status = ListingStatus.REMOVED if i % 60 == 5 else ListingStatus.ACTIVE
            score = None if i % 10 == 3 else float(rng.beta(1.2, 4.0))
            made.append(Listing(
                platform_id=seller.platform_id, external_id=f"L{i}",
                url=f"http://example.test/item/{i}", title=f"商品 item {i}", seller_id=seller.id,
                sector=sectors[i % 3], supervision_class=cls, status=status,
                price_cny=Decimal(f"{rng.gamma(3, 40):.2f}"), price=Decimal("1"), currency="CNY",
                risk_score=score, risk_reasons=[{"code": "base", "points": 1, "params": {},
                                                 "en": "base weight", "zh": "基础权重"}]))
        s.add_all(made[::-1] if reverse else made)
        s.flush()
        rows.users(s)
    return listings


def approved_plan(db: Database, settings: Settings, name: str = "autumn", *, n: int = 40,
                  seed: int = 9) -> int:
    """The id of a plan over the market drawn, submitted and approved through the sampler's
    own API (alice samples, bob reviews): what estimates, exports and lab results start from."""
    from sampler.campaign_scope import create_campaign
    from sampler.plans import approve_plan, draw_plan, submit_plan

    with db.session() as s:
        cid = create_campaign(s, name, actor="alice", n=n).id
        pid = draw_plan(s, cid, seed=seed, actor="alice", settings=settings).id
        submit_plan(s, pid, "alice")
        approve_plan(s, pid, "bob", "supervisor", "ok")
    return pid
