"""The crawl's storage, owned by one item pipeline (as Scrapy's item pipelines own theirs).

:class:`StorePipeline` is the only part of a crawl that writes the store while it runs:

* ``open_spider``: opens the batched :class:`~crawlers.store_writer.ListingWriter` on the
  crawl's run (the run itself, and its lease, were opened with the
  :class:`~crawlers.session.CrawlSession` before the crawl started, so a second crawl of the
  same job waits or is refused before it fetches anything);
* ``process_item``: listings and sellers go into the writer's batches; a removal check
  (:class:`~crawlers.items.RemovalCheck`) is noted for the run;
* the run's counts: pages (``response_received``), callback and pipeline errors
  (``spider_error``, ``item_error``) are counted into the session's counters, which travel
  with the next batch, so a batch and its counts commit in **one** transaction;
* ``close_spider``: writes the last batch and the confirmed removals (each with its counts);
* ``spider_closed`` (the one place Scrapy gives the close reason): the run row's end status
  (:func:`crawlers.removals.end_status`) and the release of the run's lease.

The spider only yields items and requests; the end-of-crawl judgement (health, removals) is
the :class:`crawlers.removals.RemovalConfirmation` extension's.
"""

from __future__ import annotations

from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawlers.items import ListingItem, RemovalCheck, SellerItem
from crawlers.session import CrawlSession
from crawlers.store_writer import ListingWriter


class StorePipeline:
    """Owns the crawl's writer from ``open_spider`` to ``close_spider`` and the run's counts."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.writer: ListingWriter | None = None
        #: Why the last writes failed (the run is then left as it is: a crawl that lost its
        #: run to another, or could not write, does not finish it).
        self.close_failure: BaseException | None = None
        crawler.signals.connect(self._response, signal=signals.response_received)
        crawler.signals.connect(self._item_error, signal=signals.item_error)
        crawler.signals.connect(self._spider_error, signal=signals.spider_error)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    @property
    def session(self) -> CrawlSession:
        session: CrawlSession = self.crawler.spider.session  # type: ignore[union-attr]
        return session

    @property
    def active(self) -> bool:
        """Whether the crawl is a platform crawl (a spider with a crawl session; the
        project's settings may serve other spiders, e.g. a benchmark's plain one)."""
        return getattr(self.crawler.spider, "session", None) is not None

    # -- the writer's life --------------------------------------------------------------------

    def open_spider(self) -> None:
        if not self.active:
            return
        session = self.session
        self.writer = ListingWriter(session.db, session.profile.code, session.run_id,
                                    session.settings, session.batch_size, background=True,
                                    counters=session.counters)
        session.use_writer(self.writer)

    def process_item(self, item: Any) -> Any:
        writer = self.writer
        assert writer is not None, "StorePipeline.open_spider was not called"
        if isinstance(item, ListingItem):
            writer.add_listing(item)
        elif isinstance(item, SellerItem):
            writer.add_seller(item)
        elif isinstance(item, RemovalCheck):
            self.session.removal_checked(item)
        return item

    def close_spider(self) -> None:
        """Write what is left: the last batch, then the confirmed removals (each commits
        with its counts); the writer is closed and the session has none from here on."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        session = self.session
        try:
            writer.close()
            session.flush_removed()
        except BaseException as exc:
            self.close_failure = exc
            raise
        finally:
            session.use_writer(None)

    # -- the run's counts ---------------------------------------------------------------------

    def _response(self, response: Response, request: Request, spider: Any = None) -> None:
        if self.writer is None or request.meta.get("kind") == "photo":
            return  # a listing's photos are not pages of the platform (crawlers.photos)
        self.session.page()

    def _item_error(self, item: Any, response: Response, spider: Any = None,
                    failure: Failure | None = None) -> None:
        if self.active:
            self.session.error(f"pipeline:{type(failure.value).__name__ if failure else 'error'}")

    def _spider_error(self, failure: Failure, response: Response, spider: Any = None) -> None:
        if self.active:
            self.session.error(f"parse:{type(failure.value).__name__}")

    # -- the end of the run -------------------------------------------------------------------

    def _spider_closed(self, spider: Any = None, reason: str = "finished") -> None:
        from crawlers.distributed import leave_shared
        from crawlers.removals import end_status

        if not self.active:
            return
        session = self.session
        stats_collector = self.crawler.stats
        assert stats_collector is not None
        stats = {k: v for k, v in stats_collector.get_stats().items()
                 if isinstance(v, int | float | str) and not k.startswith("log_count/DEBUG")}
        worker_pages = int(stats.get("response_received_count", 0))
        status = end_status(reason, session)
        registry = getattr(self.crawler.spider, "registry", None)
        if self.close_failure is not None:
            result = session.summary()  # not ours to finish (see close_failure)
        elif registry is not None and not leave_shared(registry, reason):
            # Other workers of the shared crawl are still at it: our counts are written
            # (close_spider), the run stays open for them.
            result = session.summary()
        else:
            result = session.finish(status, {"scrapy": stats, "reason": reason,
                                             "removal_errors": session.removal_errors})
        result.worker_pages = worker_pages
        session.result = result
