"""Sharing one crawl between several workers through Redis (scrapy-redis).

Every worker points Scrapy's scheduler queue and dupefilter at the same Redis keys, so a page
is fetched by one worker only.  Joining and leaving: a worker registers itself in a Redis
hash with a heartbeat and its number of requests in flight; when its own queue share is empty
it stays alive while any other live worker still has requests in flight (they may yet
discover pages), and for a grace period after it started (so a worker started a moment
before the first one has seeded the queue does not quit at once).  The crawl is over when the
queue is empty and no live worker has anything in flight.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

log = logging.getLogger(__name__)

#: Seconds a worker waits for work before it may conclude the crawl is over.
JOIN_GRACE = 8.0
#: A worker not heard from for this long is considered gone.
HEARTBEAT_TTL = 30.0


def redis_settings(redis_url: str, job: str) -> dict[str, Any]:
    prefix = f"spotcheck:crawl:{job}"
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": f"{prefix}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:dupefilter",
        "DUPEFILTER_KEY": f"{prefix}:dupefilter",
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
        "REDIS_URL": redis_url,
        "SPOTCHECK_REDIS_PREFIX": prefix,
        "EXTENSIONS": {"crawlers.distributed.WorkerHeartbeat": 0},
    }


class WorkerRegistry:
    """This worker's entry in the crawl's worker hash, and the crawl's shared flags."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(redis_url)
        self.prefix = prefix
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{time.time():.0f}"
        self.started = time.monotonic()

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}:workers"

    def beat(self, inflight: int) -> None:
        self.redis.hset(self.workers_key, self.worker, f"{time.time():.3f}:{inflight}")
        self.redis.expire(self.workers_key, 3600)

    def leave(self) -> None:
        self.redis.hdel(self.workers_key, self.worker)

    def others_busy(self) -> bool:
        now = time.time()
        for name, value in self.redis.hgetall(self.workers_key).items():
            if name.decode() == self.worker:
                continue
            stamp, _, inflight = value.decode().partition(":")
            if now - float(stamp) < HEARTBEAT_TTL and int(inflight or 0) > 0:
                return True
        return False

    def others_alive(self) -> bool:
        now = time.time()
        for name, value in self.redis.hgetall(self.workers_key).items():
            stamp = value.decode().partition(":")[0]
            if name.decode() != self.worker and now - float(stamp) < HEARTBEAT_TTL:
                return True
        return False

    def queue_len(self) -> int:
        return int(self.redis.zcard(f"{self.prefix}:requests"))

    def take_page(self, run_id: int) -> int:
        """One more page downloaded by crawl run *run_id*, by whichever worker; how many so
        far (a page bound is the shared crawl's, not each worker's: crawlers.bounds)."""
        key = f"{self.prefix}:pages:{run_id}"
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 86400)
        return int(pipe.execute()[0])

    def claim_seed(self) -> bool:
        """True for the one worker that seeds the start URLs of this crawl."""
        return bool(self.redis.set(f"{self.prefix}:seeded", self.worker, nx=True, ex=86400))

    def claim_finish(self) -> bool:
        """True for the one worker that runs the end-of-crawl removal check."""
        return bool(self.redis.set(f"{self.prefix}:finisher", self.worker, nx=True, ex=86400))

    def done(self) -> bool:
        return bool(self.redis.exists(f"{self.prefix}:done"))

    def mark_done(self) -> None:
        self.redis.set(f"{self.prefix}:done", self.worker, ex=86400)

    def reset(self) -> None:
        for key in self.redis.scan_iter(f"{self.prefix}:*"):
            self.redis.delete(key)


def leave_shared(registry: WorkerRegistry, reason: str) -> bool:
    """This worker leaves the shared crawl; whether it is the one to finish the crawl run
    (it is when it stopped for another reason than the end of the crawl, or was the last
    worker alive: the others' counts are in the run row already)."""
    registry.leave()
    if reason != "finished":
        return True
    if registry.others_alive():
        return False
    registry.mark_done()
    return True


class WorkerHeartbeat:
    """A Scrapy extension: the worker's heartbeat (with its requests in flight) every 20
    pages, which tells the other workers it is alive and busy (see :func:`keep_alive`)."""

    EVERY = 20

    def __init__(self, crawler: Any) -> None:
        from scrapy import signals

        self.crawler = crawler
        self.pages = 0
        crawler.signals.connect(self._response, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WorkerHeartbeat:
        return cls(crawler)

    def _response(self, response: Any = None, request: Any = None, spider: Any = None) -> None:
        registry: WorkerRegistry | None = getattr(self.crawler.spider, "registry", None)
        self.pages += 1
        if registry is not None and self.pages % self.EVERY == 0:
            engine = self.crawler.engine
            registry.beat(len(engine.downloader.active) if engine else 1)


def keep_alive(spider: Any) -> bool:
    """Whether an idle worker of a shared crawl should wait for more work (local: never)."""
    registry: WorkerRegistry | None = getattr(spider, "registry", None)
    if registry is None:
        return False
    registry.beat(0)
    if registry.queue_len() > 0:
        return True
    if registry.others_busy():
        time.sleep(0.2)
        return True
    return time.monotonic() - registry.started < JOIN_GRACE


def join_or_start(redis_url: str, platform: str, *, fresh: bool = False) -> tuple[int, bool]:
    """The generation of *platform*'s shared crawl to work on, and whether this worker seeds.

    A worker joins the current generation while it is not done; otherwise (or with *fresh*)
    it starts the next generation and seeds it.  A Redis lock makes the decision atomic, so
    two workers started together join one crawl.
    """
    import redis

    client = redis.Redis.from_url(redis_url)
    base = f"spotcheck:crawl:{platform}"
    with client.lock(f"{base}:lock", timeout=10, blocking_timeout=10):
        current = client.get(f"{base}:current")
        if current is not None and not fresh:
            gen = int(current)
            if not client.exists(f"{base}:{gen}:done"):
                return gen, False
        gen = int(client.incr(f"{base}:generation"))
        client.set(f"{base}:current", gen)
        return gen, True
