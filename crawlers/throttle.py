"""An AutoThrottle that lowers its delay on a shop's broken links too.

Scrapy's AutoThrottle never lowers the delay on a response other than 200: error pages are
small and fast, and following their latency down could speed a crawl into a struggling
server.  That is right for 5xx, but on a real shop many links are simply broken (404, 410):
a crawl whose pages are mostly 404 stayed at the start delay for ever, one page per 5 s.
A 4xx answer is the server working normally, so its latency counts like a 200's; 429 (and
403, which bot walls send) are the server asking for less, so they double the delay (the
429's Retry-After pause itself is :class:`crawlers.middlewares.RetryAfterMiddleware`'s).
"""

from __future__ import annotations

from typing import Any

from scrapy.extensions.throttle import AutoThrottle

#: Answers that ask the crawl to slow down.
SLOW_DOWN = frozenset({403, 429})


class AdaptiveThrottle(AutoThrottle):
    """Scrapy's AutoThrottle, with 4xx latencies counted and 429/403 backing off."""

    def _adjust_delay(self, slot: Any, latency: float, response: Any) -> None:
        status = response.status
        if status in SLOW_DOWN:
            slot.delay = min(max(slot.delay * 2, self.mindelay, 0.5), self.maxdelay)
            return
        if 400 <= status < 500:
            # Scrapy's policy, with the status read as 200's.
            target = latency / self.target_concurrency
            new_delay = max(target, (slot.delay + target) / 2.0)
            slot.delay = min(max(self.mindelay, new_delay), self.maxdelay)
            return
        super()._adjust_delay(slot, latency, response)
