"""The end of a crawl: is it healthy enough to judge what is gone, and which listings are.

A Scrapy extension (as Scrapy's own ``CloseSpider`` is) rather than spider methods: when the
queue drains (``spider_idle``), a *full*, unbounded crawl that saw enough of the platform
marks the listings it did not see as possibly removed and has the spider re-fetch each
(``confirm`` requests; 404/410 or a removed page confirms, a page still showing it brings it
back).  A crawl that could not reach the platform, or met errors on many pages, marks
nothing and ends ``incomplete``; a bounded crawl (``crawlers.bounds``) did not look
everywhere and marks nothing either.  :func:`end_status` says how the run row ends (the
storage pipeline, :mod:`crawlers.storage`, writes it).  A worker of a shared crawl stays while the shared
queue has work (``crawlers.distributed.keep_alive``), and only one worker confirms.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider

from crawlers.bounds import STOP_REASONS

log = logging.getLogger(__name__)

#: Share of pages that may fail (beyond a few) before a crawl is too broken to judge removals.
MAX_ERROR_SHARE = 0.1
MIN_ERRORS = 5


class RemovalConfirmation:
    """Health check and removal confirmation when a platform spider's queue drains."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.finishing = False
        #: Why the crawl is not healthy ("" until judged, or when it is).
        self.health = ""
        crawler.signals.connect(self._idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RemovalConfirmation:
        return cls(crawler)

    def _idle(self, spider: Any = None) -> None:
        """The queue is empty: start confirming removals (full crawls), then let it close."""
        from crawlers.distributed import keep_alive

        spider = self.crawler.spider
        session = getattr(spider, "session", None)
        if session is None:
            return
        if keep_alive(spider):
            raise DontCloseSpider
        if self.finishing or not session.full or not session.writing:
            return
        profile = spider.profile
        if profile.limits.bounded:
            # A bounded crawl did not look everywhere: what it did not see may be there.
            return
        registry = getattr(spider, "registry", None)
        if registry is not None and not registry.claim_finish():
            return  # another worker of the shared crawl confirms the removals
        self.finishing = True
        stats = self.crawler.stats
        if stats is not None and stats.get_value("finish_reason") is not None:
            return
        if not self.healthy(session):
            log.warning("%s: crawl incomplete (%s); not marking unseen listings as removed",
                        profile.code, self.health)
            session.incomplete = self.health
            return
        unseen = session.writer.mark_unseen()
        log.info("%s: %d listings not seen; confirming removals", profile.code, len(unseen))
        engine = self.crawler.engine
        assert engine is not None
        api = profile.extract.api if profile.extract.kind == "api" else None
        scheduled = 0
        for ext, url in unseen:
            target = rebase(url, profile.base_url)
            if api is not None and api.item_url:
                target = api.item_url.replace("{id}", ext)
            req = spider.request(target, "confirm", meta={"external_id": ext,
                                                          "api": api is not None},
                                 dont_filter=True)
            if req is not None:
                engine.crawl(req)
                scheduled += 1
        if scheduled:
            raise DontCloseSpider

    def healthy(self, session: Any) -> bool:
        """Whether this crawl saw enough of the platform to judge what is gone.

        A crawl that could not reach the platform, or met errors on many pages, must not
        turn every listing it missed into a "possibly removed" one.
        """
        session.writer.flush()
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        ok = int(stats.get("downloader/response_status_count/200", 0))
        errors = sum(v for k, v in session.errors_total().items()
                     if not k.startswith("rejected:"))
        if ok == 0 or not session.writer.seen_urls():
            self.health = "no pages or listings were fetched"
        elif errors > max(MIN_ERRORS, MAX_ERROR_SHARE * (ok + errors)):
            self.health = f"{errors} page errors against {ok} pages"
        else:
            return True
        return False


def end_status(reason: str, session: Any) -> str:
    """The crawl run's status for a crawl that closed for *reason*: ``finished``,
    ``bounded`` (a page or time bound stopped it; the bound is noted on the session),
    ``incomplete`` (it finished, but too broken to judge removals) or Scrapy's reason
    (``shutdown``, ``cancelled``, …)."""
    if reason in STOP_REASONS:
        session.stopped_by = reason
        return "bounded"
    if reason == "finished" and session.incomplete:
        return "incomplete"
    return reason


def rebase(url: str, base_url: str) -> str:
    """*url* on the platform's current base URL (it may have moved since)."""
    parts, base = urlsplit(url), urlsplit(base_url)
    if not base.netloc:
        return url
    return parts._replace(scheme=base.scheme, netloc=base.netloc).geturl()
