"""A campaign may leave listings that cannot be bought (out of stock, discontinued) out of
its frame; a listing whose page said nothing stays in."""

from __future__ import annotations

from sqlalchemy import select, update

from sampler.campaign_scope import create_campaign, get_campaign
from sampler.frame import build_frame
from store.db import Database
from store.models import Listing, ListingStatus, SupervisionClass


def test_out_of_stock_listings_are_left_out_when_the_design_asks(market: Database) -> None:
    with market.session() as s:
        ids = list(s.scalars(select(Listing.id).where(
            Listing.status == ListingStatus.ACTIVE,
            Listing.supervision_class != SupervisionClass.PROHIBITED).order_by(Listing.id)))
        gone, ended, instock = ids[:5], ids[5:7], ids[7:9]
        s.execute(update(Listing).where(Listing.id.in_(gone)).values(availability="out_of_stock"))
        s.execute(update(Listing).where(Listing.id.in_(ended)).values(availability="discontinued"))
        s.execute(update(Listing).where(Listing.id.in_(instock)).values(availability="in_stock"))
        create_campaign(s, "all", actor="alice", n=10)
        create_campaign(s, "buyable", actor="alice", n=10, exclude_out_of_stock=True)
    with market.session() as s:
        every = build_frame(s, get_campaign(s, "all"))
        cfg = get_campaign(s, "buyable").design
        assert cfg["exclude_out_of_stock"] is True
        buyable = build_frame(s, get_campaign(s, "buyable"), exclude_unbuyable=True)
    framed = {r["listing_id"] for r in buyable.rows}
    assert set(gone + ended) <= {r["listing_id"] for r in every.rows}
    assert not framed & set(gone + ended)
    assert set(instock) <= framed  # in stock, and listings that said nothing, stay
    assert len(framed) == len(every.rows) - 7
    assert buyable.excluded["out_of_stock"] == 7
