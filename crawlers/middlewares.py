"""Downloader middlewares that make a crawl polite and robust.

- :class:`BackoffRetryMiddleware`: retries 5xx answers and timeouts with exponential backoff
  (Scrapy's own retry re-sends at once, which hammers a struggling server); a crawl's bound
  (:mod:`crawlers.bounds`) ends the wait, and the retry.
- :class:`RetryAfterMiddleware`: on 429 (and 503 with ``Retry-After``) pauses the whole crawl
  for the time the server asks — the request is retried afterwards, not dropped.
- :class:`MetaRefreshMiddleware`: Scrapy's, without decoding pages that cannot refresh.
- :class:`OffsiteMiddleware`: Scrapy's, deciding once per host.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import random
import re
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware as _Offsite
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as _MetaRefresh
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import HtmlResponse, Response
from twisted.internet import reactor as _reactor

from crawlers.bounds import stopping
from store.models import utcnow

log = logging.getLogger(__name__)
reactor: Any = _reactor


def retry_after_seconds(value: bytes | str | None, default: float = 1.0) -> float:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return default
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - utcnow()).total_seconds())


class BackoffRetryMiddleware:
    """Retry 5xx and transport errors after ``base * 2**attempt`` seconds (with jitter)."""

    RETRY_CODES = frozenset({500, 502, 503, 504, 522, 524, 408})

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.base = crawler.settings.getfloat("SPOTCHECK_BACKOFF_BASE", 0.25)
        self.cap = crawler.settings.getfloat("SPOTCHECK_BACKOFF_MAX", 8.0)
        self.max_retry_after = crawler.settings.getfloat("SPOTCHECK_MAX_RETRY_AFTER", 30.0)
        self.times = crawler.settings.getint("RETRY_TIMES", 3)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    async def _retry(self, request: Request, reason: str, wait: float | None = None
                     ) -> Request | None:
        attempt = int(request.meta.get("retry_times", 0))
        assert self.crawler.spider is not None
        retry = get_retry_request(request, spider=self.crawler.spider, reason=reason,
                                  max_retry_times=request.meta.get("max_retry_times",
                                                                   self.times))
        if retry is None:
            return None
        if wait is None:
            wait = min(self.cap, self.base * 2 ** attempt) * (0.5 + random.random())
        try:
            # The wait ends early when a bound stops the crawl: no retry is then sent.
            await asyncio.wait_for(stopping(self.crawler).wait(),
                                   min(wait, self.max_retry_after))
        except TimeoutError:
            return retry
        return None

    async def process_response(self, request: Request, response: Response
                               ) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.RETRY_CODES:
            return response
        wait = (retry_after_seconds(response.headers.get("Retry-After"))
                if response.headers.get("Retry-After") else None)
        return await self._retry(request, f"http_{response.status}", wait) or response

    async def process_exception(self, request: Request, exception: Exception
                                ) -> Request | None:
        if request.meta.get("dont_retry") or not _transient(exception):
            return None
        return await self._retry(request, type(exception).__name__)


def _transient(exc: Exception) -> bool:
    from scrapy.core.downloader.handlers.http11 import TunnelError
    from twisted.internet import error
    from twisted.web.client import ResponseFailed

    if type(exc).__name__ == "TimeoutError":  # Playwright's own, among others
        return True
    return isinstance(exc, error.TimeoutError | error.ConnectionRefusedError
                      | error.ConnectionDone | error.ConnectError | error.ConnectionLost
                      | error.TCPTimedOutError | error.DNSLookupError | ResponseFailed
                      | TunnelError | TimeoutError | OSError)


class RetryAfterMiddleware:
    """Honour 429 ``Retry-After``: pause the engine, then re-send the request."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("SPOTCHECK_MAX_RETRY_AFTER", 30.0)
        self.max_times = crawler.settings.getint("SPOTCHECK_MAX_429_RETRIES", 20)
        self._paused_until = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status != 429:
            return response
        times = int(request.meta.get("spotcheck_429", 0))
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("spotcheck/throttled_429")
        if times >= self.max_times:
            return response
        wait = min(retry_after_seconds(response.headers.get("Retry-After")), self.max_wait)
        self._pause(wait)
        retry = request.replace(dont_filter=True)
        retry.meta["spotcheck_429"] = times + 1
        return retry

    def _pause(self, wait: float) -> None:
        engine = self.crawler.engine
        if engine is None or wait <= 0:
            return
        now = float(reactor.seconds())
        until = now + wait
        if until <= self._paused_until:
            return
        first = self._paused_until <= now
        self._paused_until = until
        if first:
            engine.pause()
            log.info("429 from the platform: pausing the crawl %.1fs (Retry-After)", wait)
        reactor.callLater(wait, self._maybe_unpause)

    def _maybe_unpause(self) -> None:
        engine = self.crawler.engine
        if engine is not None and reactor.seconds() >= self._paused_until - 0.01:
            engine.unpause()
            slot = getattr(engine, "_slot", None)  # wake the engine now, not at its heartbeat
            if slot is not None:
                slot.nextcall.schedule()


