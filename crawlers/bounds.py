"""Bounded crawls: stop after N pages or a time, and say so on the crawl run.

A trial crawl of a big shop (``spotcheck crawl NAME --max-pages 500 --max-duration 30m
--products-only``, or the same keys in the profile's ``[limits]``) sees part of it.  The
:class:`CrawlBounds` downloader middleware keeps the crawl to its bounds exactly and closes
it when one is reached, with the bound as the close reason; the crawl run records its bounds and
what stopped it (``crawl_run.bounds``) and ends ``bounded`` rather than ``finished``; and a
bounded crawl never marks the listings it did not see as removed — it did not look for them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from weakref import WeakKeyDictionary

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro

from crawlers.profile import Limits, parse_duration
from store.errors import InvalidInput
from store.models import utcnow

log = logging.getLogger(__name__)

#: Close reasons of a crawl stopped by a bound (the crawl run's ``bounds.stopped_by``).
STOP_REASONS = frozenset({"max_pages", "max_duration"})


_STOPPING: WeakKeyDictionary[Crawler, asyncio.Event] = WeakKeyDictionary()


def stopping(crawler: Crawler) -> asyncio.Event:
    """Set once a bound has stopped *crawler*: what waits inside the crawl (a retry's
    backoff, a server's ``Retry-After``) stops waiting, since the crawl closes only when
    every request it took has come back, and a wait of 30 s would outlast the bound."""
    event = _STOPPING.get(crawler)
    if event is None:
        event = _STOPPING[crawler] = asyncio.Event()
    return event


def bounds_of(limits: Limits) -> dict[str, Any] | None:
    """What a crawl run records of its profile's bounds (None: unbounded)."""
    if not limits.bounded:
        return None
    return {"max_pages": limits.max_pages or None,
            "max_duration": limits.max_duration or None,
            "products_only": limits.products_only}


def with_bounds(limits: Limits, *, max_pages: int | None = None,
                max_duration: float | None = None,
                products_only: bool | None = None) -> Limits:
    """*limits* with the bounds given on the command line (None: keep the profile's)."""
    update: dict[str, Any] = {}
    if max_pages is not None:
        update["max_pages"] = max_pages
    if max_duration is not None:
        update["max_duration"] = max_duration
    if products_only:
        update["products_only"] = True
    return Limits.model_validate({**limits.model_dump(), **update}) if update else limits


def crawl_bounds(max_pages: int | None, max_duration: str | float | None,
                 products_only: bool) -> dict[str, Any] | None:
    """The bounds a command line gives (``--max-duration`` as ``90s``, ``30m``, ``2h`` or
    seconds), for :func:`crawlers.run.run_crawl_in_process`; None when it gives none."""
    if max_pages is not None and max_pages < 1:
        raise InvalidInput("bounds.max_pages_least")
    seconds = (parse_duration(max_duration) if isinstance(max_duration, str)
               else max_duration)
    if seconds is not None and seconds <= 0:
        raise InvalidInput("bounds.max_duration_longer_than")
    if max_pages is None and seconds is None and not products_only:
        return None
    return {"max_pages": max_pages, "max_duration": seconds,
            "products_only": products_only or None}


class BoundReached(IgnoreRequest):
    """A request the crawl's bound held back: not sent, and no error of the platform's."""


class CrawlBounds:
    """Keeps a crawl to ``SPOTCHECK_MAX_PAGES`` pages and ``SPOTCHECK_MAX_DURATION`` seconds,
    and closes it with the bound as its reason (``max_pages`` / ``max_duration``).

    A downloader middleware after every other that may answer or drop a request, because
    that is where a page is spent.  Scrapy's ``CLOSESPIDER_PAGECOUNT`` counts responses
    and closes the crawl at the Nth, and every request already in flight is downloaded
    after it (16 to 29 pages for 15, at 2 to 16 requests at a time).  Here a page is
    counted when it is handed to the downloader: the Nth is let through and starts the
    close (the engine then takes nothing more from its queue, and lets what it admitted
    finish), and any request after it is dropped as :class:`BoundReached` (counted in the
    ``bounds/dropped/<reason>`` stat), so N pages are downloaded, no more.  The time bound
    counts from the crawl run's start (``crawl_run.started_at``: what the run's time shows;
    the spider starts a second or more later), one clock for every worker of a crawl shared
    through Redis, however late it joins, and for a run resumed after a kill (a kill does
    not lengthen the bound; a run resumed past its deadline ends ``bounded`` at once).  At
    it the requests waiting in a host's queue are dropped too (a slow host's queue would
    otherwise be drained for seconds after it): only the pages being transferred finish.  A listing's photos are bounded per listing
    (:mod:`crawlers.photos`), not here.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.max_pages = settings.getint("SPOTCHECK_MAX_PAGES", 0)
        self.max_duration = settings.getfloat("SPOTCHECK_MAX_DURATION", 0.0)
        if not self.max_pages and not self.max_duration:
            raise NotConfigured
        self.pages = 0
        self.stopped_by: str | None = None
        self._timer: Any = None
        if self.max_duration:
            crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlBounds:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if request.meta.get("kind") == "photo":
            return
        if self.stopped_by is not None:
            self._drop(request)
        self.pages = self._count()
        if self.max_pages and self.pages > self.max_pages:
            # Another worker of a shared crawl took the last page of the bound.
            self._stop("max_pages")
            self._drop(request)
        if self.pages == self.max_pages:
            self._stop("max_pages")

    def _count(self) -> int:
        """The pages of the crawl so far, this one included: in a crawl shared through Redis,
        every worker's (crawlers.distributed), so that N is the crawl's bound, not each
        worker's."""
        spider = self.crawler.spider
        registry = getattr(spider, "registry", None)
        session = getattr(spider, "session", None)
        if self.max_pages and registry is not None and session is not None:
            return registry.take_page(session.run_id)
        return self.pages + 1

    def _drop(self, request: Request) -> None:
        reason = self.stopped_by or "max_pages"
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"bounds/dropped/{reason}")
        raise BoundReached(f"crawl bound reached ({reason}): {request.url}")

    def _opened(self, spider: Any = None) -> None:
        # From the crawl run's start (what its time shows), not the spider's a second or
        # more later, nor this worker's: one clock for every worker of the run.
        session = getattr(spider, "session", None)
        spent = (utcnow() - session.started_at()).total_seconds() if session else 0.0
        left = self.max_duration - spent
        if spent > 1.0:
            log.info("crawl run started %.1f s ago: %.1f s of its time bound left",
                        spent, max(0.0, left))
        self._timer = call_later(max(0.0, left), self._time_up)

    def _time_up(self) -> None:
        self._timer = None
        if self.stopped_by is not None:
            return
        self._stop("max_duration")
        drop_queued = getattr(self.crawler.engine and self.crawler.engine.downloader,
                              "drop_queued", None)
        if drop_queued is not None:
            dropped = drop_queued(lambda request: BoundReached(
                f"crawl bound reached (max_duration): {request.url}"))
            if dropped and self.crawler.stats is not None:
                self.crawler.stats.inc_value("bounds/dropped/max_duration", dropped)

    def _closed(self, spider: Any = None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _stop(self, reason: str) -> None:
        if self.stopped_by is not None:
            return
        self.stopped_by = reason
        stopping(self.crawler).set()
        log.warning("crawl stopped by its bound: %s", reason)
        engine = self.crawler.engine
        if engine is not None:
            _schedule_coro(engine.close_spider_async(reason=reason))
