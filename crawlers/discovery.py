"""Finding a shop's pages besides its links: robots.txt ``Sitemap:`` lines, sitemap indexes
and (gzipped) sitemaps, read with Scrapy's own sitemap utilities.

Why: a shop's navigation often reaches only part of its catalogue (faceted categories, "load
more" buttons, products linked from nowhere but search), while its sitemap lists every
product it wants found.  These are pure functions of a response; the spider turns what they
return into requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from scrapy.http import Response, TextResponse, XmlResponse
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

#: Largest sitemap (bytes, after decompression) read: the protocol's own limit is 50 MB.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
#: Entries taken from one sitemap (the protocol's limit is 50,000).
MAX_SITEMAP_URLS = 50_000

#: Request priorities of discovered pages (Scrapy fetches higher first): a product linked
#: from a listing page before the next listing page, pages before sitemaps' long tails.
PRIORITY_PRODUCT = 20
PRIORITY_SELLER = 15
PRIORITY_NEXT_PAGE = 10
PRIORITY_SITEMAP = 5
PRIORITY_LINK = 0


def robots_urls(start_urls: list[str]) -> list[str]:
    """``/robots.txt`` of each site the crawl starts on (once per origin)."""
    seen: dict[str, None] = {}
    for url in start_urls:
        parts = urlsplit(url)
        if parts.scheme in {"http", "https"} and parts.netloc:
            seen.setdefault(f"{parts.scheme}://{parts.netloc}/robots.txt")
    return list(seen)


def sitemaps_from_robots(response: Response) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt response; the site's ``/sitemap.xml`` when it
    names none (or has no robots.txt)."""
    found: list[str] = []
    if response.status == 200 and isinstance(response, TextResponse):
        found = list(sitemap_urls_from_robots(response.text, base_url=response.url))
    return found or [urljoin(response.url, "/sitemap.xml")]


@dataclass
class SitemapContent:
    """What one sitemap lists: more sitemaps (an index) or pages (a urlset)."""

    sitemaps: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)


def sitemap_body(response: Response, max_size: int = MAX_SITEMAP_BYTES) -> bytes | None:
    """The XML of a sitemap response (gunzipped when it is a ``.gz`` file), or None when it
    is not a sitemap (an HTML error page, say) or is larger than *max_size*."""
    if response.status != 200:
        return None
    if gzip_magic_number(response):
        try:
            return gunzip(response.body, max_size=max_size)
        except _DecompressionMaxSizeExceeded:
            return None
    if isinstance(response, XmlResponse) or response.body.lstrip()[:5] in {b"<?xml", b"<urls",
                                                                            b"<site"}:
        return response.body
    return None


def read_sitemap(response: Response, max_urls: int = MAX_SITEMAP_URLS) -> SitemapContent | None:
    """The sitemaps or pages *response* lists (absolute URLs), None when it is no sitemap."""
    body = sitemap_body(response)
    if not body:
        return None
    try:
        sitemap = Sitemap(body)
    except (StopIteration, SyntaxError, ValueError):
        return None
    content = SitemapContent()
    target = (content.sitemaps if sitemap.type == "sitemapindex"
              else content.pages if sitemap.type == "urlset" else None)
    if target is None:
        return None
    for entry in sitemap:
        loc = entry.get("loc")
        if loc:
            target.append(urljoin(response.url, loc))
            if len(target) >= max_urls:
                break
    return content
