"""A Rich progress display for a running crawl: pages, items, errors, rate.

A Scrapy extension (enabled by ``SPOTCHECK_PROGRESS``) that redraws twice a second from the
crawl session's counters and Scrapy's stats; it writes to stderr so ``--json`` output on
stdout stays clean.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class ProgressExtension:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("SPOTCHECK_PROGRESS"):
            raise NotConfigured
        self.crawler = crawler
        self.console = Console(stderr=True)
        self.live: Live | None = None
        self.loop: task.LoopingCall | None = None
        self.started = time.monotonic()
        crawler.signals.connect(self.opened, signals.spider_opened)
        crawler.signals.connect(self.closed, signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        return cls(crawler)

    def opened(self, spider: Any = None) -> None:
        self.started = time.monotonic()
        self.live = Live(self.render(), console=self.console, refresh_per_second=4,
                         transient=False)
        self.live.start()
        self.loop = task.LoopingCall(self.update)
        self.loop.start(0.5, now=False)

    def render(self) -> Table:
        spider = self.crawler.spider
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        pages = int(stats.get("response_received_count", 0))
        items = int(stats.get("item_scraped_count", 0))
        dropped = int(stats.get("item_dropped_count", 0))
        errors = sum(v for k, v in stats.items()
                     if k.startswith("spotcheck/error") and isinstance(v, int))
        session = getattr(spider, "session", None)
        if session is not None:
            errors = sum(v for k, v in session.counters.errors.items()
                         if not k.startswith("rejected:"))
        elapsed = max(0.001, time.monotonic() - self.started)
        code = getattr(getattr(spider, "profile", None), "code", "?")
        phase = "确认下架 confirming removals" if getattr(spider, "_finishing", False) \
            else "抓取 crawling"
        table = Table.grid(padding=(0, 2))
        table.add_row(f"[bold]{code}[/bold]", phase)
        table.add_row("页面 pages", f"{pages}", "条目 items", f"{items}",
                      "拒收 rejected", f"{dropped}", "错误 errors", f"{errors}",
                      "速率 rate", f"{pages / elapsed:.1f}/s")
        return table

    def update(self) -> None:
        if self.live is not None:
            self.live.update(self.render())

    def closed(self, spider: Any = None, reason: str = "") -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.live is not None:
            self.live.update(self.render())
            self.live.stop()
