"""Rendering pages in Chromium (scrapy-playwright) for platforms that need a browser.

Speed and flat memory come from four habits:

* **a small pool of pages, reused** — opening a page per request halves throughput (a new
  page is a new renderer target); :class:`PagePoolMiddleware` hands each browser request an
  idle page of the pool (scrapy-playwright navigates a page passed in
  ``meta["playwright_page"]``), and takes it back as soon as the DOM has been read, before
  the callback runs;
* **contexts recycled** — after ``pages_per_context`` navigations the pool moves to a fresh
  context; the old one's pages are closed as they come back, then the context itself (pages
  before their context), so cookies, caches and leaks of long-lived pages do not pile up;
* a page whose navigation failed is closed, not reused (it may be stuck mid-load);
* **no request interception** — scrapy-playwright routes every sub-request of a page through
  Python (``page.route("**")``), which also turns Chromium's HTTP cache off, so every page
  re-fetched the app's scripts, each through a Python round trip; pooled pages are navigated
  without a route (:class:`PooledPlaywrightHandler`), so scripts come from the cache and
  only the page's own requests reach the network;
* images are never loaded (Blink setting ``imagesEnabled=false``: not even requested), and
  fonts, media and the profile's other blocked types are refused by Chromium itself
  (``Network.setBlockedURLs``, by file extension, set once per page) — not through Python.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawlers.profile import Profile
from store import chromium
from store.settings import Settings

log = logging.getLogger(__name__)

#: Resource types never loaded while indexing (set per process from the profile).
_BLOCKED: frozenset[str] = frozenset({"image", "font", "media"})


def abort_request(request: Any) -> bool:
    """scrapy-playwright's PLAYWRIGHT_ABORT_REQUEST: drop heavy resources."""
    return bool(request.resource_type in _BLOCKED)


#: URL patterns (Chromium's ``Network.setBlockedURLs``) of the resource types other than
#: images, by file extension: what a pooled page refuses without routing requests to Python.
BLOCKED_URLS: dict[str, tuple[str, ...]] = {
    "font": ("woff", "woff2", "ttf", "otf", "eot"),
    "media": ("mp4", "webm", "ogg", "ogv", "mp3", "m4a", "wav", "flac", "mov", "m3u8", "mpd"),
    "stylesheet": ("css",),
    "texttrack": ("vtt",),
    "manifest": ("webmanifest",),
}


def blocked_url_patterns(types: frozenset[str] | set[str]) -> list[str]:
    """``Network.setBlockedURLs`` patterns for resource *types* (images aside)."""
    out: list[str] = []
    for kind in sorted(types):
        for ext in BLOCKED_URLS.get(kind, ()):
            out += [f"*.{ext}", f"*.{ext}?*"]
    return out


def launch_args(block: frozenset[str] | set[str]) -> list[str]:
    """Chromium flags: less work per page on a small machine; images off when blocked."""
    args = ["--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
            "--disable-background-networking", "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
            "--disable-component-update", "--disable-default-apps", "--disable-sync",
            "--no-first-run", "--mute-audio", "--hide-scrollbars",
            "--disable-features=Translate,MediaRouter,OptimizationHints"]
    if "image" in block:
        args.append("--blink-settings=imagesEnabled=false")
    return args


def browser_settings(profile: Profile, settings: Settings) -> dict[str, Any]:
    global _BLOCKED
    _BLOCKED = frozenset(profile.browser.block)
    handler = "crawlers.browser.PooledPlaywrightHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "DOWNLOADER_MIDDLEWARES": {"crawlers.browser.PagePoolMiddleware": 950},
        "SPOTCHECK_PAGES_PER_CONTEXT": profile.browser.pages_per_context,
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": chromium.launch_options(settings, launch_args(_BLOCKED)),
        "PLAYWRIGHT_ABORT_REQUEST": abort_request,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": int(profile.limits.timeout * 1000),
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": profile.politeness.concurrency,
        "PLAYWRIGHT_MAX_CONTEXTS": 3,
    }


class PagePool:
    """Up to *size* pages of the current context, reused; the context retired after
    *per_context* navigations and closed once its last page is back."""

    def __init__(self, size: int, per_context: int) -> None:
        self.size = max(1, size)
        self.per_context = max(1, per_context)
        self.generation = 0
        self.navigations = 0
        self.idle: list[Any] = []
        #: Pages alive (idle, in use, or being created by the handler) per context name.
        self.alive: dict[str, int] = {}
        self.waiters: deque[asyncio.Future[None]] = deque()
        #: A Playwright context per name, known from its first page that came back.
        self.contexts: dict[str, Any] = {}
        self.pages_created = 0
        self.pages_reused = 0
        self.contexts_closed = 0

    @property
    def current(self) -> str:
        return f"spotcheck-{self.generation}"

    async def acquire(self, request: Request) -> None:
        """Give *request* a page of the current context (or room for the handler to open
        one), waiting while all pages are busy."""
        while True:
            if self.navigations >= self.per_context:
                await self._retire()
            name = self.current
            if self.idle:
                page = self.idle.pop()
                if page.is_closed():
                    self._gone(name)
                    continue
                request.meta["playwright_page"] = page
                self.pages_reused += 1
                break
            if self.alive.get(name, 0) < self.size:
                self.alive[name] = self.alive.get(name, 0) + 1  # the handler opens it
                self.pages_created += 1
                break
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            await waiter
        request.meta["playwright_context"] = name
        request.meta["_spotcheck_pooled"] = True
        self.navigations += 1

    async def release(self, request: Request, *, reusable: bool) -> None:
        """Take the request's page back: idle again, or closed (failed, or its context is
        retired) — and the context with its last page."""
        if not request.meta.pop("_spotcheck_pooled", False):
            return
        name = request.meta.get("playwright_context", self.current)
        page = request.meta.pop("playwright_page", None)
        if page is None:  # the handler failed before it had a page
            self._gone(name)
            await self._close_retired(name)
            return
        self.contexts.setdefault(name, page.context)
        if reusable and name == self.current and not page.is_closed():
            self.idle.append(page)
            self._wake()
            return
        await _close(page)
        self._gone(name)
        await self._close_retired(name)

    async def _close_retired(self, name: str) -> None:
        """Close context *name* if it is retired and has no page left."""
        if name == self.current or self.alive.get(name, 0) > 0:
            return
        self.alive.pop(name, None)
        context = self.contexts.pop(name, None)
        if context is not None and await _close(context):
            self.contexts_closed += 1

    async def _retire(self) -> None:
        old = self.current
        self.generation += 1
        self.navigations = 0
        pages, self.idle = self.idle, []
        for page in pages:
            await _close(page)
            self._gone(old)
        await self._close_retired(old)
        self._wake(all_=True)

    def _gone(self, name: str) -> None:
        self.alive[name] = self.alive.get(name, 1) - 1
        self._wake()

    def _wake(self, all_: bool = False) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                if not all_:
                    return


