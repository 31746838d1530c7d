"""Exact crawl bounds: ``--max-pages N`` downloads N pages, not N plus what was in flight
(Scrapy's CLOSESPIDER_PAGECOUNT fetched 16 to 29 for 15), counted where the shop counts them; a
time bound ends the crawl within a second or two of it.  Each crawl runs in a child process
(Scrapy's reactor) against a shop of 60 pages on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.platforms import add_platform
from crawlers.profile import parse_profile, shipped_profile
from store.db import Database
from store.models import CrawlRun, Listing, ListingStatus, Platform, utcnow
from store.settings import Settings
from tests.crawlers.conftest import crawl
from tests.crawlers.localshop import serve_pages


def _register(db: Database, code: str, start_url: str, limits: dict[str, Any] | None = None,
              **politeness: Any) -> None:
    data = shipped_profile("structured-data").model_dump()
    data["politeness"].update(autothrottle=False, **politeness)
    data["limits"].update(limits or {})
    with db.session() as s:
        add_platform(s, code, start_url=start_url, profile=parse_profile(data, "test"))


def _statuses(db: Database) -> set[ListingStatus]:
    with db.session() as s:
        return {r.status for r in s.scalars(select(Listing))}


@pytest.mark.parametrize("concurrency", [2, 4, 8, 16])
def test_a_page_bound_downloads_exactly_that_many_pages(
        concurrency: int, sqlite_db: Database, settings: Settings) -> None:
    # Pages that take a moment, so that the crawl has many requests in flight when the
    # bound is reached (Scrapy's page count let them all through).
    with serve_pages(delay=0.05) as (url, hits):
        _register(sqlite_db, "sixty", url, concurrency=concurrency)
        summary = crawl(settings, "sixty", bounds={"max_pages": 15})
        full = list(hits)
    assert len(full) == 15, (concurrency, full)
    assert summary.status == "bounded"
    assert summary.bounds is not None and summary.bounds["stopped_by"] == "max_pages"
    assert summary.pages == 15, summary
    # What the bound held back is no error of the shop's, and unseen listings stay active.
    assert not summary.errors, summary.errors
    assert _statuses(sqlite_db) == {ListingStatus.ACTIVE}


def test_a_profiles_page_bound_is_exact_too(sqlite_db: Database, settings: Settings) -> None:
    with serve_pages(delay=0.05) as (url, hits):
        _register(sqlite_db, "sixty-profile", url, {"max_pages": 7}, concurrency=8)
        summary = crawl(settings, "sixty-profile")
        full = list(hits)
    assert len(full) == 7, full
    assert summary.status == "bounded" and summary.pages == 7
    assert summary.bounds is not None and summary.bounds["max_pages"] == 7


def test_a_bound_above_the_shop_is_never_reached(sqlite_db: Database,
                                                 settings: Settings) -> None:
    # 60 pages and robots.txt: a bound of 500 lets the crawl finish by itself.
    with serve_pages(delay=0.0) as (url, hits):
        _register(sqlite_db, "whole", url, concurrency=8)
        summary = crawl(settings, "whole", bounds={"max_pages": 500})
        full = list(hits)
    assert summary.status == "finished", summary
    assert "/item/59" in full and summary.pages == len(full)


def test_a_time_bound_ends_the_crawl_within_a_second_or_two(
        sqlite_db: Database, settings: Settings) -> None:
    # A second a page, eight requests wanted at once but two to this host: the other six
    # wait in the host's queue, and draining it after the bound took 3 s more (two at a
    # time).  They are dropped; only the two being fetched finish, within a second.  The
    # bound counts from the run's start, as the run's time shows (the spider starts a second
    # or more after it, loaded).  Before both, a crawl of half-second pages bounded to 4 s
    # ran 6.9 s and fetched 22 pages.
    bound = 4.0
    with serve_pages(delay=1.0) as (url, hits):
        _register(sqlite_db, "slow", url, concurrency=8, domain_concurrency=2)
        summary = crawl(settings, "slow", bounds={"max_duration": bound})
        full = list(hits)
    assert summary.status == "bounded"
    assert summary.bounds is not None and summary.bounds["stopped_by"] == "max_duration"
    # Two pages at a time from the start, for the bound and the pages in flight at it.
    assert len(full) <= 2 * (bound + 1), full
    # The bound, the pages in flight at it (1 s), and closing the run.
    assert bound <= summary.seconds <= bound + 2.5, summary.seconds
    assert not summary.errors, summary.errors
    assert _statuses(sqlite_db) <= {ListingStatus.ACTIVE}


def test_a_time_bound_does_not_wait_out_a_retry(sqlite_db: Database,
                                                settings: Settings) -> None:
    # The shop's product pages answer 503 with Retry-After: 20 s: the backoff waits inside
    # the crawl, and the crawl closes only when every request it took is back, so the bound
    # of 3 s lasted the 20 s wait.  The bound ends the wait (and the retry is not sent).
    bound = 3.0
    with serve_pages(delay=0.0, struggling=True) as (url, hits):
        _register(sqlite_db, "struggling", url, concurrency=4)
        summary = crawl(settings, "struggling", bounds={"max_duration": bound})
        full = list(hits)
    assert summary.status == "bounded"
    assert any(path.startswith("/item/") for path in full), full
    assert summary.seconds <= bound + 2.0, summary.seconds
    # Not retried after the bound: each product page asked for once.
    items = [path for path in full if path.startswith("/item/")]
    assert len(items) == len(set(items)), items


def test_a_run_resumed_past_its_deadline_ends_bounded_at_once(
        sqlite_db: Database, settings: Settings) -> None:
    # A crawl bounded to 30 s was killed an hour ago: its run row stays running, as a kill
    # leaves it.  Started again, the crawl resumes that run, whose time is spent: the bound
    # is the run's clock (the row's start), and a kill does not lengthen it.  Counting from
    # the resumed process's own start, it crawled the whole shop (finished) instead.
    with serve_pages(delay=0.0) as (url, hits):
        _register(sqlite_db, "killed", url, concurrency=2)
        with sqlite_db.session() as s:
            pid = s.scalar(select(Platform.id).where(Platform.code == "killed"))
            s.add(CrawlRun(platform_id=pid, job_key="local:killed", full=True,
                           status="running", errors={}, stats={},
                           started_at=utcnow() - dt.timedelta(hours=1)))
        summary = crawl(settings, "killed", bounds={"max_duration": 30.0})
        full = list(hits)
    assert summary.resumed and summary.status == "bounded", summary
    assert summary.bounds is not None and summary.bounds["stopped_by"] == "max_duration"
    assert len(full) <= 2, full
    assert _statuses(sqlite_db) <= {ListingStatus.ACTIVE}


def test_a_shared_crawl_keeps_its_bounds_and_its_end_of_crawl_check() -> None:
    # A Redis-shared crawl's own table of extensions replaced the profile's: the end-of-crawl
    # check (which also keeps a shared crawl's idle workers alive) and, while the bounds were
    # an extension, the bounds were not loaded in a shared crawl at all.
    from scrapy.settings import Settings as ScrapySettings

    from crawlers.settings import apply_profile, project_settings

    data = shipped_profile("structured-data").model_dump()
    data["limits"].update(max_pages=5)
    target = ScrapySettings(project_settings())
    apply_profile(target, parse_profile(data, "test"),
                  Settings(redis_url="redis://127.0.0.1:6379/0"), "shop:1")
    extensions = target.getdict("EXTENSIONS")
    assert {"crawlers.removals.RemovalConfirmation",
            "crawlers.distributed.WorkerHeartbeat"} <= set(extensions)
    assert "crawlers.bounds.CrawlBounds" in target.getdict("DOWNLOADER_MIDDLEWARES")
    assert target.getint("SPOTCHECK_MAX_PAGES") == 5

