"""The spider's requests: what they carry, and what Scrapy does with them per page."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.referer import RefererMiddleware
from scrapy.utils.misc import _generator_callbacks_cache, is_generator_with_return_value

from crawlers.platforms import add_platform
from crawlers.session import CrawlSession
from crawlers.settings import project_settings
from crawlers.spiders.platform import PlatformSpider
from store.db import Database
from store.settings import Settings


def _spider(db: Database, settings: Settings) -> PlatformSpider:
    with db.session() as s:
        add_platform(s, "mall", start_url="http://127.0.0.1:9/", profile="mall")
    return PlatformSpider(session=CrawlSession.open("mall", settings=settings, db=db))


def test_requests_share_their_callbacks(sqlite_db: Database, settings: Settings) -> None:
    spider = _spider(sqlite_db, settings)
    first = spider.request("/item/1.html", "product")
    second = spider.request("/item/2.html", "product")
    nav = spider.request("/category/1.html", "nav")
    assert first is not None and second is not None and nav is not None
    assert first.url == "http://127.0.0.1:9/item/1.html"
    # One bound method per page kind, not one per request: Scrapy's check of a callback's
    # source for "return value" is cached weakly by the bound method.
    assert first.callback is second.callback and first.errback is second.errback
    assert nav.callback is not first.callback
    assert first.callback == spider.parse_product and nav.callback == spider.parse_nav
    assert not is_generator_with_return_value(first.callback)
    del second
    assert first.callback in _generator_callbacks_cache


def test_a_url_is_requested_once(sqlite_db: Database, settings: Settings) -> None:
    spider = _spider(sqlite_db, settings)
    assert spider.request("/item/1.html", "product") is not None
    assert spider.request("http://127.0.0.1:9/item/1.html", "product") is None
    again = spider.request("/item/1.html", "product", dont_filter=True)
    assert again is not None and again.dont_filter


def _crawled_spider(db: Database, settings: Settings, **scrapy_settings: Any) -> PlatformSpider:
    with db.session() as s:
        add_platform(s, "mall", start_url="http://127.0.0.1:9/", profile="mall")
    crawler = Crawler(PlatformSpider, {**project_settings(), **scrapy_settings})
    spider = PlatformSpider.from_crawler(
        crawler, session=CrawlSession.open("mall", settings=settings, db=db))
    crawler.spider = spider
    return spider


def _nav_page(url: str, links: list[str], headers: dict[str, str] | None = None
              ) -> HtmlResponse:
    body = "".join(f'<a class="cat-link" href="{href}">x</a>' for href in links)
    return HtmlResponse(url=url, body=f'<html><body><nav class="categories">{body}</nav>'
                        '</body></html>'.encode(),
                        headers=headers, encoding="utf-8",
                        request=Request(url, meta={"kind": "nav"}))


def _links(spider: PlatformSpider, response: HtmlResponse) -> dict[str, str | None]:
    out = {}
    for obj in spider.parse_nav(response):
        if isinstance(obj, Request):
            referer = obj.headers.get("Referer")
            out[obj.url] = referer.decode() if referer else None
    return out


def test_requests_carry_scrapys_referer(sqlite_db: Database, settings: Settings) -> None:
    """The spider sets Referer itself (Scrapy's middleware is off for it), as Scrapy would."""
    spider = _crawled_spider(sqlite_db, settings)
    assert spider.crawler.settings.getdict("SPIDER_MIDDLEWARES")[
        "scrapy.spidermiddlewares.referer.RefererMiddleware"] is None
    page = "http://127.0.0.1:9/category/1.html?page=2#top"
    links = _links(spider, _nav_page(page, ["/category/2.html", "/category/3.html"]))
    scrapy_mw = RefererMiddleware.from_crawler(spider.crawler)
    response = _nav_page(page, [])
    assert len(links) == 2
    for url, referer in links.items():
        expected = scrapy_mw.policy(response, Request(url)).referrer(page, url)
        assert referer == expected == "http://127.0.0.1:9/category/1.html?page=2"
    # The page's Referrer-Policy header is honoured.
    quiet = _nav_page("http://127.0.0.1:9/category/4.html", ["/category/5.html"],
                      {"Referrer-Policy": "no-referrer"})
    assert list(_links(spider, quiet).values()) == [None]
    # REFERER_ENABLED = False: no header at all.  (One crawl of a platform at a time: the
    # first one ends before the second opens, or the second would find the run's lease held.)
    spider.session.finish("finished", {})
    off = _crawled_spider(sqlite_db, settings, REFERER_ENABLED=False)
    assert list(_links(off, _nav_page(page, ["/category/6.html"])).values()) == [None]


def test_a_listing_pages_product_links_are_fetched_before_its_next_page_and_other_links(
        sqlite_db: Database, settings: Settings) -> None:
    # A grid of product cards, known by its content under the generic profile: its product
    # links go first (Scrapy fetches higher priorities first), then its next page, then the
    # rest of its links, so a bounded crawl spends its pages on products.
    with sqlite_db.session() as s:
        add_platform(s, "grid", start_url="http://127.0.0.1:9/", profile="structured-data")
    spider = PlatformSpider(session=CrawlSession.open("grid", settings=settings, db=sqlite_db))
    cards = "".join(f'<div class="tile"><a href="/shop/x/item-{i}.html?utm_source=a">'
                    f'<img src="i.png">Item {i}</a><b>€{i},99</b></div>' for i in range(5))
    url = "http://127.0.0.1:9/shop/tools/"
    body = ('<html><head><link rel="next" href="/shop/tools/?page=2"></head><body>'
            '<a href="/about.html">About</a><h1>Tools</h1>' + cards + '</body></html>')
    response = HtmlResponse(url=url, body=body.encode(), encoding="utf-8",
                            request=Request(url, meta={"kind": "nav"}))
    # The first request for a URL is the one fetched (Scrapy's duplicate filter drops the
    # grid's links met again among the page's other links).
    priority: dict[str, int] = {}
    for req in spider.parse_nav(response):
        if isinstance(req, Request):
            priority.setdefault(req.url, req.priority)
    products = [priority[f"http://127.0.0.1:9/shop/x/item-{i}.html"] for i in range(5)]
    next_page = priority["http://127.0.0.1:9/shop/tools/?page=2"]
    assert min(products) > next_page > priority["http://127.0.0.1:9/about.html"]
