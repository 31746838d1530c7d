"""The SPA rendered in Chromium (scrapy-playwright, spa-browser profile) matches the truth."""

from __future__ import annotations

from typing import Any

import pytest

from crawlers.platforms import add_platform
from store.db import Database
from store.settings import Settings
from tests.crawlers.conftest import crawl, crawled, field_mismatches

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_spa_in_browser(small_sandbox: Any, sqlite_db: Database, settings: Settings,
                        chromium_path: str | None) -> None:
    sandbox = small_sandbox
    sandbox.set_day(0)
    sandbox.set_obstacles(False)  # a 503 inside the app's own fetch stalls the page (timeout)
    try:
        with sqlite_db.session() as s:
            add_platform(s, "spa", start_url=sandbox.urls["spa"], profile="spa-browser")
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
