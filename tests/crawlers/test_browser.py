"""The SPA rendered in Chromium (scrapy-playwright, spa-browser profile) matches the truth."""

from __future__ import annotations

from typing import Any

import pytest

from crawlers.platforms import add_platform
from crawlers.profile import shipped_profile
from store import chromium as launcher
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


def test_pool_pages_block_without_routing(small_sandbox: Any,
                                          chromium_path: str | None) -> None:
    """What the pooled pages refuse, Chromium refuses itself: no image is even requested
    (Blink setting) and font/media URLs fail (setBlockedURLs), with no route installed —
    while scripts, the API and other fetches load."""
    import asyncio

    from playwright.async_api import async_playwright

    from crawlers import browser

    block = frozenset({"image", "font", "media"})
    base = small_sandbox.urls["spa"]
    small_sandbox.set_obstacles(False)

    async def run() -> tuple[list[str], dict[str, bool]]:
        browser._BLOCKED = block
        async with async_playwright() as p:
            chromium = await launcher.launch(p, Settings(), browser.launch_args(block))
            context = await chromium.new_context()
            page = await context.new_page()
            await browser.prepare_page(page)
            types: list[str] = []
            page.on("request", lambda r: types.append(r.resource_type))
            await page.goto(f"{base}/", wait_until="domcontentloaded")
            await page.wait_for_selector("#app[data-ready]")
            await page.wait_for_load_state("load")
            fetched = {}
            for path in ("/robots.txt", "/static/f.woff2", "/static/v.mp4?x=1"):
                fetched[path] = await page.evaluate(
                    "u => fetch(u).then(() => true, () => false)", base + path)
            await page.close()
            await context.close()
            await chromium.close()
            return types, fetched

    try:
        types, fetched = asyncio.run(run())
    finally:
        small_sandbox.set_obstacles(True)
        browser._BLOCKED = frozenset({"image", "font", "media"})
    assert "document" in types and "script" in types and "fetch" in types
    assert "image" not in types  # the list page shows 20 product images
    assert fetched == {"/robots.txt": True, "/static/f.woff2": False,
                       "/static/v.mp4?x=1": False}
