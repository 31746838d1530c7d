"""Hostile and malformed pages, from a real HTTP server on 127.0.0.1: rejected with a counted
reason, or stored as bounded text without harm; 429 Retry-After is honoured."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.normalise import MAX_RAW_BYTES, MAX_TITLE
from crawlers.platforms import add_platform
from crawlers.profile import parse_profile, shipped_profile
from store.db import Database
from store.models import CrawlRun, Listing, ListingSnapshot
from store.settings import Settings
from tests.conftest import SiteHandler, serve_http
from tests.crawlers.conftest import crawl

HOSTILE_TITLE = '<script>alert("x")</script>\x00\x07 "><img src=x onerror=alert(1)> \u202eevil'


def product(name: Any, price: Any = "19.90", extra: dict[str, Any] | None = None) -> str:
    data = {"@context": "https://schema.org", "@type": "Product", "name": name, "sku": "SK-1",
            "brand": {"@type": "Brand", "name": "Acme"},
            "offers": {"@type": "Offer", "price": price, "priceCurrency": "USD",
                       "seller": {"@type": "Organization", "name": "S", "identifier": "s1"}},
            **(extra or {})}
    return json.dumps(data)


PAGES: dict[str, tuple[int, str, bytes]] = {}


def _html(body: str, head: str = "") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


def _ld(data: str) -> str:
    safe = data.replace("</", "<\\/")
    return f'<script type="application/ld+json">{safe}</script>'


PAGES.update({
    "/": (200, "text/html", _html("".join(f'<a href="/p/{n}">{n}</a>' for n in (
        "hostile", "huge", "noname", "negprice", "broken", "binary", "big", "throttled",
        "notjson")))),
    "/p/hostile": (200, "text/html", _html("<h1>x</h1>", _ld(product(HOSTILE_TITLE)))),
    "/p/huge": (200, "text/html", _html("", _ld(product("Huge " + "长" * 5000, extra={
        "description": "d" * 150_000})))),
    "/p/noname": (200, "text/html", _html("", _ld(product("")))),
    "/p/negprice": (200, "text/html", _html("", _ld(product("Negative", price="-5")))),
    "/p/broken": (200, "text/html", _html("", _ld(product("Broken but repairable")[:-1] + ",}"))),
    "/p/binary": (200, "application/octet-stream", bytes(range(256)) * 50),
    "/p/big": (200, "text/html", _html("<p>" + "x" * 400_000 + "</p>", _ld(product("Big")))),
    "/p/throttled": (200, "text/html", _html("", _ld(product("Throttled")))),
    "/p/notjson": (200, "text/html", _html("", _ld("{this is : not json at all"))),
})


class Handler(SiteHandler):
    throttled = 0

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/p/throttled" and Handler.throttled < 2:
            Handler.throttled += 1
            self.send(429, headers={"Retry-After": "1"})
            return
        status, ctype, body = PAGES.get(path, (404, "text/html", b"not found"))
        self.send(status, body, ctype)


@pytest.fixture()
def hostile_site() -> Iterator[str]:
    Handler.throttled = 0
    with serve_http(Handler) as url:
        yield url


def test_hostile_pages(hostile_site: str, sqlite_db: Database, settings: Settings) -> None:
    data = shipped_profile("structured-data").model_dump()
    data["limits"]["max_page_bytes"] = 300_000
    data["politeness"]["autothrottle"] = False
    with sqlite_db.session() as s:
        add_platform(s, "hostile", start_url=hostile_site,
                     profile=parse_profile(data, "test profile"))
    started = time.monotonic()
    summary = crawl(settings, "hostile")
    elapsed = time.monotonic() - started
    assert summary.status == "finished"
    with sqlite_db.session() as s:
        rows = {r.url.rsplit("/", 1)[-1]: r for r in s.scalars(select(Listing))}
        run = s.get(CrawlRun, summary.run_id)
        assert run is not None
        errors, stats = dict(run.errors), run.stats["scrapy"]
    assert set(rows) == {"hostile", "huge", "broken", "throttled"}
    # Hostile text is stored as text: no NUL or control characters, markup kept literally.
    title = rows["hostile"].title
    assert "\x00" not in title and "\x07" not in title
    assert title.startswith('<script>alert("x")</script>') and title.endswith("evil")
    assert "\u202e" not in title  # a right-to-left override would make it read otherwise
    # ...while the listing's snapshot keeps what the page really said.
    with sqlite_db.session() as s:
        snapshot = s.scalars(select(ListingSnapshot).where(
            ListingSnapshot.listing_id == rows["hostile"].id)).one()
        originals = snapshot.data["original"]
        assert any(v.endswith("\u202eevil") for v in originals.values()), originals
        assert "original" not in s.scalars(select(ListingSnapshot).where(
            ListingSnapshot.listing_id == rows["broken"].id)).one().data
    # Bounded sizes.
    assert len(rows["huge"].title) == MAX_TITLE
    assert len(json.dumps(rows["huge"].raw, ensure_ascii=False).encode()) <= MAX_RAW_BYTES
    assert rows["huge"].raw.get("truncated") is True
    # Malformed but repairable structured data is read.
    assert rows["broken"].title == "Broken but repairable" and rows["broken"].model == "SK-1"
    # Rejections and errors are counted with their reasons.
    assert errors.get("rejected:no_title") == 1
    assert errors.get("rejected:bad_price") == 1
    assert errors.get("page_too_large") == 1
    assert summary.rejected_items == 2
    # 429 with Retry-After: 1 — honoured (the crawl waited), and the page was still fetched.
    assert stats.get("spotcheck/throttled_429") == 2
    assert elapsed >= 2.0
