"""A listing's GTIN flows from the page to an indexed column in the notices' normal form: the
generic extractor reads it, the pipeline normalises it (invalid codes are dropped from the
column, kept in ``raw``), the writer stores it, a changed barcode is a listing change, and
listings stored before the column existed are filled from their ``raw`` by the migration."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select, text

from crawlers.crawl_runs import CrawlRuns
from crawlers.extract.generic import read_page
from crawlers.extract.item import generic_fields
from crawlers.items import ListingItem
from crawlers.pipelines import normalise_listing
from crawlers.platforms import add_platform
from crawlers.store_writer import ListingWriter, listing_content
from store.db import Database, downgrade, upgrade
from store.models import Listing, ListingSnapshot
from store.settings import Settings


def _page(gtin: object) -> str:
    data = {"@type": "Product", "name": "Kettle 1.7 L", "sku": "K-17", "gtin13": gtin,
            "offers": {"price": "19.99", "priceCurrency": "EUR"}}
    return (f'<html><head><script type="application/ld+json">{json.dumps(data)}</script>'
            "</head><body><h1>Kettle 1.7 L</h1></body></html>")


def test_generic_page_gtin_reaches_the_item_normalised() -> None:
    fields = generic_fields(read_page(_page("4 006381 333931"), "http://s.test/p/1"))
    item = ListingItem(platform="p", external_id="1", url="http://s.test/p/1",
                       title=fields["title"], gtin=fields["gtin"])
    normalise_listing(item, "EUR")
    assert item.gtin == "04006381333931"


def test_invalid_gtin_is_no_column_value_but_stays_in_raw() -> None:
    fields = generic_fields(read_page(_page("4006381333932"), "http://s.test/p/1"))
    item = ListingItem(platform="p", external_id="1", url="http://s.test/p/1",
                       title=fields["title"], gtin=fields["gtin"], raw=fields["raw"])
    normalise_listing(item, "EUR")
    assert item.gtin is None
    assert item.raw["fields"]["gtin"] == "4006381333932"


def _item(gtin: str | None) -> ListingItem:
    return ListingItem(platform="p", external_id="/p?id=1", url="http://h.test/p?id=1",
                       title="Kettle", price=Decimal("10"), currency="CNY", gtin=gtin)


def _crawl(db: Database, settings: Settings, gtin: str | None) -> None:
    run_id, _ = CrawlRuns(db).open("p", full=True, job_key=None)
    writer = ListingWriter(db, "p", run_id, settings, batch_size=10)
    writer.add_listing(_item(gtin))
    writer.flush()


def test_writer_stores_the_gtin_and_a_change_is_a_snapshot(any_db: Database,
                                                           settings: Settings) -> None:
    with any_db.session() as s:
        add_platform(s, "p", start_url="http://h.test/", profile="structured-data")
    _crawl(any_db, settings, None)
    _crawl(any_db, settings, "04006381333931")
    _crawl(any_db, settings, "04006381333931")
    _crawl(any_db, settings, "00036000291452")
    with any_db.session() as s:
        listing = s.scalar(select(Listing))
        assert listing is not None and listing.gtin == "00036000291452"
        assert s.scalar(select(Listing.id).where(Listing.gtin == "00036000291452")) \
            == listing.id
        changes = [sn.changes for sn in s.scalars(
            select(ListingSnapshot).order_by(ListingSnapshot.version))]
        assert changes == [["created"], ["gtin"], ["gtin"]]


def test_no_gtin_keeps_the_old_content_hash() -> None:
    assert "gtin" not in listing_content(_item(None))


def test_migration_fills_gtin_from_raw(any_db: Database) -> None:
    engine = any_db.engine
    with any_db.session() as s:
        add_platform(s, "p", start_url="http://h.test/", profile="structured-data")
    downgrade(engine, "0009_listing_availability")
    raws = {"A": {"fields": {"gtin": "036000291452"}}, "B": {"fields": {"gtin": "123"}},
            "C": {"fields": {"gtin": 4006381333931}}, "D": {}}
    with engine.begin() as c:
        pid = c.execute(text("SELECT id FROM platform")).scalar()
        for ext, raw in raws.items():
            c.execute(text(
                "INSERT INTO listing (platform_id, external_id, url, title, sector,"
                " supervision_class, class_reasons, cert_marks, image_urls, raw, content_hash,"
                " status, first_seen, last_seen) VALUES (:p, :x, 'u', 't', 'other', 'general',"
                " '[]', '[]', '[]', :raw, '', 'active', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"), {"p": pid, "x": ext, "raw": json.dumps(raw)})
    upgrade(engine)
    with any_db.session() as s:
        got = dict(s.execute(select(Listing.external_id, Listing.gtin)).all())
    assert got == {"A": "00036000291452", "B": None, "C": "04006381333931", "D": None}
