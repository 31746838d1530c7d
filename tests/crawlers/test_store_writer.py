"""The store writer on SQLite and PostgreSQL: idempotent upserts, snapshots only on change,
PRN fixed at first sight, CNY prices, removal marking and confirmation, run counters."""

from __future__ import annotations

import socket
from decimal import Decimal

from sqlalchemy import func, select, update

from crawlers.crawl_runs import CrawlRuns
from crawlers.items import ListingItem, SellerItem
from crawlers.platforms import add_platform
from crawlers.store_writer import ListingWriter
from store.db import Database
from store.models import (
    CrawlRun,
    Listing,
    ListingSnapshot,
    ListingStatus,
    SchedulerLease,
    Seller,
)
from store.prn import permanent_random_number
from store.settings import Settings


def _item(ext: str, price: str = "12.99", title: str = "Plush Doll", currency: str = "USD",
          seller: str = "s1") -> ListingItem:
    return ListingItem(platform="p", external_id=ext, url=f"http://h.test/item/{ext}",
                       title=title, brand="Tongle", model="TO-1", price=Decimal(price),
                       currency=currency, seller_external_id=seller, seller_name="Shop One",
                       sector="light_industry", supervision_class="key")


def _setup(db: Database) -> None:
    with db.session() as s:
        add_platform(s, "p", start_url="http://h.test/", profile="structured-data")


def _writer(db: Database, settings: Settings) -> ListingWriter:
    run_id, _ = CrawlRuns(db).open("p", full=True, job_key=None)
    return ListingWriter(db, "p", run_id, settings, batch_size=3)


def test_upsert_snapshots_prn_and_cny(any_db: Database, settings: Settings) -> None:
    _setup(any_db)
    w = _writer(any_db, settings)
    for i in range(5):
        w.add_listing(_item(str(i)))
    w.add_seller(SellerItem("p", "s1", "Shop One", filing_number="F1",
                            contacts={"phone": "+86 13800000000"}))
    w.flush()
    with any_db.session() as s:
        rows = s.scalars(select(Listing).order_by(Listing.external_id)).all()
        assert len(rows) == 5
        first = rows[0]
        assert first.price_cny == Decimal("93.53")  # 12.99 USD x 7.2
        assert first.prn == permanent_random_number("p", "0")
        assert 0 < first.prn < 1
        prn_before = {r.external_id: r.prn for r in rows}
        seller = s.scalar(select(Seller))
        assert seller is not None and seller.filing_number == "F1"
        assert all(r.seller_id == seller.id for r in rows)
    # Second crawl: one price change, the rest unchanged.
    w2 = _writer(any_db, settings)
    for i in range(5):
        w2.add_listing(_item(str(i), price="9.99" if i == 2 else "12.99"))
    w2.flush()
    with any_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Listing)) == 5
        snaps = s.execute(select(Listing.external_id, ListingSnapshot.version,
                                 ListingSnapshot.changes)
                          .join(ListingSnapshot)).all()
        assert len(snaps) == 6
        changed = [r for r in snaps if r[1] == 2]
        assert changed == [("2", 2, ["price"])]
        assert {r.external_id: r.prn for r in s.scalars(select(Listing))} == prn_before
        run = s.get(CrawlRun, w2.run_id)
        assert run is not None
        assert (run.items, run.new_listings, run.changed_listings) == (5, 0, 1)


