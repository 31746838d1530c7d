"""A crawl killed with SIGKILL and started again completes: no listing lost or duplicated,
the same crawl run continues, and what was already stored is not fetched again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from crawlers.platforms import load_profile, upsert_platform
from crawlers.run import settings_env
from store.db import Database
from store.models import CrawlRun, Listing, ListingSnapshot
from store.settings import Settings
from tests.crawlers.conftest import crawl, crawled

pytestmark = pytest.mark.slow
#: 100 listings a platform (tests/crawlers/conftest.py): the shop's ~130 pages still take the
#: paced crawl past its first batches (written every 2 s) before it is killed, and the resumed
#: crawl has half as much to fetch as at the package's 200 (its ~170 pages took 14.5 s, loaded).
SANDBOX_LISTINGS = 300


def _pace(db: Database, platform: str, delay: float) -> None:
    """Set *platform*'s download delay: the killed crawl is paced so that the kill lands in
    the middle of it (unpaced, the writer's first batch can be committed so late that the
    crawl is finishing when the test sees it)."""
    with db.session() as s:
        prof = load_profile(s, platform)
        upsert_platform(s, prof.model_copy(update={"politeness": prof.politeness.model_copy(
            update={"delay": delay, "autothrottle": False})}))


def test_kill_and_resume(sandbox: Any, sandbox_db: Database, settings: Settings) -> None:
    _pace(sandbox_db, "shop", 0.03)  # at most ~33 pages/s: the ~130 pages take 4 s or more
    proc = subprocess.Popen([sys.executable, "-m", "crawlers", "crawl", "shop", "--quiet"],
                            env=settings_env(settings), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    stored = 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with sandbox_db.session() as s:
                stored = s.scalar(select(func.count()).select_from(Listing)) or 0
            if stored >= 40:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the crawl ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with sandbox_db.session() as s:
        killed = s.scalar(select(CrawlRun))
        assert killed is not None and killed.status == "running"
        before = s.scalar(select(func.count()).select_from(Listing)) or 0
    assert before > 0

    _pace(sandbox_db, "shop", 0.0)
    summary = crawl(settings, "shop")
    assert summary.resumed and summary.run_id == killed.id
    assert summary.status == "finished"

    truth = [r for r in sandbox.truth(platform="shop")["listings"] if r["status"] == "active"]
    got = crawled(sandbox_db, "shop")
    assert {r["external_id"] for r in truth} <= set(got)  # nothing lost
    with sandbox_db.session() as s:
        # Nothing duplicated: one row and one snapshot per listing, nothing marked removed.
        assert s.scalar(select(func.count()).select_from(Listing)) == len(got) == len(truth)
        assert s.scalar(select(func.count()).select_from(ListingSnapshot)) == len(got)
        assert s.scalar(select(func.count()).select_from(CrawlRun)) == 1
        run = s.get(CrawlRun, summary.run_id)
        assert run is not None
        skipped = run.stats["scrapy"].get("spotcheck/skipped_seen", 0)
    # The resumed crawl did not fetch again what the killed one had stored.
    assert skipped >= before - 5
    assert all(r["status"] == "active" for r in got.values())
