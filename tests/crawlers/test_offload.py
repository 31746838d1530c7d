"""Work moved off the crawl's core: extraction workers answer exactly what the crawl would
have computed, a lost worker costs nothing but speed, the store writer process writes what
the thread would have, and a crawl that uses both still matches the sandbox's truth."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from scrapy.http import HtmlResponse
from sqlalchemy import func, select

from crawlers.extract.page import Page, answer_all
from crawlers.extract.workers import ExtractionWorkers
from crawlers.items import ListingItem
from crawlers.platforms import add_platform
from crawlers.profile import shipped_profile
from crawlers.spiders.platform import extraction_plans
from crawlers.store_writer import CrawlRuns, ListingWriter
from crawlers.writer_process import WRITER_NICENESS
from store.db import Database
from store.models import CrawlRun, Listing, ListingSnapshot
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


def _wait_for_process(writer: ListingWriter) -> None:
    """The writer process starts in the background: wait until it has taken over."""
    for _ in range(600):
        if writer._process is not None and writer._process.ready:
            return
        time.sleep(0.05)
    raise AssertionError("the writer process did not start")


def _writer_db(settings: Settings) -> tuple[Database, int]:
    db = Database.open(settings.database_url)
    with db.session() as s:
        add_platform(s, "mall", start_url="http://127.0.0.1:9/", profile="mall")
    run_id, _ = CrawlRuns(db).open("mall", full=True, job_key=None)
    return db, run_id


def test_writer_process_writes_what_the_thread_would(settings: Settings) -> None:
    db, run_id = _writer_db(settings)
    writer = ListingWriter(db, "mall", run_id, settings, batch_size=50, background=True,
                           process_after=1)
    for n in range(100):  # two batches in the thread; the process starts meanwhile
        writer.add_listing(_listing(n))
    _wait_for_process(writer)
    for n in range(100, 400):
        writer.add_listing(_listing(n))
    writer.flush()
    for n in range(400):  # the same again: nothing new, nothing changed
        writer.add_listing(_listing(n))
    assert writer._process is not None
    children = list(writer._process.pool._processes.values())
    # The child yields the CPU to the crawl: it runs below the crawl's priority.
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert [os.getpriority(os.PRIO_PROCESS, c.pid) for c in children] == \
        [min(19, ours + WRITER_NICENESS)] * len(children)
    writer.close()
    assert writer.process_batches >= 13  # all but the first two or three
    # close() waits for the batches, not for the child's exit; the child still exits.
    # (Polled, not joined: the executor's own thread reaps the child, and a second waitpid
    # on it would fail.)
    deadline = time.monotonic() + 10
    while any(c.exitcode is None for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [c.exitcode for c in children] == [0] * len(children)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Listing)) == 400
        assert s.scalar(select(func.count()).select_from(ListingSnapshot)) == 400
        run = s.get(CrawlRun, run_id)
        assert run is not None
        assert (run.items, run.new_listings, run.changed_listings) == (800, 400, 0)
    db.dispose()


def test_writer_process_failure_reaches_the_crawl(settings: Settings) -> None:
    db, run_id = _writer_db(settings)
    writer = ListingWriter(db, "mall", run_id, settings, batch_size=20, background=True,
                           process_after=0)
    for n in range(20):
        writer.add_listing(_listing(n))
    _wait_for_process(writer)
    for n in range(20, 100):
        writer.add_listing(_listing(n))
    writer.flush()
    assert writer.process_batches >= 4
    writer.add_listing(_listing(999, sector="not-a-sector"))  # fails in the child
    with pytest.raises(ValueError, match="not-a-sector"):
        writer.flush()
    writer.close()  # and the writer still closes cleanly
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Listing)) == 100
    db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("style", ["mall", "shop"])
def test_crawl_with_workers_and_writer_process_matches_truth(
        style: str, sandbox: Any, sandbox_db: Database, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTCHECK_CRAWL_EXTRACT_WORKERS", "1")
    monkeypatch.setenv("SPOTCHECK_CRAWL_EXTRACT_AFTER", "0")
    monkeypatch.setenv("SPOTCHECK_CRAWL_WRITE_PROCESS_AFTER", "0")
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
        assert run.stats["writer_process_batches"] > 0
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
