"""The platform spider: one spider for every platform, driven by its profile.

Page kinds travel in ``request.meta["kind"]``: ``nav`` (home, category, next pages), ``product``
(a listing page or a listing's API record), ``seller`` (a seller page or record), ``api`` (a
page of an API listing), ``confirm`` (re-fetching a listing a full crawl did not see).

After a full crawl has drained its queue, :mod:`crawlers.removals` (an extension) marks the
listings it did not see as possibly removed and has the spider re-fetch them (``confirm``):
404/410, or a page showing a "removed" marker, confirms the removal; a page still showing the
listing brings it back.  Page and time bounds are :mod:`crawlers.bounds`'s.  The spider yields
items and requests only: the storage pipeline (:mod:`crawlers.storage`) writes them and
counts the run, and finishes the run row when the crawl closes.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawlers import discovery
from crawlers.bounds import BoundReached
from crawlers.extract.generic import GenericPage
from crawlers.extract.jsonpath import get_path, map_fields
from crawlers.extract.listing import (
    ListingRecipe,
    id_from_url,
    recipe_of,
    resolve_link,
)
from crawlers.extract.page import Page
from crawlers.items import ListingItem, RemovalCheck
from crawlers.profile import Profile
from crawlers.session import CrawlSession
from crawlers.settings import apply_profile
from crawlers.spiders import building, links
from store.settings import get_settings

#: Links a structured-data crawl never follows (carts, accounts, assets, admin).
GENERIC_DENY = re.compile(
    r"/(cart|checkout|login|logout|signin|signup|register|account|orders?|admin|static|assets?|"
    r"img|images|api|wishlist|compare|search)(/|$|\?)|\.(json|xml|svg|png|jpe?g|gif|webp|css|js|"
    r"ico|pdf|zip|mp4|woff2?)(\?|$)", re.IGNORECASE)
#: Page kinds fetched whatever the profile's link filters say: removal checks, robots.txt and
#: sitemaps (a generic profile denies ``.xml``, as a link on a page).
_UNFILTERED = frozenset({"confirm", "robots", "sitemap"})


class PlatformSpider(scrapy.Spider):
    """Crawls one platform as its profile says."""

    name = "platform"
    session: CrawlSession
    profile: Profile
    allowed_domains: list[str]
    #: Whether links to subdomains of allowed_domains are followed (crawlers.middlewares).
    offsite_subdomains: bool = False

    def __init__(self, platform: str = "", full: Any = True, base_url: str | None = None,
                 session: CrawlSession | None = None, job_key: str | None = None,
                 registry: Any = None, seeds: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Shared crawls: this worker's registry entry, and whether it seeds the start URLs.
        self.registry = registry
        self.seeds = seeds
        self.platform = platform or (session.profile.code if session else "")
        self.full = str(full).lower() not in {"0", "false", "no"}
        self.base_url = base_url
        self.job_key = job_key
        if session is not None:
            self.session = session
            self.profile = session.profile
        self._releasing: set[Any] = set()
        #: URLs this worker has already handed to the scheduler (see :meth:`request`).
        self._requested: set[str] = set()
        #: Scrapy's Referer middleware, applied by :meth:`referred` (None: no Referer).
        self._referer: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PlatformSpider:
        spider: PlatformSpider = super().from_crawler(crawler, *args, **kwargs)
        if not hasattr(spider, "session"):
            if not spider.platform:
                raise ValueError("pass the platform: scrapy crawl platform -a platform=CODE")
            spider.session = CrawlSession.open(spider.platform, settings=get_settings(),
                                               base_url=spider.base_url, full=spider.full,
                                               job_key=spider.job_key)
            spider.profile = spider.session.profile
        profile = spider.profile
        spider.allowed_domains = profile.domains()
        spider.offsite_subdomains = profile.links.subdomains
        apply_profile(crawler.settings, profile, spider.session.settings,
                      spider.session.job_key or profile.code)
        spider._referer = _referer_middleware(crawler)
        return spider

    # -- requests ---------------------------------------------------------------------------

    def resolve(self, url: str, base: str) -> str | None:
        """*url* made absolute on *base* and rewritten as the profile says (None: no
        http(s) URL)."""
        return resolve_link(url, base, self._recipe.rewrite)

    @cached_property
    def _recipe(self) -> ListingRecipe:
        return recipe_of(self.profile)

    @cached_property
    def _link_filters(self) -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]:
        """The profile's deny and allow patterns, compiled once (re's own cache is looked up
        per call, for every link of every page)."""
        links = self.profile.links
        return (tuple(re.compile(d) for d in links.deny),
                tuple(re.compile(a) for a in links.allow))

    def _allowed(self, url: str) -> bool:
        deny, allow = self._link_filters
        if deny and any(d.search(url) for d in deny):
            return False
        if allow and not any(a.search(url) for a in allow):
            return False
        return not (self.profile.extract.kind == "structured-data"
                    and GENERIC_DENY.search(urlsplit(url).path + "?"))

    def request(self, url: str, kind: str, *, base: str = "", meta: dict[str, Any] | None = None,
                priority: int = 0, dont_filter: bool = False) -> Request | None:
        """A request for *url* of page *kind*, or None when it is not to be fetched."""
        absolute = self.resolve(url, base or self.profile.base_url)
        if absolute is None or (kind not in _UNFILTERED and not self._allowed(absolute)):
            return None
        if kind == "seller" and self.profile.limits.products_only:
            return None
        if kind in {"product", "nav"} and absolute in self.session.seen_urls:
            self._stat("spotcheck/skipped_seen")
            return None
        meta = {"kind": kind, **(meta or {})}
        if kind == "product" and meta.get("external_id") in self.session.seen_urls:
            self._stat("spotcheck/skipped_seen")
            return None
        if not dont_filter and not self.profile.limits.max_depth:
            # Every listing page links the same categories and seller: most links are
            # repeats, which the scheduler's dupefilter would drop after a Request, the
            # spider middlewares and a fingerprint each.  Without a depth limit, whether a
            # URL is fetched depends on the URL alone, so dropping repeats here changes
            # nothing but the cost (in a shared crawl, Redis' dupefilter still decides for
            # URLs other workers found).
            if absolute in self._requested:
                return None
            self._requested.add(absolute)
        callback = self._callbacks[kind]
        if kind == "confirm":
            meta["handle_httpstatus_list"] = [404, 410]
        if self.profile.browser.enabled and kind in {"nav", "product", "seller", "confirm"} \
                and not meta.get("api"):
            meta.update(self._browser_meta())
        return Request(absolute, callback=callback, errback=self._callbacks["error"], meta=meta,
                       priority=priority, dont_filter=dont_filter)

    @cached_property
    def _callbacks(self) -> dict[str, Any]:
        """Each page kind's callback, bound once: Scrapy checks a generator callback's source
        for ``return value`` and caches the answer weakly by the bound method, so a method
        bound afresh for every request had its source parsed again for most pages."""
        return {"nav": self.parse_nav, "product": self.parse_product,
                "seller": self.parse_seller, "api": self.parse_api,
                "confirm": self.parse_product, "robots": self.parse_robots,
                "sitemap": self.parse_sitemap, "error": self.on_error}

    def _stat(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

    def _browser_meta(self) -> dict[str, Any]:
        from crawlers.browser import browser_meta

        return browser_meta(self)

    async def start(self) -> AsyncIterator[Request]:
        if self.registry is not None:
            self.registry.beat(1)
        if not self.seeds:
            return
        if self.profile.extract.kind == "api" and self.profile.extract.api is not None:
            api = self.profile.extract.api
            req = self.request(api.list_url.replace("{page}", "1"), "api",
                               meta={"api": True, "is_start_request": True})
            if req is not None:
                yield req
        for url in self.profile.resolved_start_urls():
            req = self.request(url, "nav", priority=10, meta={"is_start_request": True})
            if req is not None:
                yield req
        if self.profile.links.sitemaps:
            for req in links.robots_requests(self):
                yield req

    # -- discovery: robots.txt and sitemaps ----------------------------------------------------

    def parse_robots(self, response: Response) -> Iterator[Any]:
        return links.from_robots(self, response)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        content = discovery.read_sitemap(response)
        if content is None:
            if response.status == 200:
                self.session.error("bad_sitemap")
            return
        yield from links.from_sitemap(self, content)

    # -- callbacks: HTML --------------------------------------------------------------------

    # Callbacks are plain generators: Scrapy runs async-generator output through asyncio
    # tasks per yielded object, which cost more than the parsing itself.

    def parse_nav(self, response: Response) -> Iterator[Any]:
        self._release(response)
        if not isinstance(response, TextResponse):
            return
        yield from self.referred(response, self._nav(response, self._page(response)))

    def _page(self, response: TextResponse) -> Page:
        """The page (parsed once, when first asked), with the card it was found on."""
        return Page(response, response.meta.get("card"))

    def referred(self, response: Response, output: Iterator[Any]) -> Iterator[Any]:
        """*output*, its requests given the Referer header that Scrapy's Referer middleware
        would give them (its policies, the response's ``Referrer-Policy``, the request's
        ``referrer_policy`` meta), without its generator step per object."""
        referer = self._referer
        for obj in output:
            if referer is not None and isinstance(obj, Request):
                referer.get_processed_request(obj, response)
            yield obj

    def _nav(self, response: TextResponse, page: Page) -> Iterator[Any]:
        if self.profile.extract.kind == "structured-data":
            yield from self._structured(response, page, follow=True)
        else:
            yield from links.from_css_nav(self, response, page)

    def parse_product(self, response: Response) -> Iterator[Any]:
        self._release(response)
        yield from self.referred(response, self._product(response))

    def _removed(self, response: Response, page: Page) -> bool:
        if response.status in (404, 410):
            return True
        return page.says_removed(tuple(self.profile.extract.removed_markers))

    def _product(self, response: Response) -> Iterator[Any]:
        meta = response.meta
        confirm = meta.get("kind") == "confirm"
        kind = self.profile.extract.kind
        if not isinstance(response, TextResponse):
            self.session.error("not_text")
            return
        if kind == "api" or meta.get("api"):
            yield from self._api_product(response)
            return
        page = self._page(response)
        if self._removed(response, page) and (confirm or not self._has_product(page)):
            if confirm:
                yield RemovalCheck(self.profile.code, meta["external_id"], "removed",
                                   f"http {response.status}")
            return
        if kind == "structured-data":
            # A link taken for a product's may lead to a listing page: its links are
            # followed then (what a page is, its content says).
            found = list(self._structured(response, page, follow=False if confirm else None))
            if confirm and not any(isinstance(i, ListingItem) for i in found):
                yield RemovalCheck(self.profile.code, meta["external_id"], "removed",
                                   "no product data")
            yield from found
            return
        # Built, validated, normalised and classified by one function; the pipelines count
        # what it says.
        item, seller_href = page.listing(self._recipe)
        if item is None:
            self.session.reject("no_external_id")
            if confirm:
                yield RemovalCheck(self.profile.code, meta["external_id"], "error",
                                   "no listing on page")
            return
        yield item
        if seller_href:
            req = self.request(seller_href, "seller", base=response.url, priority=1)
            if req is not None:
                yield req

    def _has_product(self, page: Page) -> bool:
        ext_rule = self.profile.extract.fields.get("external_id")
        if ext_rule and page.select(ext_rule):
            return True
        return page.generic().kind == "product"

    def _id_from_url(self, url: str) -> str | None:
        return id_from_url(self.profile.extract.id_from_url, url)

    # -- structured data --------------------------------------------------------------------

    def _structured(self, response: TextResponse, page: Page, *, follow: bool | None
                    ) -> Iterator[Any]:
        """A structured-data page, known by its content (crawlers.extract.kinds): a product
        page gives its listing, a seller page its seller; *follow* (None: unless it is a
        product page) follows its links, a listing grid's product links first.  The
        profile's URL patterns only add confidence (a page its id pattern names is a
        product page when it shows a product with a title)."""
        found: GenericPage = page.generic()
        kind = found.kind
        if kind != "product" and found.fields.get("title") and self.profile.extract.id_from_url \
                and self._id_from_url(response.url):
            kind = "product"
        if kind == "product":
            item = building.structured_listing(self.profile, self._recipe, response, page, found)
            yield item
            if item.seller_url:
                req = self.request(item.seller_url, "seller", base=response.url, priority=1)
                if req is not None:
                    yield req
        elif kind == "seller" or links.seller_hint(self.profile, response.url):
            yield from self._seller(page)
        if follow is False or (follow is None and kind == "product"):
            return
        yield from links.from_content(self, response, found)

    # -- sellers ----------------------------------------------------------------------------

    def parse_seller(self, response: Response) -> Iterator[Any]:
        self._release(response)
        if isinstance(response, TextResponse):
            if response.meta.get("api"):
                yield from self.referred(response, self._api_seller(response))
            else:
                yield from self.referred(response, self._seller(self._page(response)))

    def _seller(self, page: Page) -> Iterator[Any]:
        seller = building.page_seller(self.profile, self._recipe, page)
        if seller is None:
            self.session.reject("bad_seller_id")
        else:
            yield seller

    # -- API profiles -----------------------------------------------------------------------

    def parse_api(self, response: Response) -> Iterator[Any]:
        yield from self.referred(response, self._api(response))

    def _api(self, response: Response) -> Iterator[Any]:
        api = self.profile.extract.api
        assert api is not None
        data = self._json(response)
        if data is None:
            return
        items = get_path(data, api.items_path) or []
        if not isinstance(items, list):
            self.session.error("api_shape")
            return
        for record in items:
            if not isinstance(record, dict):
                continue
            ext = map_fields(record, {"external_id": api.fields.get("external_id", "id")})
            ext_id = str(ext["external_id"] or "")
            if api.item_url and ext_id:
                req = self.request(api.item_url.replace("{id}", ext_id), "product",
                                   base=response.url, meta={"api": True, "external_id": ext_id,
                                                            "summary": record})
                if req is not None:
                    yield req
            else:
                yield from self._api_listing(record, response.url)
        nxt = get_path(data, api.next_path) if api.next_path else None
        if isinstance(nxt, str) and nxt:
            req = self.request(nxt, "api", base=response.url, meta={"api": True}, priority=5)
            if req is not None:
                yield req

    def _json(self, response: Response) -> Any:
        try:
            return json.loads(response.body[: self.profile.limits.max_page_bytes])
        except (ValueError, UnicodeDecodeError):
            self.session.error("bad_json")
            return None

    def _api_product(self, response: TextResponse) -> Iterator[Any]:
        meta = response.meta
        confirm = meta.get("kind") == "confirm"
        if response.status in (404, 410):
            if confirm:
                yield RemovalCheck(self.profile.code, meta["external_id"], "removed",
                                   f"http {response.status}")
            return
        data = self._json(response)
        if not isinstance(data, dict):
            return
        merged = {**(meta.get("summary") or {}), **data}
        yield from self._api_listing(merged, response.url)

    def _api_listing(self, record: dict[str, Any], url: str) -> Iterator[Any]:
        api = self.profile.extract.api
        assert api is not None
        item = building.api_listing(self.profile, self._recipe, record, url)
        yield item
        seller_id = item.seller_external_id
        if seller_id and api.seller_url:
            req = self.request(api.seller_url.replace("{id}", seller_id), "seller", base=url,
                               meta={"api": True}, priority=1)
            if req is not None:
                yield req

    def _api_seller(self, response: TextResponse) -> Iterator[Any]:
        data = self._json(response)
        if not isinstance(data, dict):
            return
        seller = building.api_seller(self.profile, data)
        if seller is None:
            self.session.reject("bad_seller_id")
        else:
            yield seller

    # -- errors ----------------------------------------------------------------------------

    async def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        page = request.meta.get("playwright_page")
        if page is not None:
            from crawlers.browser import release_page

            await release_page(self, page)
        from scrapy.spidermiddlewares.httperror import HttpError

        if failure.check(BoundReached):
            return  # held back by the crawl's bound (counted there), not a platform error
        if failure.check(HttpError):
            status = failure.value.response.status  # type: ignore[union-attr]
            kind = f"http_{status}"
        else:
            message = str(failure.value)
            kind = "page_too_large" if "max size" in message or "maxsize" in message \
                else type(failure.value).__name__
        self.session.error(kind)
        if request.meta.get("kind") == "confirm":
            self.session.removal_checked(RemovalCheck(self.profile.code,
                                                      request.meta["external_id"], "error",
                                                      kind))

    def _release(self, response: Response) -> None:
        """Close the rendered page (the DOM is in the response already), in the background."""
        page = response.meta.get("playwright_page")
        if page is not None:
            import asyncio

            from crawlers.browser import release_page

            task = asyncio.ensure_future(release_page(self, page))
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)


def _referer_middleware(crawler: Crawler) -> Any:
    """Scrapy's Referer middleware for *crawler* (it also corrects the header of redirected
    requests, by the request_scheduled signal), or None when REFERER_ENABLED is off."""
    from scrapy.exceptions import NotConfigured
    from scrapy.spidermiddlewares.referer import RefererMiddleware

    try:
        return RefererMiddleware.from_crawler(crawler)
    except NotConfigured:
        return None
