"""Exact crawl bounds: ``--max-pages N`` downloads N pages, not N plus what was in flight
(Scrapy's CLOSESPIDER_PAGECOUNT fetched 22 for 15), counted where the shop counts them; a
time bound ends the crawl within a second or two of it.  Each crawl runs in a child process
(Scrapy's reactor) against a shop of 60 pages on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.platforms import add_platform
from crawlers.profile import parse_profile, shipped_profile
from crawlers.run import settings_env, summary_from_dict
from store.db import Database
from store.models import Listing, ListingStatus
from store.settings import Settings
from tests.conftest import REDIS_URL, SiteHandler, serve_http
from tests.crawlers.conftest import crawl

#: The shop's pages: its home page and 59 product pages linked from it.
PRODUCTS = 59


class _SixtyPages(SiteHandler):
    """A shop of 60 pages (the home page listing 59 JSON-LD product pages; anything else,
    robots.txt included, a 404), each answered after ``delay`` seconds; ``hits`` counts
    every request the server answered, whatever it was for."""

    delay = 0.0
    #: Whether the product pages answer 503 with ``Retry-After: 20`` (a shop struggling).
    struggling = False
    hits: list[str] = []
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.hits.append(self.path)
        time.sleep(self.delay)
        if self.path == "/":
            links = "".join(f"<li><a href='/item/{n}'>Item {n}</a></li>"
                            for n in range(1, PRODUCTS + 1))
            self._send(200, f"<h1>Shop</h1><ul>{links}</ul>")
        elif self.path.startswith("/item/") and self.struggling:
            self.send(503, b"busy", "text/plain", headers={"Retry-After": "20"})
        elif self.path.startswith("/item/"):
            n = self.path.rsplit("/", 1)[1]
            data = {"@context": "https://schema.org", "@type": "Product",
                    "name": f"Kettle model {n}", "sku": f"K-{n}",
                    "brand": {"@type": "Brand", "name": "Acme"},
                    "offers": {"@type": "Offer", "price": "19.90", "priceCurrency": "CNY"}}
            self._send(200, f"<h1>Kettle model {n}</h1>",
                       f'<script type="application/ld+json">{json.dumps(data)}</script>')
        else:
            self._send(404, "<h1>not found</h1>")

    def _send(self, status: int, body: str, head: str = "") -> None:
        page = (f"<!doctype html><html><head><meta charset='utf-8'>{head}</head>"
                f"<body>{body}</body></html>").encode()
        self.send(status, page, "text/html; charset=utf-8")


@contextmanager
def _shop(delay: float, struggling: bool = False) -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_SixtyPages,), {"delay": delay, "hits": hits,
                                               "struggling": struggling,
                                               "lock": threading.Lock()})
    with serve_http(handler) as url:
        yield url, hits


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
    with _shop(delay=0.05) as (url, hits):
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
    with _shop(delay=0.05) as (url, hits):
        _register(sqlite_db, "sixty-profile", url, {"max_pages": 7}, concurrency=8)
        summary = crawl(settings, "sixty-profile")
        full = list(hits)
    assert len(full) == 7, full
    assert summary.status == "bounded" and summary.pages == 7
    assert summary.bounds is not None and summary.bounds["max_pages"] == 7


def test_a_bound_above_the_shop_is_never_reached(sqlite_db: Database,
                                                 settings: Settings) -> None:
    # 60 pages and robots.txt: a bound of 500 lets the crawl finish by itself.
    with _shop(delay=0.0) as (url, hits):
        _register(sqlite_db, "whole", url, concurrency=8)
        summary = crawl(settings, "whole", bounds={"max_pages": 500})
        full = list(hits)
    assert summary.status == "finished", summary
    assert "/item/59" in full and summary.pages == len(full)


def test_a_time_bound_ends_the_crawl_within_a_second_or_two(
        sqlite_db: Database, settings: Settings) -> None:
    # Half a second a page, eight requests wanted at once but two to this host: the other
    # six wait in the host's queue, and draining it after the bound took 1.5 s more (each
    # page 0.5 s, two at a time).  They are dropped; only the two being fetched finish.
    # The bound counts from the run's start, as the run's time shows (the spider starts a
    # second or more after it, loaded).  Before both, this crawl ran 6.9 s and fetched 22
    # pages for its 4 s.
    bound = 4.0
    with _shop(delay=0.5) as (url, hits):
        _register(sqlite_db, "slow", url, concurrency=8, domain_concurrency=2)
        summary = crawl(settings, "slow", bounds={"max_duration": bound})
        full = list(hits)
    assert summary.status == "bounded"
    assert summary.bounds is not None and summary.bounds["stopped_by"] == "max_duration"
    assert 2 <= len(full) <= 2 * (bound / 0.5 + 1), full
    # The bound, the pages in flight at it (0.5 s), and closing the run.
    assert bound <= summary.seconds <= bound + 1.5, summary.seconds
    assert not summary.errors, summary.errors
    assert _statuses(sqlite_db) <= {ListingStatus.ACTIVE}


def test_a_time_bound_does_not_wait_out_a_retry(sqlite_db: Database,
                                                settings: Settings) -> None:
    # The shop's product pages answer 503 with Retry-After: 20 s: the backoff waits inside
    # the crawl, and the crawl closes only when every request it took is back, so the bound
    # of 3 s lasted the 20 s wait.  The bound ends the wait (and the retry is not sent).
    bound = 3.0
    with _shop(delay=0.0, struggling=True) as (url, hits):
        _register(sqlite_db, "struggling", url, concurrency=4)
        summary = crawl(settings, "struggling", bounds={"max_duration": bound})
        full = list(hits)
    assert summary.status == "bounded"
    assert any(path.startswith("/item/") for path in full), full
    assert summary.seconds <= bound + 1.5, summary.seconds
    # Not retried after the bound: each product page asked for once.
    items = [path for path in full if path.startswith("/item/")]
    assert len(items) == len(set(items)), items


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


@pytest.mark.redis
def test_a_page_bound_is_the_shared_crawls_not_each_workers(
        sqlite_db: Database, settings: Settings, redis_client: Any, tmp_path: Path) -> None:
    # Two workers share one crawl through Redis; 15 pages is the crawl's bound, counted in
    # Redis by every worker (each counted its own before: up to 15 each).
    code = f"shared-{uuid.uuid4().hex[:8]}"
    env = settings_env(settings)
    env["SPOTCHECK_REDIS_URL"] = REDIS_URL
    workers: list[tuple[subprocess.Popen[str], Path]] = []
    # A page a second, two at a time: the second worker starts while the first has pages
    # of the bound left, and the queue in Redis holds the home page's 59 product links.
    with _shop(delay=1.0) as (url, hits):
        _register(sqlite_db, code, url, concurrency=2)
        try:
            for n in range(2):
                out = tmp_path / f"worker{n}.json"
                workers.append((subprocess.Popen(
                    [sys.executable, "-m", "crawlers", "crawl", code, "--quiet", "--summary",
                     str(out), "--max-pages", "15"], env=env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True), out))
                for _ in range(600):  # the second joins a crawl under way
                    if hits or workers[0][0].poll() is not None:
                        break
                    time.sleep(0.1)
            for proc, _ in workers:
                _, err = proc.communicate(timeout=240)
                assert proc.returncode == 0, err[-2000:]
        finally:
            for proc, _ in workers:
                if proc.poll() is None:
                    proc.kill()
            for key in redis_client.scan_iter(f"spotcheck:crawl:*{code}*"):
                redis_client.delete(key)
        full = list(hits)
    summaries = [summary_from_dict(json.loads(out.read_text())) for _, out in workers]
    assert summaries[0].run_id == summaries[1].run_id
    assert all(s.worker_pages > 0 for s in summaries), [s.worker_pages for s in summaries]
    assert len(full) == 15, full
    assert sum(s.worker_pages for s in summaries) == 15
    assert {s.status for s in summaries} == {"bounded"}