def test_unseen_marked_then_confirmed(any_db: Database, settings: Settings) -> None:
    _setup(any_db)
    w = _writer(any_db, settings)
    for i in range(4):
        w.add_listing(_item(str(i)))
    w.flush()
    w2 = _writer(any_db, settings)
    w2.add_listing(_item("0"))
    w2.add_listing(_item("1"))
    unseen = w2.mark_unseen()
    assert sorted(e for e, _ in unseen) == ["2", "3"]
    assert w2.confirm_removed(["3"]) == 1
    with any_db.session() as s:
        status = dict(s.execute(select(Listing.external_id, Listing.status)).all())
        assert status == {"0": ListingStatus.ACTIVE, "1": ListingStatus.ACTIVE,
                          "2": ListingStatus.POSSIBLY_REMOVED, "3": ListingStatus.REMOVED}
        last = s.execute(select(ListingSnapshot.changes, ListingSnapshot.data)
                         .join(Listing).where(Listing.external_id == "3")
                         .order_by(ListingSnapshot.version.desc())).first()
        assert last is not None and last[0] == ["status"] and last[1]["status"] == "removed"
    # Seen again later: back to active, with a snapshot saying so.
    w3 = _writer(any_db, settings)
    w3.add_listing(_item("3"))
    w3.flush()
    with any_db.session() as s:
        row = s.scalar(select(Listing).where(Listing.external_id == "3"))
        assert row is not None and row.status == ListingStatus.ACTIVE and row.removed_at is None
        versions = s.scalars(select(ListingSnapshot.changes).where(
            ListingSnapshot.listing_id == row.id).order_by(ListingSnapshot.version)).all()
        assert versions == [["created"], ["status"], ["status"]]


def _killed(db: Database, run_id: int) -> None:
    """Leave *run_id* as a crawl killed with SIGKILL leaves it: still ``running``, its lease
    naming a process that is gone."""
    from crawlers import crawl_runs

    lease = crawl_runs._HELD.pop(run_id)
    lease.stop_heartbeat()
    with db.session() as s:
        s.execute(update(SchedulerLease).where(SchedulerLease.name == lease.name)
                  .values(holder=f"{socket.gethostname()}:999999999:gone"))


def test_run_resumed_by_job_key(any_db: Database) -> None:
    """A run left running by a dead crawl is taken over by the next one (never joined by a
    second live crawl: tests/crawlers/test_run_ownership.py)."""
    _setup(any_db)
    runs = CrawlRuns(any_db)
    first, resumed = runs.open("p", full=True, job_key="local:p")
    _killed(any_db, first)
    again, resumed2 = runs.open("p", full=True, job_key="local:p")
    assert (again, resumed, resumed2) == (first, False, True)
    runs.finish(first, "finished", {})
    fresh, resumed3 = runs.open("p", full=True, job_key="local:p")
    assert fresh != first and not resumed3


def test_background_writer_counts_and_raises(any_db: Database, settings: Settings) -> None:
    """Batches written by the writer thread: everything is in the store and counted once
    flush() returns; a batch that fails there is raised in the caller's thread."""
    _setup(any_db)
    run_id, _ = CrawlRuns(any_db).open("p", full=True, job_key=None)
    w = ListingWriter(any_db, "p", run_id, settings, batch_size=3, background=True)
    try:
        for i in range(10):  # three full batches queued without waiting, one left over
            w.add_listing(_item(str(i), seller=f"s{i % 4}"))
            w.counters.pages += 1
        w.counters.errors["http_404"] += 2
        w.flush()
        with any_db.session() as s:
            assert s.scalar(select(func.count()).select_from(Listing)) == 10
            assert s.scalar(select(func.count()).select_from(Seller)) == 4
            assert s.scalar(select(func.count()).select_from(ListingSnapshot)) == 10
            run = s.get(CrawlRun, run_id)
            assert run is not None
            assert (run.pages, run.items, run.new_listings) == (10, 10, 10)
            assert run.errors == {"http_404": 2}
        bad = _item("bad")
        bad.sector = "no-such-sector"  # the store refuses it (not a Sector)
        w.add_listing(bad)
        w.counters.pages += 1
        try:
            w.flush()
        except ValueError:
            pass
        else:
            raise AssertionError("the writer thread's failure was not raised")
        w.flush()  # the failed batch's page count comes back with the next one
        with any_db.session() as s:
            run = s.get(CrawlRun, run_id)
            assert run is not None and run.pages == 11
    finally:
        w.close()
