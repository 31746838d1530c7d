"""Work moved off the crawl's core: extraction workers answer exactly what the crawl would
have computed, a lost worker costs nothing but speed, and a crawl that uses them still matches
the sandbox's truth."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from scrapy.http import HtmlResponse
from sqlalchemy import select

from crawlers.extract.page import Page, answer_all
from crawlers.extract.workers import ExtractionWorkers
from crawlers.items import ListingItem
from crawlers.profile import shipped_profile
from crawlers.spiders.platform import extraction_plans
from store.db import Database
from store.models import CrawlRun
from store.settings import Settings
from tests.crawlers.conftest import crawl, crawled, field_mismatches
from tests.crawlers.test_hostile import PAGES as HOSTILE_PAGES


@pytest.fixture(scope="module")
def quiet_sandbox() -> Iterator[Any]:
    from sandbox.runner import Sandbox

    with Sandbox(seed=17, listings=60, day=0, obstacles=False) as sb:
        yield sb


def _response(url: str, body: bytes, content_type: str = "text/html; charset=utf-8"
              ) -> HtmlResponse:
    return HtmlResponse(url=url, body=body, headers={"Content-Type": content_type})


def _pages(sb: Any) -> list[tuple[str, str, HtmlResponse]]:
    """(profile, page kind, response) for real sandbox pages and hostile ones."""
    out: list[tuple[str, str, HtmlResponse]] = []
    with httpx.Client(timeout=10) as http:
        for style, profile in (("mall", "mall"), ("shop", "structured-data")):
            base = sb.urls[style]
            home = http.get(base + "/")
            out.append((profile, "nav", _response(str(home.url), home.content)))
            links = re.findall(r'href="(/[^"#]+)"', home.text)
            for href in links[:6]:
                page = http.get(base + href)
                out.append((profile, "nav", _response(str(page.url), page.content)))
                items = re.findall(r'href="(/(?:item|p|product)s?/[^"#]+)"', page.text)
                for item in items[:3]:
                    got = http.get(base + item)
                    out.append((profile, "product", _response(str(got.url), got.content)))
                    for seller in re.findall(
                            r'href="(/(?:sellers?|stores?|shops?|vendors?)/[^"#]+)"',
                            got.text)[:1]:
                        page = http.get(base + seller)
                        out.append((profile, "seller", _response(str(page.url), page.content)))
    for path, (_, ctype, body) in HOSTILE_PAGES.items():
        for profile in ("mall", "structured-data"):
            for kind in ("nav", "product", "seller"):
                out.append((profile, kind, _response("http://127.0.0.1:9" + path, body, ctype)))
    # Declared in the page only, and in a legacy encoding.
    gbk = '<html><head><meta charset="gbk"></head><body><h1 class="item-title">儿童玩具</h1>'
    out.append(("mall", "product", HtmlResponse(url="http://127.0.0.1:9/item/1.html",
                                                body=(gbk + "</body></html>").encode("gbk"))))
    return out


def test_worker_answers_are_the_crawls_answers(quiet_sandbox: Any) -> None:
    pages = _pages(quiet_sandbox)
    assert len(pages) > 40

    async def run() -> list[Any]:
        workers = ExtractionWorkers(2)
        workers.start()
        for _ in range(500):
            if workers.ready:
                break
            await asyncio.sleep(0.02)
        assert workers.ready
        try:
            return list(await asyncio.gather(*(
                workers.ask(extraction_plans(shipped_profile(p))[kind], r)
                for p, kind, r in pages)))
        finally:
            await workers.close()

    answers = asyncio.run(run())
    answered = 0
    for (profile, kind, response), got in zip(pages, answers, strict=True):
        plan = extraction_plans(shipped_profile(profile))[kind]
        expected = answer_all(response, plan)
        if got is None:
            continue  # the worker could not answer: the crawl parses it (checked below)
        answered += 1
        assert got == expected, (profile, kind, response.url)
        # And the spider reads the same through a Page either way.
        for op in plan:
            assert Page(response, got).ask(op) == Page(response).ask(op)
    assert answered == len(pages)
    # Real pages gave real answers, not just empty ones.
    mall_products = [a for (p, k, _), a in zip(pages, answers, strict=True)
                     if p == "mall" and k == "product" and a]
    listings = [v[0] for a in mall_products for op, v in a.items()
                if op[0] == "listing" and v[0] is not None]
    assert len(listings) >= 5 and all(i.prepared and i.title for i in listings)
    priced = [i for i in listings if i.price is not None]
    assert len(priced) >= 5 and all(i.currency == "CNY" for i in priced)
    sellers = [(p, a) for (p, k, _), a in zip(pages, answers, strict=True) if k == "seller"]
    assert {p for p, _ in sellers} >= {"mall", "structured-data"}
    assert all(a and a[("text", "body ::text", 100_000)] for p, a in sellers[:4])


def test_a_lost_worker_costs_only_speed() -> None:
    body = b"<html><body><h1 class='item-title'>x</h1></body></html>"
    response = _response("http://127.0.0.1:9/item/1.html", body)
    plan = extraction_plans(shipped_profile("mall"))["product"]

    async def run() -> tuple[Any, Any, Any, int]:
        workers = ExtractionWorkers(1)
        assert await workers.ask(plan, response) is None  # still starting: parse it yourself
        for _ in range(500):
            if workers.ready:
                break
            await asyncio.sleep(0.02)
        first = await workers.ask(plan, response)
        # Killed with pages outstanding: they come back unanswered, nothing hangs.
        outstanding = [asyncio.ensure_future(workers.ask(plan, response)) for _ in range(50)]
        await asyncio.sleep(0)
        workers._workers[0].proc.kill()
        lost = await asyncio.wait_for(asyncio.gather(*outstanding), 10)
        after = await workers.ask(plan, response)
        running = workers.running
        await workers.close()
        return first, lost, after, running

    first, lost, after, running = asyncio.run(run())
    markers, listing = plan
    assert first is not None and first[markers] is False
    assert first[listing][0].title == "x" and first[listing][0].external_id == "1"
    assert all(a is None or a == first for a in lost)
    assert None in lost
    assert after is None and running == 0


def test_closed_workers_exit_on_their_own() -> None:
    """close() returns without waiting for the workers' exit, and they still exit."""
    body = b"<html><body><h1 class='item-title'>x</h1></body></html>"
    response = _response("http://127.0.0.1:9/item/1.html", body)
    plan = extraction_plans(shipped_profile("mall"))["product"]

    async def run() -> list[Any]:
        workers = ExtractionWorkers(2)
        assert await workers.wait_ready()
        assert await workers.ask(plan, response) is not None
        procs = [w.proc for w in workers._workers]
        await workers.close()
        assert workers.running == 0
        return procs

    for proc in asyncio.run(run()):
        assert proc.wait(10) == 0


