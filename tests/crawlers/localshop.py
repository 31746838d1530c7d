"""A small shop served on 127.0.0.1 for discovery, identity, politeness and bounds tests,
and a plain one of 60 pages (:func:`serve_pages`) for counting what a bounded crawl fetched.

What real shops do that the sandbox does not: a robots.txt naming a gzipped sitemap index,
products reachable only through the sitemap, product URLs with query-string ids
(``int.php?pid=…``, ``product?id=…``), percent-encoded and raw non-ASCII paths, tracking
parameters on every link, canonical links (to the same site, to another one, and to the
folder above the page), and many
broken links.  Pages are schema.org JSON-LD product pages, as a ``structured-data`` profile
expects.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tests.conftest import SiteHandler, serve_http

CUP = "杯子-7.html"
CUP_ESCAPED = quote(CUP)

#: path (with query, as the server sees it) -> (product name, canonical href or None).
PRODUCTS: dict[str, tuple[str, str | None]] = {
    "/int.php?pid=428514": ("Thermos 保温杯 500ml", None),
    f"/goods/{CUP_ESCAPED}": ("Glass cup 玻璃杯", None),
    "/product?id=77": ("Rice cooker 电饭煲", None),
    "/product?id=5": ("Electric kettle 电水壶", None),
    "/p/canon-x": ("Toaster 烤面包机", "/product?id=9"),
    "/p/mirror": ("Blender 搅拌机", "https://elsewhere.test/blender"),
    "/product.php?id=6": ("Desk lamp 台灯", None),
    # Deal pages whose template names the folder as canonical (a real buying agent's do).
    "/deal/view?item=A7": ("Rice bowl 饭碗", "./"),
    "/deal/view?item=B8": ("Tea pot 茶壶", "./"),
}
#: The external ids a crawl must store for PRODUCTS (path and identifying query).
EXPECTED_IDS = {"/int.php?pid=428514", "/goods/" + CUP, "/product?id=77", "/product?id=5",
                "/product?id=9", "/p/mirror", "/product.php?id=6",
                "/deal/view?item=A7", "/deal/view?item=B8"}
#: Products reachable only through the sitemap.
SITEMAP_ONLY = {"/int.php?pid=428514", "/product?id=77"}
BROKEN_LINKS = 60


def _html(body: str, head: str = "") -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'>{head}</head>"
            f"<body>{body}</body></html>").encode()


def _product_page(name: str, canonical: str | None) -> bytes:
    data = {"@context": "https://schema.org", "@type": "Product", "name": name,
            "brand": {"@type": "Brand", "name": "Acme"},
            "offers": {"@type": "Offer", "price": "19.90", "priceCurrency": "CNY"}}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    if canonical:
        head += f'<link rel="canonical" href="{canonical}">'
    return _html(f"<h1>{name}</h1><a href='/'>home</a>", head)


def _urlset(base: str, paths: list[str]) -> bytes:
    entries = "".join(f"<url><loc>{base}{p.replace('&', '&amp;')}</loc></url>" for p in paths)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">{entries}</urlset>').encode()


def _index(base: str, paths: list[str]) -> bytes:
    entries = "".join(f"<sitemap><loc>{base}{p}</loc></sitemap>" for p in paths)
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org'
            f'/schemas/sitemap/0.9">{entries}</sitemapindex>').encode()


class ShopHandler(SiteHandler):
    """Serves the shop; ``delay`` seconds per page, ``hits`` lists the paths asked for
    (class attributes, set per served shop by :func:`serve_shop`)."""

    delay = 0.0
    hits: list[str] = []

    server: Any

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.delay:
            time.sleep(self.delay)
        base = f"http://{self.headers['Host']}"
        found = self.page(base, self.path)
        if found is None:
            self.send(404, _html("<h1>404 not found</h1>"))
        else:
            ctype, body = found
            self.send(200, body, ctype)

    def page(self, base: str, path: str) -> tuple[str, bytes] | None:
        if path == "/robots.txt":
            # The lamp's page is closed to robots: crawled unless a profile obeys robots.txt.
            return "text/plain", (f"User-agent: *\nDisallow: /product.php\nAllow: /\n\n"
                                  f"Sitemap: {base}/sitemap_index.xml.gz\n").encode()
        if path == "/sitemap_index.xml.gz":
            return "application/x-gzip", gzip.compress(
                _index(base, ["/sitemaps/products.xml.gz", "/sitemaps/more.xml"]))
        if path == "/sitemaps/products.xml.gz":
            return "application/x-gzip", gzip.compress(_urlset(base, [
                "/int.php?pid=428514&utm_source=sitemap", f"/goods/{CUP_ESCAPED}"]))
        if path == "/sitemaps/more.xml":
            return "application/xml", _urlset(base, ["/product?id=77&spm=a2g0o.home.1"])
        if path == "/":
            return "text/html", _html(
                "<a href='/category/kitchen?utm_source=nav'>Kitchen</a>"
                "<a href='/product?id=5&utm_source=home&fbclid=IwAR0'>Kettle</a>"
                f"<a href='/goods/{CUP}'>Cup</a>")
        if path == "/broken-home":
            links = "".join(f"<a href='/gone/{n}'>gone {n}</a>" for n in range(BROKEN_LINKS))
            return "text/html", _html(links + "<a href='/product?id=5'>Kettle</a>")
        if path.startswith("/category/kitchen"):
            if "page=2" in path:
                return "text/html", _html("<a href='/product.php?id=6&ref=cat'>Lamp</a>"
                                          "<a href='/deal/view?item=A7'>Bowl</a>"
                                          "<a href='/deal/view?item=B8'>Pot</a>")
            return "text/html", _html(
                "<a href='/product?id=5&ref=cat'>Kettle</a><a href='/p/canon-x'>Toaster</a>"
                "<a href='/p/mirror?gclid=x'>Blender</a>",
                '<link rel="next" href="/category/kitchen?page=2">')
        if path in PRODUCTS:
            return "text/html", _product_page(*PRODUCTS[path])
        if path == "/product?id=9":  # the toaster's canonical page
            return "text/html", _product_page(*PRODUCTS["/p/canon-x"])
        return None


@dataclass
class Shop:
    """A served shop: its base URL and the paths it was asked for, in order."""

    url: str
    hits: list[str]


@contextmanager
def serve_shop(delay: float = 0.0) -> Iterator[Shop]:
    """The shop on a free port of 127.0.0.1 (``tests.conftest.serve_http``), answering after
    *delay* seconds per page."""
    hits: list[str] = []
    handler = type("Handler", (ShopHandler,), {"delay": delay, "hits": hits})
    with serve_http(handler) as url:
        yield Shop(url, hits)


#: The plain shop's product pages, all linked from its home page (60 pages in all).
PAGES_PRODUCTS = 59


class PagesHandler(SiteHandler):
    """A shop of 60 pages (the home page listing 59 JSON-LD product pages; anything else,
    robots.txt included, a 404), each answered after ``delay`` seconds; ``hits`` counts
    every request the server answered, whatever it was for."""

    delay = 0.0
    #: Whether the product pages answer 503 with ``Retry-After: 20`` (a shop struggling).
    struggling = False
    hits: list[str] = []
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.hits.append(self.path)
        time.sleep(self.delay)
        if self.path == "/":
            links = "".join(f"<li><a href='/item/{n}'>Item {n}</a></li>"
                            for n in range(1, PAGES_PRODUCTS + 1))
            self._send(200, f"<h1>Shop</h1><ul>{links}</ul>")
        elif self.path.startswith("/item/") and self.struggling:
            self.send(503, b"busy", "text/plain", headers={"Retry-After": "20"})
        elif self.path.startswith("/item/"):
            n = self.path.rsplit("/", 1)[1]
            data = {"@context": "https://schema.org", "@type": "Product",
                    "name": f"Kettle model {n}", "sku": f"K-{n}",
                    "brand": {"@type": "Brand", "name": "Acme"},
                    "offers": {"@type": "Offer", "price": "19.90", "priceCurrency": "CNY"}}
            self._send(200, f"<h1>Kettle model {n}</h1>",
                       f'<script type="application/ld+json">{json.dumps(data)}</script>')
        else:
            self._send(404, "<h1>not found</h1>")

    def _send(self, status: int, body: str, head: str = "") -> None:
        page = (f"<!doctype html><html><head><meta charset='utf-8'>{head}</head>"
                f"<body>{body}</body></html>").encode()
        self.send(status, page, "text/html; charset=utf-8")


@contextmanager
def serve_pages(delay: float, struggling: bool = False) -> Iterator[tuple[str, list[str]]]:
    """The plain shop of 60 pages on a free port of 127.0.0.1: (its URL, the paths asked
    for); the bounds tests count what a crawl fetched there."""
    hits: list[str] = []
    handler = type("Handler", (PagesHandler,), {"delay": delay, "hits": hits,
                                               "struggling": struggling,
                                               "lock": threading.Lock()})
    with serve_http(handler) as url:
        yield url, hits
