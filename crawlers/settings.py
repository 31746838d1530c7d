"""Scrapy settings: the project defaults (``scrapy crawl`` reads this module) and the
per-platform part derived from a profile (:func:`apply_profile`)."""

from __future__ import annotations

from typing import Any

from scrapy.settings import BaseSettings

from crawlers.profile import Profile
from store.settings import Settings

BOT_NAME = "spotcheck"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"
ROBOTSTXT_OBEY = False  # inspectors crawl under their own authority; politeness is per profile
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# Scrapy's, keeping a host's concurrency under that reactor (see crawlers.downloader).
DOWNLOADER = "crawlers.downloader.HostLimitedDownloader"
USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0 Safari/537.36")
LOG_LEVEL = "WARNING"
LOG_INSTALL_ROOT_HANDLER = False  # the CLI owns logging (see crawlers.run.quiet_logs)
TELNETCONSOLE_ENABLED = False
STATS_CLASS = "crawlers.stats.PlainStatsCollector"
EXTENSIONS = {"crawlers.collector.CollectorTuning": 0,
              # AutoThrottle that does not stall on a shop's broken links (crawlers.throttle).
              "scrapy.extensions.throttle.AutoThrottle": None,
              "crawlers.throttle.AdaptiveThrottle": 0}
REMOTE_CONTROL_ENABLED = False  # Scrapy's remote-control server: not for a covert crawler
COOKIES_ENABLED = True
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
DUPEFILTER_CLASS = "crawlers.dupefilter.CanonicalURLDupeFilter"
RETRY_ENABLED = False  # replaced by BackoffRetryMiddleware (backoff) + RetryAfterMiddleware
DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.RetryAfterMiddleware": 540,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
    # Scrapy's decodes every page to find a refresh that almost none has.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawlers.middlewares.MetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawlers.middlewares.OffsiteMiddleware": 50,
}
SPIDER_MIDDLEWARES = {
    # Each spider middleware wraps every object a callback yields in one more async
    # generator step.  URLs are cut to 2,000 characters by canonicalisation (so the URL
    # length filter never fires) and MetaCopyDetection is a development aid.
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
ITEM_PIPELINES = {
    "crawlers.pipelines.ValidatePipeline": 100,
    "crawlers.pipelines.NormalisePipeline": 200,
    "crawlers.pipelines.ClassifyPipeline": 300,
    "crawlers.storage.StorePipeline": 900,
}
HTTPERROR_ALLOWED_CODES: list[int] = []
DOWNLOAD_WARNSIZE = 0
# Scrapy starts this many asyncio workers per response to process its output; the default
# (100) costs more than parsing a page.  The pipelines are synchronous (the store writer
# batches), so one worker per response does the same work with the fewest tasks.
CONCURRENT_ITEMS = 1
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.ScrapyPriorityQueue"
# Depth-first keeps the queue (and memory) small on platforms with many category pages.
DEPTH_PRIORITY = 0


def project_settings() -> dict[str, Any]:
    """This module's upper-case names, as a dict for CrawlerProcess."""
    return {k: v for k, v in globals().items() if k.isupper()}


def _merge(values: dict[str, Any], extra: dict[str, Any]) -> None:
    """*extra* into *values*, component tables (``EXTENSIONS``, …) joined, not replaced: a
    shared crawl's table of extensions replaced the one holding the end-of-crawl check
    (``crawlers.removals``, which keeps a shared crawl's workers alive too)."""
    for key, value in extra.items():
        current = values.get(key)
        values[key] = {**current, **value} if isinstance(current, dict) and \
            isinstance(value, dict) else value


def apply_profile(target: BaseSettings, profile: Profile, settings: Settings,
                  job: str) -> None:
    """Set the per-platform Scrapy settings from *profile* (priority "spider")."""
    pol, lim = profile.politeness, profile.limits
    values: dict[str, Any] = {
        "CONCURRENT_REQUESTS": pol.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": pol.domain_concurrency or pol.concurrency,
        "DOWNLOAD_DELAY": pol.delay,
        "ROBOTSTXT_OBEY": pol.robots_txt,
        "AUTOTHROTTLE_ENABLED": pol.autothrottle,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": max(1.0, pol.concurrency / 2),
        "AUTOTHROTTLE_START_DELAY": max(pol.delay, pol.start_delay),
        "AUTOTHROTTLE_MAX_DELAY": max(pol.delay, pol.max_delay),
        "RETRY_TIMES": pol.retries,
        "SPOTCHECK_MAX_RETRY_AFTER": pol.max_retry_after,
        "DOWNLOAD_MAXSIZE": lim.max_page_bytes,
        "DOWNLOAD_TIMEOUT": lim.timeout,
        "DEPTH_LIMIT": lim.max_depth,
        # Bounds (crawlers.bounds.CrawlBounds closes the crawl, naming the bound).
        "SPOTCHECK_MAX_PAGES": lim.max_pages,
        "SPOTCHECK_MAX_DURATION": lim.max_duration,
    }
    # The end of a crawl: health check and removal confirmation (crawlers.removals), and
    # the page and time bounds (crawlers.bounds, a downloader middleware).
    values["EXTENSIONS"] = {"crawlers.removals.RemovalConfirmation": 20}
    # Every spider middleware with an output method wraps each object a callback yields in
    # one more asynchronous generator step (a fifth of a static crawl's reactor time went
    # to that chain).  The platform spider marks its start requests and sets the Referer
    # header itself, with Scrapy's own referrer policies (PlatformSpider.referred).
    spider_mws: dict[str, Any] = {"scrapy.spidermiddlewares.start.StartSpiderMiddleware": None,
                                  "scrapy.spidermiddlewares.referer.RefererMiddleware": None}
    if not lim.max_depth:
        # Without a depth limit the depth middleware only counts; DEPTH_PRIORITY is 0, so it
        # does not order anything either.
        spider_mws["scrapy.spidermiddlewares.depth.DepthMiddleware"] = None
    values["SPIDER_MIDDLEWARES"] = spider_mws
    if profile.browser.enabled:
        from crawlers.browser import browser_settings

        _merge(values, browser_settings(profile, settings))
    if lim.max_pages or lim.max_duration:
        # After every middleware that may answer or drop a request (the browser's page
        # pool, at 950, only lends a page): a page is counted where it is spent.
        _merge(values, {"DOWNLOADER_MIDDLEWARES": {"crawlers.bounds.CrawlBounds": 940}})
    if settings.crawl_photos:
        # Before the store stage: the writer links the photos in the listing's own batch.
        values["ITEM_PIPELINES"] = {"crawlers.photos.PhotosPipeline": 800}
        values["SPOTCHECK_PHOTOS"] = True
        values["SPOTCHECK_ARTIFACTS"] = str(settings.artifacts_dir)
    if settings.redis_url:
        from crawlers.distributed import redis_settings

        _merge(values, redis_settings(settings.redis_url, job))
    for key, value in values.items():
        if key in {"DOWNLOADER_MIDDLEWARES", "DOWNLOAD_HANDLERS", "EXTENSIONS",
                   "SPIDER_MIDDLEWARES", "ITEM_PIPELINES"}:
            current = dict(target.getdict(key))
            current.update(value)
            target.set(key, current, priority="spider")
        else:
            target.set(key, value, priority="spider")
