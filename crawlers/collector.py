"""Garbage-collector settings while a crawl runs (a Scrapy extension).

A crawl allocates a few dozen short-lived objects per page (requests, responses, selectors,
items, deferreds) on top of a large long-lived heap: Scrapy, Twisted, SQLAlchemy and lxml
modules, the settings, the seen-URL sets — about 190,000 objects.  CPython's cyclic collector
runs a full collection whenever the survivors grow by a quarter, and each one walks that
whole heap: measured at 0.14 s a time, a fifth of a static crawl's CPU.  ``gc.freeze()`` moves
the heap that exists when the crawl starts to a permanent generation the collector skips
(what CPython's documentation recommends before forking workers, for the same reason), and a
higher first-generation threshold collects the young objects in fewer, larger passes.

Collection still runs: cycles made during the crawl are found as before.  The previous
thresholds come back, and the frozen objects are unfrozen, when the last crawl in the process
closes, so an in-process crawl (the scheduler's) leaves the interpreter as it found it.
"""

from __future__ import annotations

import gc
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

#: First-generation threshold during a crawl (CPython's default is 700).
YOUNG_THRESHOLD = 5_000

_open_crawls = 0
_saved: tuple[int, int, int] | None = None


class CollectorTuning:
    """Freeze the start-up heap and collect young objects less often while crawling."""

    def __init__(self, crawler: Crawler) -> None:
        self.threshold = crawler.settings.getint("SPOTCHECK_GC_YOUNG_THRESHOLD",
                                                 YOUNG_THRESHOLD)
        crawler.signals.connect(self.opened, signals.spider_opened)
        crawler.signals.connect(self.closed, signals.spider_closed)
        self._open = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CollectorTuning:
        return cls(crawler)

    def opened(self, spider: Any = None) -> None:
        global _open_crawls, _saved
        if self.threshold <= 0 or self._open:
            return
        self._open = True
        if _open_crawls == 0:
            _saved = gc.get_threshold()
            gc.collect()
            gc.freeze()
            gc.set_threshold(self.threshold, _saved[1], _saved[2])
        _open_crawls += 1

    def closed(self, spider: Any = None) -> None:
        global _open_crawls, _saved
        if not self._open:
            return
        self._open = False
        _open_crawls -= 1
        if _open_crawls == 0 and _saved is not None:
            gc.unfreeze()
            gc.set_threshold(*_saved)
            _saved = None
