"""The spider's requests: what they carry, and what Scrapy does with them per page."""

from __future__ import annotations

from scrapy.utils.misc import _generator_callbacks_cache, is_generator_with_return_value

from crawlers.platforms import add_platform
from crawlers.session import CrawlSession
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
