"""Rendering pages in Chromium (scrapy-playwright) for platforms that need a browser.

Memory stays flat over long crawls by three habits: images, fonts and media are never
loaded; each page is closed by us as soon as its DOM has been read (before its context);
and contexts are recycled — after ``pages_per_context`` pages the spider moves on to a fresh
context and closes the old one once its last page is closed.
"""

from __future__ import annotations

import logging
from typing import Any

from crawlers.profile import Profile
from store.settings import Settings

log = logging.getLogger(__name__)

#: Resource types never loaded while indexing (set per process from the profile).
_BLOCKED: frozenset[str] = frozenset({"image", "font", "media"})


def abort_request(request: Any) -> bool:
    """scrapy-playwright's PLAYWRIGHT_ABORT_REQUEST: drop heavy resources."""
    return bool(request.resource_type in _BLOCKED)


def browser_settings(profile: Profile, settings: Settings) -> dict[str, Any]:
    global _BLOCKED
    _BLOCKED = frozenset(profile.browser.block)
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": settings.chromium_path(),
                                      "headless": True,
                                      "args": ["--disable-gpu", "--disable-dev-shm-usage"]},
        "PLAYWRIGHT_ABORT_REQUEST": abort_request,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": int(profile.limits.timeout * 1000),
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": profile.politeness.concurrency,
        "PLAYWRIGHT_MAX_CONTEXTS": 3,
    }


class ContextRecycler:
    """Hands out context names; retires a context after N pages and closes it when empty."""

    def __init__(self, pages_per_context: int) -> None:
        self.per_context = pages_per_context
        self.generation = 0
        self.issued = 0
        self.open_pages: dict[str, int] = {}
        self.closed_contexts = 0

    @property
    def current(self) -> str:
        return f"spotcheck-{self.generation}"

    def next_name(self) -> str:
        if self.issued >= self.per_context:
            self.generation += 1
            self.issued = 0
        self.issued += 1
        name = self.current
        self.open_pages[name] = self.open_pages.get(name, 0) + 1
        return name

    def done(self, name: str) -> bool:
        """One page of *name* finished; True when the context is retired and now empty."""
        left = self.open_pages.get(name, 1) - 1
        self.open_pages[name] = left
        if left <= 0 and name != self.current:
            self.open_pages.pop(name, None)
            return True
        return False


def browser_meta(spider: Any) -> dict[str, Any]:
    """Request meta sending a request through the browser, in the current context."""
    recycler = getattr(spider, "_recycler", None)
    if recycler is None:
        recycler = spider._recycler = ContextRecycler(spider.profile.browser.pages_per_context)
    from scrapy_playwright.page import PageMethod

    methods = []
    if spider.profile.browser.wait_for:
        methods.append(PageMethod("wait_for_selector", spider.profile.browser.wait_for,
                                  timeout=int(spider.profile.limits.timeout * 1000)))
    return {
        "playwright": True,
        "playwright_context": recycler.next_name(),
        "playwright_include_page": True,
        "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded"},
        "playwright_page_methods": methods,
    }


async def release_page(spider: Any, page: Any) -> None:
    """Close a rendered page (before its context); close its context if it is retired."""
    recycler: ContextRecycler | None = getattr(spider, "_recycler", None)
    context = page.context
    name = None
    if recycler is not None:
        for key in list(recycler.open_pages):
            if key == _context_name(spider, context):
                name = key
                break
    try:
        await page.close()
    except Exception as exc:  # the page may already be gone with its browser
        log.debug("closing page: %s", exc)
    if recycler is not None and name is not None and recycler.done(name):
        try:
            await context.close()
            recycler.closed_contexts += 1
        except Exception as exc:
            log.debug("closing context %s: %s", name, exc)


def _context_name(spider: Any, context: Any) -> str | None:
    """The scrapy-playwright name of *context* (the handler keeps a name → wrapper map)."""
    handler = _handler(spider)
    if handler is None:
        return None
    for name, wrapper in handler.context_wrappers.items():
        if wrapper.context is context:
            return str(name)
    return None


def _handler(spider: Any) -> Any:
    engine = spider.crawler.engine
    handlers = engine.downloader.handlers._handlers if engine else {}
    for scheme in ("http", "https"):
        h = handlers.get(scheme)
        if h is not None and hasattr(h, "context_wrappers"):
            return h
    return None
