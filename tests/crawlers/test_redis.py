"""Two worker processes sharing one crawl through the real Redis (scrapy-redis): together they
cover the whole platform, and no page is fetched twice (counted by a proxy in front)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawlers.platforms import add_platform
from crawlers.run import settings_env, summary_from_dict
from store.db import Database
from store.settings import Settings
from tests.conftest import REDIS_URL
from tests.crawlers.conftest import crawled

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture()
def counting_proxy(sandbox: Any) -> Iterator[tuple[str, Counter[tuple[str, int]]]]:
    """A reverse proxy to the sandbox mall counting (path, status) of every request."""
    counts: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()
    upstream = sandbox.urls["mall"]
    local = threading.local()

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(timeout=30)
            r = client.get(upstream + self.path)
            # A remote platform answers in tens of milliseconds, not one: without this the
            # first worker crawls the whole small mall before the second has started.
            time.sleep(0.1)
            with lock:
                counts[(self.path, r.status_code)] += 1
            body = r.content
            self.send_response(r.status_code)
            self.send_header("Content-Type", r.headers.get("content-type", "text/html"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sandbox.set_obstacles(False)  # a retried 503 would be a legitimate second fetch
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", counts
    finally:
        sandbox.set_obstacles(True)
        server.shutdown()
        server.server_close()


def test_two_workers_share_one_crawl(counting_proxy: tuple[str, Counter[tuple[str, int]]],
                                     sandbox: Any, sqlite_db: Database, settings: Settings,
                                     redis_client: Any, tmp_path: Path) -> None:
    proxy_url, counts = counting_proxy
    code = f"mall-{uuid.uuid4().hex[:8]}"
    with sqlite_db.session() as s:
        add_platform(s, code, start_url=proxy_url, profile="mall")
    env = settings_env(settings)
    env["SPOTCHECK_REDIS_URL"] = REDIS_URL
    workers = []
    try:
        for n in range(2):
            out = tmp_path / f"worker{n}.json"
            workers.append((subprocess.Popen(
                [sys.executable, "-m", "crawlers", "crawl", code, "--quiet", "--summary",
                 str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True), out))
            time.sleep(1.5)  # the second worker joins a crawl already under way
        for proc, _ in workers:
            _, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err[-2000:]
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                proc.kill()
        for key in redis_client.scan_iter(f"spotcheck:crawl:{code}*"):
            redis_client.delete(key)
    import json

    summaries = [summary_from_dict(json.loads(out.read_text())) for _, out in workers]
    # One crawl run shared by both workers, and both did part of the work.
    assert summaries[0].run_id == summaries[1].run_id
    assert all(s.worker_pages > 10 for s in summaries), [s.worker_pages for s in summaries]
    # No page fetched twice.
    fetched = Counter(path for (path, status) in counts.elements() if status == 200)
    assert fetched and max(fetched.values()) == 1, fetched.most_common(3)
    assert sum(s.worker_pages for s in summaries) == sum(fetched.values())
    # Together they covered the whole platform.
    truth = [r for r in sandbox.truth(platform="mall")["listings"] if r["status"] == "active"]
    got = crawled(sqlite_db, code)
    assert {r["external_id"] for r in truth} <= set(got)
