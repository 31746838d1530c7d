"""A shop on 127.0.0.1 as real shops are: robots.txt and a gzipped sitemap index, query-string
and percent-encoded product URLs with tracking parameters, canonical links, broken links;
and bounded crawls of it.  Each crawl runs in a child process (Scrapy's reactor)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.platforms import add_platform
from crawlers.profile import parse_profile, shipped_profile
from store.db import Database
from store.models import CrawlRun, Listing, ListingStatus
from store.settings import Settings
from tests.conftest import serve_http
from tests.crawlers.conftest import crawl
from tests.crawlers.localshop import (
    BROKEN_LINKS,
    EXPECTED_IDS,
    SITEMAP_ONLY,
    ShopHandler,
    serve_shop,
)


@pytest.fixture()
def shop() -> Iterator[Any]:
    with serve_shop() as server:
        yield server


def _register(db: Database, code: str, start_url: str, **politeness: Any) -> None:
    data = shipped_profile("structured-data").model_dump()
    data["politeness"].update(politeness)
    with db.session() as s:
        add_platform(s, code, start_url=start_url, profile=parse_profile(data, "test"))


def _listings(db: Database) -> dict[str, Listing]:
    with db.session() as s:
        return {r.external_id: r for r in s.scalars(select(Listing))}


def test_sitemaps_product_urls_of_every_shape_and_a_page_bound(shop: Any, sqlite_db: Database,
                                                  settings: Settings) -> None:
    _register(sqlite_db, "local", shop.url)
    summary = crawl(settings, "local")
    assert summary.status == "finished", summary
    got = _listings(sqlite_db)
    # Every product once: query-string ids, percent-encoded and raw paths (one listing),
    # tracking parameters dropped, the same-site canonical link taken, another site's not.
    assert set(got) == EXPECTED_IDS
    assert not any(k.startswith("rejected:") for k in summary.errors), summary.errors
    assert got["/product?id=5"].url == shop.url + "product?id=5"
    # Discovery: robots.txt -> gzipped index -> gzipped and plain sitemaps; products found
    # only there were crawled.
    for path in ("/robots.txt", "/sitemap_index.xml.gz", "/sitemaps/products.xml.gz",
                 "/sitemaps/more.xml"):
        assert path in shop.hits
    assert set(got) >= SITEMAP_ONLY
    with sqlite_db.session() as s:
        run = s.get(CrawlRun, summary.run_id)
        assert run is not None and run.bounds is None

    # Bounded: stopped at its bound, recorded as such, and it marks nothing removed.
    bounded = crawl(settings, "local", bounds={"max_pages": 3})
    assert bounded.status == "bounded"
    assert bounded.bounds == {"max_pages": 3, "max_duration": None, "products_only": False,
                              "stopped_by": "max_pages"}
    assert bounded.pages == 3  # exactly the bound (tests/crawlers/test_bounds.py)
    # It saw few listings and did not look for the others: none is (possibly) removed.
    assert {r.status for r in _listings(sqlite_db).values()} == {ListingStatus.ACTIVE}


def test_a_shop_of_broken_links_is_not_crawled_at_the_start_delay(
        shop: Any, sqlite_db: Database, settings: Settings) -> None:
    # Scrapy's AutoThrottle never lowered the delay on a 404, so at its own start delay (5 s)
    # these 40 broken links took minutes.  Half that start delay shows the same: the delay
    # halves with each fast 404, so the crawl's throttled part is about twice the start
    # delay, which sets this test's length (5 s made it 17 s, loaded).
    start_delay = 2.5
    _register(sqlite_db, "broken", shop.url + "broken-home", autothrottle=True,
              start_delay=start_delay, concurrency=2)
    summary = crawl(settings, "broken")
    assert summary.errors.get("http_404") == BROKEN_LINKS
    assert "/product?id=5" in _listings(sqlite_db)
    # Scrapy's would wait at least half the start delay between any two of these pages
    # (BROKEN_LINKS x 1.25 s = 50 s); the delay now falls with each fast 404.
    assert summary.seconds < BROKEN_LINKS * start_delay / 2 / 3, summary.seconds


def test_a_time_bound_stops_a_slow_crawl(sqlite_db: Database, settings: Settings) -> None:
    # Two pages a second, one at a time: the whole shop is over 7 s; stopped at 0.75 s.
    with serve_shop(delay=0.5) as slow:
        _register(sqlite_db, "slow", slow.url, concurrency=1)
        timed = crawl(settings, "slow", bounds={"max_duration": 0.75, "products_only": True})
    assert timed.status == "bounded"
    assert timed.bounds is not None and timed.bounds["stopped_by"] == "max_duration"
    assert timed.bounds["products_only"] is True
    assert timed.pages <= 4, timed


def test_a_profile_obeying_robots_txt_leaves_closed_pages_alone(
        shop: Any, sqlite_db: Database, settings: Settings) -> None:
    # The shop's robots.txt closes /product.php to robots (the discovery crawl above, not
    # obeying it, indexes the lamp there); a profile asking for robots.txt never fetches it.
    _register(sqlite_db, "polite", shop.url, robots_txt=True, autothrottle=False)
    summary = crawl(settings, "polite")
    assert summary.status == "finished", summary
    got = _listings(sqlite_db)
    assert set(got) == EXPECTED_IDS - {"/product.php?id=6"}
    assert not [hit for hit in shop.hits if hit.startswith("/product.php")]


def test_bounds_from_the_command_line_and_from_the_profile(
        shop: Any, sqlite_db: Database, settings: Settings) -> None:
    # As a new user types it: the bounds on the command line, the summary as --json.
    _register(sqlite_db, "trial", shop.url, autothrottle=False)
    env = dict(os.environ, SPOTCHECK_HOME=str(settings.home))
    env.pop("SPOTCHECK_DB", None)
    env.pop("SPOTCHECK_REDIS_URL", None)
    ran = subprocess.run([sys.executable, "-m", "spotcheck", "crawl", "trial", "--max-pages", "4",
                          "--max-duration", "30s", "--products-only", "--json"],
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["status"] == "bounded"
    assert summary["bounds"] == {"max_pages": 4, "max_duration": 30.0, "products_only": True,
                                 "stopped_by": "max_pages"}
    # The same bound in the profile's [limits], with no bound given to the crawl.
    data = shipped_profile("structured-data").model_dump()
    data["limits"]["max_pages"] = 3
    data["politeness"]["autothrottle"] = False
    with sqlite_db.session() as s:
        add_platform(s, "bounded-profile", start_url=shop.url,
                     profile=parse_profile(data, "test"))
    run = crawl(settings, "bounded-profile")
    assert run.status == "bounded"
    assert run.bounds is not None and run.bounds["stopped_by"] == "max_pages"
    assert run.bounds["max_pages"] == 3
    assert {r.status for r in _listings(sqlite_db).values()} == {ListingStatus.ACTIVE}


class _Counting(ShopHandler):
    """The local shop taking 0.15 s over each page, counting the requests it is working on
    at once (before it answers: a finished answer is no longer in flight for the crawl)."""

    hits: list[str] = []
    lock = threading.Lock()
    now = 0
    most = 0

    def do_GET(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.now += 1
            cls.most = max(cls.most, cls.now)
        time.sleep(0.15)
        with cls.lock:
            cls.now -= 1
        super().do_GET()


def test_requests_to_one_host_keep_to_the_profiles_domain_concurrency(
        sqlite_db: Database, settings: Settings) -> None:
    # Eight requests at once overall, two to one host: the shop never sees more than two
    # (it saw 4 with Scrapy's downloader under the asyncio reactor: crawlers.downloader).
    with serve_http(_Counting) as url:
        _register(sqlite_db, "pernode", url, concurrency=8, domain_concurrency=2,
                  autothrottle=False)
        summary = crawl(settings, "pernode")
    assert summary.status == "finished", summary
    assert len(_listings(sqlite_db)) == len(EXPECTED_IDS)
    assert _Counting.most == 2, _Counting.most