def _listing(n: int, sector: str = "light_industry") -> ListingItem:
    item = ListingItem(platform="mall", external_id=str(n), url=f"http://m/item/{n}.html",
                       title=f"玩具 {n}", price=Decimal("12.50"), currency="CNY",
                       seller_external_id=f"s{n % 7}", seller_name=f"店 {n % 7}")
    item.sector, item.supervision_class = sector, "general"
    return item


@pytest.mark.slow
@pytest.mark.parametrize("style", ["mall", "shop"])
def test_crawl_with_workers_matches_truth(
        style: str, sandbox: Any, sandbox_db: Database, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTCHECK_CRAWL_EXTRACT_WORKERS", "1")
    monkeypatch.setenv("SPOTCHECK_CRAWL_EXTRACT_AFTER", "0")
    summary = crawl(settings, style)
    assert summary.status == "finished", summary
    truth = [r for r in sandbox.truth(platform=style)["listings"] if r["status"] == "active"]
    got = crawled(sandbox_db, style)
    assert len([r for r in truth if r["external_id"] in got]) >= 0.99 * len(truth)
    for key, rows in field_mismatches(truth, got).items():
        assert len(rows) <= 0.01 * len(truth), (key, rows[:3])
    with sandbox_db.session() as s:
        run = s.scalar(select(CrawlRun).order_by(CrawlRun.id.desc()))
        assert run is not None
        scrapy_stats = run.stats["scrapy"]
        assert scrapy_stats.get("spotcheck/extracted_by_worker", 0) > len(got)
        assert run.new_listings == len(got)


def test_a_listing_card_reaches_the_worker() -> None:
    """The card a listing was found on fills what its page lacks, in a worker as here."""
    body = ("<html><body><h1 class='item-title'>儿童保温杯</h1><td class='item-id'>77</td>"
            "<span id='price'>¥12.90</span></body></html>").encode()
    response = _response("http://127.0.0.1:9/item/77.html", body)
    plan = extraction_plans(shipped_profile("mall"))["product"]
    card = {"seller_url": "/store/s-1", "seller_name": " 童乐旗舰店 "}

    async def run() -> Any:
        workers = ExtractionWorkers(1)
        assert await workers.wait_ready()
        try:
            return await workers.ask(plan, response, card)
        finally:
            await workers.close()

    got = asyncio.run(run())
    assert got == answer_all(response, plan, card)
    (item, seller_href), = [v for op, v in got.items() if op[0] == "listing"]
    assert seller_href == "/store/s-1"
    assert (item.seller_external_id, item.seller_name) == ("s-1", "童乐旗舰店")
    assert item.seller_url == "http://127.0.0.1:9/store/s-1"
    assert (item.price, item.currency, item.prepared) == (Decimal("12.90"), "CNY", True)
    assert item.supervision_class in {"key", "general", "prohibited"}
