"""Two worker processes sharing one crawl through the real Redis (scrapy-redis): together they
cover the whole platform, and no page is fetched twice (counted by a proxy in front); a page
bound and a time bound are the shared crawl's."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import select

from crawlers.platforms import add_platform
from crawlers.profile import parse_profile, shipped_profile
from crawlers.run import settings_env, summary_from_dict
from store.db import Database
from store.models import CrawlRun, Listing, ListingStatus
from store.settings import Settings
from tests.conftest import REDIS_URL, SiteHandler, serve_http
from tests.crawlers.conftest import crawled
from tests.crawlers.localshop import serve_pages

pytestmark = [pytest.mark.redis, pytest.mark.slow]
#: 100 listings a platform (tests/crawlers/conftest.py): the mall's pages are still several
#: times the head start below, and the shared crawl has half as much to fetch as at 200.
SANDBOX_LISTINGS = 300

#: Pages the first worker may fetch before it waits for the second to join.  Without the wait
#: the outcome depends on how fast the second process starts: under CI load the first one once
#: crawled 245 of the mall's ~250 pages before the second had fetched its first.
HEAD_START = 20


class CountingProxy:
    """A reverse proxy to the sandbox mall that counts (path, status) of every request and which
    worker process sent it (by the client port's owner), and holds the first worker after
    :data:`HEAD_START` pages until the second one has fetched a page."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.counts: Counter[tuple[str, int]] = Counter()
        self.by_worker: Counter[int] = Counter()
        self.worker_pids: list[int] = []
        self.second_joined = threading.Event()
        self.lock = threading.Lock()
        #: The proxy's base URL, once it is served (tests.conftest.serve_http).
        self.url = ""

    def worker_of(self, client_port: int) -> int:
        """Index of the worker process holding the client end of this connection (-1: none)."""
        for index, pid in enumerate(self.worker_pids):
            try:
                conns = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.Error:
                continue
            if any(c.laddr and c.laddr.port == client_port for c in conns):
                return index
        return -1

    def handler(self) -> type[SiteHandler]:
        proxy = self
        local = threading.local()

        class Handler(SiteHandler):
            protocol_version = "HTTP/1.1"
            worker: int | None = None

            def do_GET(self) -> None:
                if self.worker is None:
                    self.worker = proxy.worker_of(self.client_address[1])
                if self.worker == 0 and proxy.by_worker[0] >= HEAD_START:
                    proxy.second_joined.wait(timeout=120)
                client = getattr(local, "client", None)
                if client is None:
                    client = local.client = httpx.Client(timeout=30)
                r = client.get(proxy.upstream + self.path)
                with proxy.lock:
                    proxy.counts[(self.path, r.status_code)] += 1
                    proxy.by_worker[self.worker] += 1
                if self.worker == 1:
                    proxy.second_joined.set()
                self.send(r.status_code, r.content, r.headers.get("content-type", "text/html"))

        return Handler


@pytest.fixture()
def counting_proxy(sandbox: Any) -> Iterator[CountingProxy]:
    proxy = CountingProxy(sandbox.urls["mall"])
    sandbox.set_obstacles(False)  # a retried 503 would be a legitimate second fetch
    try:
        with serve_http(proxy.handler()) as url:
            proxy.url = url
            try:
                yield proxy
            finally:
                proxy.second_joined.set()  # no handler thread waits for a worker any more
    finally:
        sandbox.set_obstacles(True)


@contextmanager
def shared_crawl(redis_client: Any, code: str, env: dict[str, str], tmp_path: Path,
                 *args: str,
                 under_way: Callable[[], bool], late: float = 0.0,
                 launched: list[float] | None = None, pids: list[int] | None = None,
                 ) -> Iterator[list[tuple[subprocess.Popen[str], Path]]]:
    """Two ``crawlers crawl CODE ARGS`` workers sharing one crawl through Redis, the second
    started once *under_way* says the first's crawl is (and *late* seconds more); yields them
    once both exited with 0, each with its summary file.  Kills what is left and forgets the
    crawl's Redis keys after."""
    workers: list[tuple[subprocess.Popen[str], Path]] = []
    try:
        for n in range(2):
            out = tmp_path / f"worker{n}.json"
            if launched is not None:
                launched.append(time.time())
            proc = subprocess.Popen(
                [sys.executable, "-m", "crawlers", "crawl", code, "--quiet", "--summary",
                 str(out), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True)
            if pids is not None:
                pids.append(proc.pid)
            workers.append((proc, out))
            if n == 0:  # the second worker joins a crawl already under way
                for _ in range(600):
                    if under_way() or proc.poll() is not None:
                        break
                    time.sleep(0.1)
                time.sleep(late)
        for proc, _ in workers:
            _, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err[-2000:]
        yield workers
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                proc.kill()
        for key in redis_client.scan_iter(f"spotcheck:crawl:*{code}*"):
            redis_client.delete(key)


def test_two_workers_share_one_crawl(counting_proxy: CountingProxy, sandbox: Any,
                                     sqlite_db: Database, settings: Settings,
                                     redis_client: Any, tmp_path: Path) -> None:
    proxy = counting_proxy
    code = f"mall-{uuid.uuid4().hex[:8]}"
    with sqlite_db.session() as s:
        add_platform(s, code, start_url=proxy.url, profile="mall")
    env = settings_env(settings)
    env["SPOTCHECK_REDIS_URL"] = REDIS_URL
    assert proxy.second_joined.wait(0) is False
    with shared_crawl(redis_client, code, env, tmp_path, pids=proxy.worker_pids,
                      under_way=lambda: proxy.by_worker[0] > 0) as workers:
        pass

    summaries = [summary_from_dict(json.loads(out.read_text())) for _, out in workers]
    # One crawl run shared by both workers, and both did part of the work, as each reports it
    # and as the proxy saw it.
    assert summaries[0].run_id == summaries[1].run_id
    assert proxy.by_worker[-1] == 0, "a request came from neither worker"
    assert [s.worker_pages for s in summaries] == [proxy.by_worker[0], proxy.by_worker[1]]
    assert all(s.worker_pages > 10 for s in summaries), [s.worker_pages for s in summaries]
    # No page fetched twice.
    fetched = Counter(path for (path, status) in proxy.counts.elements() if status == 200)
    assert fetched and max(fetched.values()) == 1, fetched.most_common(3)
    assert sum(s.worker_pages for s in summaries) == sum(fetched.values())
    # Together they covered the whole platform.
    truth = [r for r in sandbox.truth(platform="mall")["listings"] if r["status"] == "active"]
    got = crawled(sqlite_db, code)
    assert {r["external_id"] for r in truth} <= set(got)


def test_a_page_bound_is_the_shared_crawls_not_each_workers(
        sqlite_db: Database, settings: Settings, redis_client: Any, tmp_path: Path) -> None:
    # Two workers share one crawl through Redis; 15 pages is the crawl's bound, counted in
    # Redis by every worker (each counted its own before: up to 15 each).
    code = f"shared-{uuid.uuid4().hex[:8]}"
    env = settings_env(settings)
    env["SPOTCHECK_REDIS_URL"] = REDIS_URL
    # A page every 2 s, two at a time: the first worker alone needs about 14 s for the bound,
    # so the second, started at the first page, has joined before it is spent even when a
    # loaded machine takes seconds to start a Python process (a page a second flaked: 1 run in
    # 6 the second came too late to fetch anything).  The queue in Redis holds the home
    # page's 59 product links.
    with serve_pages(delay=2.0) as (url, hits):
        data = shipped_profile("structured-data").model_dump()
        data["politeness"].update(autothrottle=False, concurrency=2)
        with sqlite_db.session() as s:
            add_platform(s, code, start_url=url, profile=parse_profile(data, "test"))
        with shared_crawl(redis_client, code, env, tmp_path, "--max-pages", "15",
                          under_way=lambda: bool(hits)) as workers:
            pass
        full = list(hits)
    summaries = [summary_from_dict(json.loads(out.read_text())) for _, out in workers]
    assert summaries[0].run_id == summaries[1].run_id
    assert all(s.worker_pages > 0 for s in summaries), [s.worker_pages for s in summaries]
    assert len(full) == 15, full
    assert sum(s.worker_pages for s in summaries) == 15
    assert {s.status for s in summaries} == {"bounded"}


def test_a_time_bound_is_the_shared_crawls_clock_not_each_workers(
        sqlite_db: Database, settings: Settings, redis_client: Any, tmp_path: Path) -> None:
    # Two workers share one crawl bounded to 12 s; the second starts 3 s after the first has
    # fetched its first page (and takes seconds more to join, loaded).  Both stop at the
    # run's start + 12 s (the crawl run row's start), within the page in flight at it; the
    # second ran to its own start + 12 s before, past the tolerance below (15 s at least).
    bound, late = 12.0, 3.0
    code = f"timed-{uuid.uuid4().hex[:8]}"
    env = settings_env(settings)
    env["SPOTCHECK_REDIS_URL"] = REDIS_URL
    launched: list[float] = []
    # A page a second, one at a time a worker: the 59 product links in Redis outlast the
    # bound, so the second worker has pages to take when it joins.
    with serve_pages(delay=1.0) as (url, hits):
        data = shipped_profile("structured-data").model_dump()
        data["politeness"].update(autothrottle=False, concurrency=1)
        with sqlite_db.session() as s:
            add_platform(s, code, start_url=url, profile=parse_profile(data, "test"))
        with shared_crawl(redis_client, code, env, tmp_path, "--max-duration", f"{bound:g}s",
                          under_way=lambda: bool(hits), late=late,
                          launched=launched) as workers:
            pass
    summaries = [summary_from_dict(json.loads(out.read_text())) for _, out in workers]
    assert summaries[0].run_id == summaries[1].run_id
    assert all(s.worker_pages > 0 for s in summaries), [s.worker_pages for s in summaries]
    start = summaries[0].started_at
    assert start is not None
    # The second worker was started well after the run began: its own start + the bound
    # would be past the tolerance below.
    assert launched[1] - start.timestamp() >= late, (launched, start)
    ends = [s.finished_at for s in summaries]
    assert None not in ends
    spans = [(end - start).total_seconds() for end in ends if end is not None]
    # The bound, the page in flight at it (1 s), and closing the run; each worker's summary
    # carries the run row as that worker finished it.
    assert all(bound <= span <= bound + 2.5 for span in spans), spans
    assert abs(spans[0] - spans[1]) <= 2.0, spans
    with sqlite_db.session() as s:
        run = s.get(CrawlRun, summaries[0].run_id)
        assert run is not None and run.status == "bounded"
        assert run.bounds is not None and run.bounds["stopped_by"] == "max_duration"
        statuses = {r.status for r in s.scalars(select(Listing))}
    # A bounded crawl marks none of the listings it did not see as removed.
    assert statuses <= {ListingStatus.ACTIVE}, statuses
