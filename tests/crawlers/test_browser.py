"""The SPA rendered in Chromium (scrapy-playwright, spa-browser profile) matches the truth."""

from __future__ import annotations

from typing import Any

import pytest

from crawlers.platforms import add_platform
from crawlers.profile import shipped_profile
from store.db import Database
from store.models import CrawlRun
from store.settings import Settings
from tests.crawlers.conftest import crawl, crawled, field_mismatches

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_spa_in_browser(small_sandbox: Any, sqlite_db: Database, settings: Settings,
                        chromium_path: str | None) -> None:
    sandbox = small_sandbox
    sandbox.set_day(0)
    sandbox.set_obstacles(False)  # a 503 inside the app's own fetch stalls the page (timeout)
    try:
        # Few navigations per context, so the crawl recycles contexts several times.
        profile = shipped_profile("spa-browser")
        profile = profile.model_copy(update={"browser": profile.browser.model_copy(
            update={"pages_per_context": 20})})
        with sqlite_db.session() as s:
            add_platform(s, "spa", start_url=sandbox.urls["spa"], profile=profile)
        summary = crawl(settings, "spa")
    finally:
        sandbox.set_obstacles(True)
    assert summary.status == "finished", summary
    truth = [r for r in sandbox.truth(platform="spa")["listings"] if r["status"] == "active"]
    got = crawled(sqlite_db, "spa")
    assert len([r for r in truth if r["external_id"] in got]) >= 0.99 * len(truth)
    bad = field_mismatches(truth, got)
    assert all(len(v) <= 0.01 * len(truth) for v in bad.values()), {
        k: v[:2] for k, v in bad.items()}
    sellers = [g["seller"] for g in got.values() if g["seller"] is not None]
    assert sellers and all(s.contacts.get("phone") for s in sellers)
    # The page pool: pages reused across navigations, contexts recycled and closed.
    with sqlite_db.session() as s:
        run = s.get(CrawlRun, summary.run_id)
        assert run is not None
        stats = run.stats["scrapy"]
    contexts = stats["spotcheck/browser/contexts"]
    assert contexts >= summary.worker_pages // 20
    assert stats["spotcheck/browser/contexts_closed"] >= contexts - 2
    pool = profile.politeness.concurrency  # pages per context at most
    assert stats["spotcheck/browser/pages_opened"] <= pool * contexts + pool
    assert stats["spotcheck/browser/pages_reused"] >= summary.worker_pages // 2