#: Encodings in which a character of the decoded text that is an ASCII letter comes from that
#: very byte, and no byte is dropped in decoding (ISO-2022-JP, HZ and UTF-7 drop their shift
#: sequences; UTF-16 and UTF-32 write ASCII in two or four bytes).
_ASCII_TRANSPARENT = frozenset({
    "utf-8", "ascii", "iso8859-1", "iso8859-2", "iso8859-5", "iso8859-7", "iso8859-9",
    "iso8859-15", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256",
    "cp1257", "cp1258", "gbk", "gb2312", "gb18030", "big5", "big5hkscs", "cp950", "euc_jp",
    "euc_kr", "shift_jis", "cp932", "cp949", "koi8-r", "koi8-u"})
#: Scrapy looks for the refresh in a page's first 4,096 characters: at most four bytes each.
_REFRESH_SCAN_BYTES = 4 * 4096 + 4


def _cannot_refresh(response: HtmlResponse) -> bool:
    """Whether the page surely has no ``<meta http-equiv=refresh>`` where Scrapy looks.

    Scrapy decodes the whole page to look at its first 4,096 characters (the crawl itself
    never needs the text: lxml parses the page's bytes).  A refresh needs the word
    "refresh" in those characters, and in the encodings above that word is then in the bytes.
    """
    if b"refresh" in response.body[:_REFRESH_SCAN_BYTES].lower():
        return False
    try:
        name = codecs.lookup(response.encoding).name
    except LookupError:
        return False
    return name in _ASCII_TRANSPARENT


class MetaRefreshMiddleware(_MetaRefresh):
    """Scrapy's meta-refresh redirects, asked only of pages that could have one."""

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Request | Response:
        if isinstance(response, HtmlResponse) and _cannot_refresh(response):
            return response
        return super().process_response(request, response)


#: A URL's scheme and authority, as ``urlsplit`` finds them ("scheme://" then up to the first
#: "/", "?" or "#"); a URL this does not match is decided the long way.
_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
#: Hosts remembered per crawl (a platform has a few; a hostile page could name many).
_MAX_HOSTS = 4096


class OffsiteMiddleware(_Offsite):
    """Scrapy's offsite filter, deciding once per host.

    Scrapy asks about every request twice (when it is scheduled and when it is downloaded),
    each time parsing the whole URL for its host name and matching the domains' pattern;
    whether a request is on site depends on its URL's authority alone, which is remembered.
    """

    def __init__(self, stats: Any) -> None:
        super().__init__(stats)
        self._hosts: dict[str, bool] = {}

    def get_host_regex(self, spider: Any) -> re.Pattern[str]:
        """Scrapy's (a domain and all its subdomains), or, for a spider whose profile keeps
        to its hosts (``offsite_subdomains`` false), those hosts and their ``www.`` twins."""
        if getattr(spider, "offsite_subdomains", True):
            return super().get_host_regex(spider)
        hosts = {d[4:] if d.startswith("www.") else d
                 for d in getattr(spider, "allowed_domains", None) or []}
        if not hosts:
            return super().get_host_regex(spider)
        names = "|".join(re.escape(h.lower()) for h in sorted(hosts))
        return re.compile(rf"^(www\.)?({names})$")

    def should_follow(self, request: Request, spider: Any) -> bool:
        domains = list(getattr(spider, "allowed_domains", None) or [])
        if domains != self._allowed_domains:
            self._hosts.clear()
        match = _AUTHORITY.match(request.url)
        if match is None:
            return super().should_follow(request, spider)
        authority = match.group(1)
        known = self._hosts.get(authority)
        if known is None:
            known = super().should_follow(request, spider)
            if len(self._hosts) < _MAX_HOSTS:
                self._hosts[authority] = known
        return known
