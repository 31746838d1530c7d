"""Discovery: which links of a page (or robots.txt, or sitemap) the crawl follows, as what.

Every function yields the requests the spider's one request factory
(:meth:`crawlers.spiders.platform.PlatformSpider.request`: link filters, bounds, resumed and
repeated URLs; :class:`Requester` here, so discovery does not import the spider) agrees to; the order of yielding and the priorities
(:mod:`crawlers.discovery`) put product pages before further listing pages, so a bounded
crawl indexes products first.  Kept apart from the page handlers so "what is followed" has
one home for every page kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

from scrapy import Request
from scrapy.http import Response, TextResponse

from crawlers import discovery
from crawlers.extract.generic import GenericPage
from crawlers.extract.listing import id_from_url
from crawlers.extract.page import Page
from crawlers.profile import Profile


class Requester(Protocol):
    """What discovery needs of the spider: its profile and its one request factory."""

    profile: Profile

    def request(self, url: str, kind: str, *, base: str = "",
                meta: dict[str, Any] | None = None, priority: int = 0,
                dont_filter: bool = False) -> Request | None: ...

    def resolve(self, url: str, base: str) -> str | None: ...

#: Statuses a robots.txt or sitemap request may meet without it being a crawl error.
QUIET_MISSING = [401, 403, 404, 410]


def seller_hint(profile: Profile, url: str) -> bool:
    """Whether the profile's seller-id pattern names *url* a seller page (generic profiles
    have none: seller pages are known by their content)."""
    pattern = profile.extract.seller_id_from_url
    return bool(pattern) and re.search(pattern, url) is not None


def _kept(requests: Iterator[Request | None]) -> Iterator[Request]:
    for req in requests:
        if req is not None:
            yield req


def robots_requests(spider: Requester) -> Iterator[Request]:
    """The start: each start URL's robots.txt, for its ``Sitemap:`` lines (profiles that
    read sitemaps)."""
    return _kept(spider.request(url, "robots", priority=discovery.PRIORITY_SITEMAP,
                                meta={"is_start_request": True,
                                      "handle_httpstatus_list": QUIET_MISSING})
                 for url in discovery.robots_urls(spider.profile.resolved_start_urls()))


def sitemap_request(spider: Requester, url: str) -> Request | None:
    return spider.request(url, "sitemap", priority=discovery.PRIORITY_SITEMAP,
                          meta={"handle_httpstatus_list": QUIET_MISSING,
                                "download_maxsize": discovery.MAX_SITEMAP_BYTES})


def from_robots(spider: Requester, response: Response) -> Iterator[Request]:
    """The sitemaps a robots.txt names."""
    return _kept(sitemap_request(spider, url)
                 for url in discovery.sitemaps_from_robots(response))


def from_sitemap(spider: Requester, content: discovery.SitemapContent
                 ) -> Iterator[Request]:
    """A sitemap index's sitemaps, a sitemap's pages: a structured-data page says by its
    content what it is (fetched as ``nav``); a CSS profile's product pages are those its id
    pattern recognises."""
    yield from _kept(sitemap_request(spider, url) for url in content.sitemaps)
    extract = spider.profile.extract
    for url in content.pages:
        kind = ("product" if extract.kind == "css" and extract.id_from_url
                and id_from_url(extract.id_from_url, url) else "nav")
        req = spider.request(url, kind, priority=discovery.PRIORITY_SITEMAP)
        if req is not None:
            yield req


def from_css_nav(spider: Requester, response: TextResponse, page: Page
                 ) -> Iterator[Request]:
    """A CSS profile's listing page: its cards' product links (each with the card's fields
    as fallbacks), then its product, navigation and seller links as the rules say."""
    profile = spider.profile
    extract, links = profile.extract, profile.links
    cards = page.cards(extract.card, extract.card_link, extract.card_fields) \
        if extract.card else []
    for href, fallback in cards:
        req = spider.request(href, "product", base=response.url, meta={"card": fallback},
                             priority=discovery.PRIORITY_PRODUCT)
        if req is not None:
            yield req
    for rules, kind, priority in ((links.product, "product", discovery.PRIORITY_PRODUCT),
                                  (links.navigate, "nav", discovery.PRIORITY_NEXT_PAGE),
                                  (links.seller, "seller", discovery.PRIORITY_SELLER)):
        for rule in rules:
            for href in page.select_all(rule):
                req = spider.request(href, kind, base=response.url, priority=priority)
                if req is not None:
                    yield req


def from_content(spider: Requester, response: TextResponse, found: GenericPage
                 ) -> Iterator[Request]:
    """A page known by its content: a listing grid's product links first, then every other
    same-site link (a seller page when the profile's pattern says so, a next page before
    the rest)."""
    for href in found.product_links:
        req = spider.request(href, "product", base=response.url,
                             priority=discovery.PRIORITY_PRODUCT)
        if req is not None:
            yield req
    profile = spider.profile
    for href in found.links:
        url = spider.resolve(href, response.url)
        if url is None:
            continue
        kind = "seller" if seller_hint(profile, url) else "nav"
        req = spider.request(url, kind, base=response.url,
                             priority=discovery.PRIORITY_SELLER if kind == "seller"
                             else discovery.PRIORITY_NEXT_PAGE if href in found.next_links
                             else discovery.PRIORITY_LINK)
        if req is not None:
            yield req