async def _close(target: Any) -> bool:
    try:
        await target.close()
        return True
    except Exception as exc:  # the page or context may already be gone with its browser
        log.debug("closing %s: %s", type(target).__name__, exc)
        return False


class PagePoolMiddleware:
    """Downloader middleware (closest to the download handler) running the page pool."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.pool = PagePool(settings.getint("CONCURRENT_REQUESTS", 4),
                             settings.getint("SPOTCHECK_PAGES_PER_CONTEXT", 200))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PagePoolMiddleware:
        return cls(crawler)

    def _record(self) -> None:
        """What the pool did, in the crawl's stats (kept on the crawl run row)."""
        stats = self.crawler.stats
        if stats is not None:
            pool = self.pool
            stats.set_value("spotcheck/browser/pages_opened", pool.pages_created)
            stats.set_value("spotcheck/browser/pages_reused", pool.pages_reused)
            stats.set_value("spotcheck/browser/contexts_closed", pool.contexts_closed)
            stats.set_value("spotcheck/browser/contexts", pool.generation + 1)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if request.meta.get("playwright") and "playwright_page" not in request.meta:
            await self.pool.acquire(request)

    async def process_response(self, request: Request, response: Response,
                               spider: Spider | None = None) -> Response:
        # The DOM is in the response body already: the page can serve the next request.
        await self.pool.release(request, reusable=True)
        self._record()
        return response

    async def process_exception(self, request: Request, exception: BaseException,
                                spider: Spider | None = None) -> None:
        await self.pool.release(request, reusable=False)
        self._record()


class PooledPlaywrightHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's download handler, navigating pooled pages without a route.

    For a request of the pool (``meta["_spotcheck_pooled"]``) the page is navigated with
    ``page.goto`` and read as scrapy-playwright does (page methods, ``page.content()``,
    response headers and status), but without ``page.route("**")`` — no sub-request goes
    through Python and Chromium's cache stays on — and without the per-response download
    watch (a listing page is HTML, not a file download).  Resource blocking is done by
    Chromium (see :func:`launch_args`, :func:`prepare_page`).  Requests outside the pool take
    scrapy-playwright's own path, with :func:`abort_request`.
    """

    async def _download_request_with_retry(self, request: Request,
                                           spider: Spider) -> Response:
        if not request.meta.get("_spotcheck_pooled"):
            return await super()._download_request_with_retry(request, spider)
        page = request.meta.get("playwright_page")
        if page is None or page.is_closed():
            page = await self._create_page(request=request, spider=spider)
            # scrapy-playwright's per-request stats listeners would bring every
            # sub-request's events into Python.
            page.remove_listener("request", self._increment_request_stats)
            page.remove_listener("response", self._increment_response_stats)
            await prepare_page(page)
        response: Response = await self._download_request_with_page(request, page, spider)
        return response

    async def _get_response_and_download(self, request: Request, page: Any,
                                         spider: Spider) -> tuple[Any, Any]:
        if not request.meta.get("_spotcheck_pooled"):
            return await super()._get_response_and_download(request, page, spider)
        kwargs = dict(request.meta.get("playwright_page_goto_kwargs") or {})
        kwargs.pop("url", None)
        return await page.goto(url=request.url, **kwargs), None


async def prepare_page(page: Any) -> None:
    """A new pool page: Chromium refuses the blocked resource types (images aside, which the
    Blink setting keeps from being requested at all), by file extension."""
    patterns = blocked_url_patterns(_BLOCKED - {"image"})
    if patterns:
        try:
            cdp = await page.context.new_cdp_session(page)
            await cdp.send("Network.enable")
            await cdp.send("Network.setBlockedURLs", {"urls": patterns})
        except Exception as exc:  # not Chromium: nothing blocked by extension
            log.debug("blocking by URL: %s", exc)


def browser_meta(spider: Any) -> dict[str, Any]:
    """Request meta sending a request through the browser (the pool picks page and context)."""
    from scrapy_playwright.page import PageMethod

    methods = []
    if spider.profile.browser.wait_for:
        methods.append(PageMethod("wait_for_selector", spider.profile.browser.wait_for,
                                  timeout=int(spider.profile.limits.timeout * 1000)))
    return {
        "playwright": True,
        "playwright_include_page": True,
        "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded"},
        "playwright_page_methods": methods,
    }


async def release_page(spider: Any, page: Any) -> None:
    """Close a page that reached a callback outside the pool (the pool normally takes every
    page back before the callback)."""
    await _close(page)
