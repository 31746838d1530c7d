"""Availability flows on: stored with the listing, a change of it is a listing change (a new
snapshot naming it), and listings stored before it was read keep their content hash."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crawlers.crawl_runs import CrawlRuns
from crawlers.items import ListingItem
from crawlers.pipelines import normal_availability
from crawlers.platforms import add_platform
from crawlers.store_writer import ListingWriter, listing_content
from store.db import Database
from store.models import Listing, ListingSnapshot
from store.settings import Settings


def _item(availability: str | None) -> ListingItem:
    return ListingItem(platform="p", external_id="/product?id=1", url="http://h.test/product?id=1",
                       title="Kettle", price=Decimal("10"), currency="CNY",
                       availability=availability)


def _crawl(db: Database, settings: Settings, availability: str | None) -> None:
    run_id, _ = CrawlRuns(db).open("p", full=True, job_key=None)
    writer = ListingWriter(db, "p", run_id, settings, batch_size=10)
    writer.add_listing(_item(availability))
    writer.flush()


def test_a_change_of_availability_is_a_new_snapshot(any_db: Database,
                                                    settings: Settings) -> None:
    with any_db.session() as s:
        add_platform(s, "p", start_url="http://h.test/", profile="structured-data")
    _crawl(any_db, settings, None)
    _crawl(any_db, settings, None)
    _crawl(any_db, settings, "in_stock")
    _crawl(any_db, settings, "in_stock")
    _crawl(any_db, settings, "out_of_stock")
    with any_db.session() as s:
        listing = s.scalar(select(Listing))
        assert listing is not None and listing.availability == "out_of_stock"
        snaps = s.scalars(select(ListingSnapshot).order_by(ListingSnapshot.version)).all()
        assert [sn.changes for sn in snaps] == [["created"], ["availability"], ["availability"]]
        assert snaps[-1].data["availability"] == "out_of_stock"


def test_unknown_availability_keeps_the_old_content_hash() -> None:
    # Listings crawled before availability was read hash as they did (no mass re-snapshot).
    assert "availability" not in listing_content(_item(None))
    assert listing_content(_item("pre_order"))["availability"] == "pre_order"


def test_availability_values() -> None:
    assert normal_availability("Out-Of-Stock") == "out_of_stock"
    assert normal_availability("in stock") == "in_stock"
    assert normal_availability("maybe") is None and normal_availability(None) is None
