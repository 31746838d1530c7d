"""A crawl run has one writer: the crawl holding its lease (store.leases, crawlers.store_writer).

A second crawl of the same job waits for the run and, while its holder lives, refuses with
Conflict instead of joining it; a run whose holder is dead is taken over (resumed); a crawl
that lost its run has every later batch refused, its counts with it.
"""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from crawlers.crawl_runs import CrawlRuns, run_lease_name
from crawlers.items import ListingItem
from crawlers.platforms import add_platform
from crawlers.store_writer import ListingWriter
from store.db import Database
from store.errors import Conflict
from store.models import CrawlRun, Listing, SchedulerLease
from store.settings import Settings


def _item(ext: str) -> ListingItem:
    return ListingItem(platform="p", external_id=ext, url=f"http://h.test/item/{ext}",
                       title="Plush Doll", brand="Tongle", model="TO-1", price=Decimal("9.5"),
                       currency="CNY", seller_external_id=None, seller_name=None,
                       sector="light_industry", supervision_class="key")


@pytest.fixture()
def quick(settings: Settings, sqlite_db: Database) -> Settings:
    with sqlite_db.session() as s:
        add_platform(s, "p", start_url="http://h.test/", profile="structured-data")
    return settings.model_copy(update={"crawl_lease_seconds": 0.4})


def test_a_live_crawl_run_is_not_joined(sqlite_db: Database, quick: Settings) -> None:
    run_id, resumed = CrawlRuns(sqlite_db, quick).open("p", full=True, job_key="local:p")
    assert not resumed
    started = time.monotonic()
    with pytest.raises(Conflict, match="crawl:local:p is held by"):
        CrawlRuns(sqlite_db, quick).open("p", full=True, job_key="local:p")
    assert time.monotonic() - started >= 0.6  # it waited for the holder to let go first
    CrawlRuns(sqlite_db, quick).finish(run_id, "finished", {})
    again, resumed = CrawlRuns(sqlite_db, quick).open("p", full=True, job_key="local:p")
    assert again != run_id and not resumed
    CrawlRuns(sqlite_db, quick).finish(again, "finished", {})


def test_a_dead_crawls_run_is_taken_over(sqlite_db: Database, quick: Settings) -> None:
    run_id, _ = CrawlRuns(sqlite_db, quick).open("p", full=True, job_key="local:p")
    with sqlite_db.session() as s:  # as if its crawl had been SIGKILLed on this host
        s.execute(update(SchedulerLease).where(SchedulerLease.name == run_lease_name("local:p"))
                  .values(holder=f"{socket.gethostname()}:999999999:gone"))
    from crawlers import crawl_runs

    crawl_runs._HELD.pop(run_id).stop_heartbeat()
    started = time.monotonic()
    taken, resumed = CrawlRuns(sqlite_db, quick).open("p", full=True, job_key="local:p")
    assert (taken, resumed) == (run_id, True)
    assert time.monotonic() - started < 5
    CrawlRuns(sqlite_db, quick).finish(taken, "finished", {})


def test_a_crawl_that_lost_its_run_writes_nothing_more(sqlite_db: Database,
                                                       quick: Settings) -> None:
    run_id, _ = CrawlRuns(sqlite_db, quick).open("p", full=True, job_key="local:p")
    writer = ListingWriter(sqlite_db, "p", run_id, quick, batch_size=100)
    writer.add_listing(_item("1"))
    writer.counters.pages += 1
    writer.flush()
    from crawlers import crawl_runs

    crawl_runs._HELD[run_id].stop_heartbeat()
    with sqlite_db.session() as s:  # another crawl took the run over
        s.execute(update(SchedulerLease).where(SchedulerLease.name == run_lease_name("local:p"))
                  .values(holder="elsewhere:1:other"))
    writer.add_listing(_item("2"))
    writer.counters.pages += 1
    with pytest.raises(Conflict, match="taken over"):
        writer.flush()
    with sqlite_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Listing)) == 1
        run = s.get(CrawlRun, run_id)
        assert run is not None and (run.pages, run.items, run.new_listings) == (1, 1, 1)
