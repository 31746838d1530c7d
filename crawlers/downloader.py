"""Scrapy's downloader with its per-host concurrency kept under the asyncio reactor.

Why: Scrapy 2.19's ``Downloader._process_queue`` starts each queued request as an asyncio
task and counts it as transferring only when the task first runs, so one pass of its loop
(``while slot.queue and slot.free_transfer_slots() > 0``) took every request queued for a
host at once: a profile's ``domain_concurrency = 2`` let a local shop see 4 requests at a
time (tests/crawlers/test_discovery.py).  Here a request counts as transferring the moment it
leaves its host's queue; Scrapy's ``_download`` adds it again (a set) and removes it when
the answer arrives, as before.

A time bound (:mod:`crawlers.bounds`) also needs what Scrapy's downloader cannot do: drop
the requests waiting in the hosts' queues, which would otherwise be sent, one delay or one
free transfer slot at a time, after the crawl was told to stop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from scrapy import Request, Spider
from scrapy.core.downloader import Downloader, Slot
from twisted.python.failure import Failure


class _TransferringQueue(deque[tuple[Request, Any]]):
    """A slot's queue that marks what it hands out as transferring."""

    def __init__(self, slot: Slot) -> None:
        super().__init__(slot.queue)
        self.slot = slot

    def popleft(self) -> tuple[Request, Any]:
        item = super().popleft()
        self.slot.transferring.add(item[0])
        return item


class HostLimitedDownloader(Downloader):
    """Scrapy's downloader whose slots count a request as transferring once dequeued."""

    def _get_slot(self, request: Request, spider: Spider | None = None) -> tuple[str, Slot]:
        key, slot = super()._get_slot(request)
        if not isinstance(slot.queue, _TransferringQueue):
            slot.queue = _TransferringQueue(slot)
        return key, slot

    def drop_queued(self, error: Callable[[Request], Exception]) -> int:
        """Fail every request still waiting in a host's queue (never sent) with *error* of
        it; returns how many.  Those being transferred are left to finish."""
        dropped = 0
        for slot in self.slots.values():
            waiting = list(slot.queue)
            slot.queue.clear()
            for request, deferred in waiting:
                deferred.errback(Failure(error(request)))
                dropped += 1
        return dropped
