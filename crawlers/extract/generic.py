"""The generic extractor's public API: one HTML page in, what it is and what it shows out.

    from crawlers.extract.generic import read_page
    page = read_page(html_or_bytes, url, content_type=None)
    page.kind            # "product" | "listing" | "seller" | "other"
    page.fields          # title, price, list_price, currency, brand, sku, mpn, gtin,
                         # availability, seller_name, seller_url, category, breadcrumbs,
                         # image_urls, product_id, external_id
    page.sources         # the source of each field: "jsonld", "microdata", "og", "rdfa",
                         # "dom:h1", "dom:price", "dom:spec-table", "url", ...
    page.product_links   # a listing page's card links (crawl these first)
    page.links           # every link of the page (a/@href, rel=next), as written

The page is parsed once (lxml, or the tree the caller already has: Scrapy's selector root);
structured data is read only for the syntaxes the page contains; links come from the same
tree.  The result is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from crawlers.extract.kinds import classify, product_cards
from crawlers.extract.markup import read_markup
from crawlers.extract.reconcile import main_product, reconcile, similar
from crawlers.extract.scan import PageScan, scan_page
from crawlers.extract.text import decode_html
from crawlers.extract.visible import read_visible

#: The raw markup product kept with a listing (bounded).
RAW_LIMIT = 32_000


@dataclass
class GenericPage:
    """What a page is and shows (see the module docstring)."""

    kind: str
    confidence: float
    reasons: list[str]
    fields: dict[str, Any]
    sources: dict[str, str]
    syntaxes: list[str]
    product: dict[str, Any] | None = None
    product_links: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    canonical: str | None = None
    seller_link: str | None = None
    heading: str | None = None
    locale: str = ""
    #: The page's rel=next links (also in ``links``), as written.
    next_links: list[str] = field(default_factory=list)
    #: Whether ``product`` was cut to its main keys (larger than RAW_LIMIT).
    product_truncated: bool = False

    @property
    def price(self) -> Decimal | None:
        value = self.fields.get("price")
        return value if isinstance(value, Decimal) else None


#: lxml's own HTML parser: lxml.html's element classes are looked up in Python for every
#: element touched (a third of a walk over a large page).
_PARSER = etree.HTMLParser(remove_comments=False)
_PARSER_UTF8 = etree.HTMLParser(encoding="utf-8")


def parse_tree(html: str) -> etree._Element:
    """The lxml tree of *html* (an XML declaration with an encoding is tolerated)."""
    if not html or html.isspace():  # (strip() copied the whole page to find out)
        html = "<html><body></body></html>"
    try:
        tree = etree.fromstring(html, _PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported"
        tree = etree.fromstring(html.encode("utf-8"), _PARSER_UTF8)
    except etree.ParserError:
        tree = None
    if tree is None:
        tree = etree.fromstring("<html><body></body></html>", _PARSER)
    return tree


def page_locale(tree: etree._Element, content_language: str | None = None,
                scan: PageScan | None = None) -> str:
    """The page's language and region (``de-DE``, ``zh-CN``, ``ja``): ``<html lang>``,
    ``og:locale``, ``Content-Language``."""
    root = tree.getroottree().getroot()
    lang = root.get("lang") or root.get("xml:lang") or ""
    if not lang:
        for meta in (scan.metas if scan is not None else root.iter("meta")):
            if (meta.get("property") or "").lower() == "og:locale" or \
                    (meta.get("http-equiv") or "").lower() == "content-language":
                lang = meta.get("content") or ""
                break
    lang = lang or content_language or ""
    return lang.strip().replace("_", "-").split(",")[0][:16]


def read_page(html: str | bytes, url: str, *, content_type: str | None = None,
              tree: etree._Element | None = None, hint: str | None = None,
              content_language: str | None = None) -> GenericPage:
    """What the page at *url* is and shows.  *html*: its text, or its body bytes (decoded
    from BOM, *content_type* and ``<meta>``); *tree*: its lxml tree when the caller parsed
    it already; *hint*: the kind a profile's URL rule expects, if any."""
    if isinstance(html, bytes):
        html, _ = decode_html(html, content_type)
    if tree is None:
        tree = parse_tree(html)
    scan = scan_page(tree, microdata="itemscope" in html)
    locale = page_locale(tree, content_language, scan)
    markup = read_markup(tree, html, url, scan)
    visible = read_visible(tree, html, scan)
    main = main_product(markup, visible.heading, url)
    fields, sources, product = reconcile(markup, visible, url, html, locale, main)
    others = main[2]
    name = product.get("name") if product is not None else None
    if isinstance(name, str) and visible.heading and similar(name, visible.heading):
        # A product page by its markup and heading whatever else it shows: no grid of
        # cards to look for (a tenth of the extraction's time on a large page).
        cards: list[str] = []
        card_ids: set[etree._Element] = set()
    else:
        cards, card_ids = product_cards(visible)
    kind = classify(markup, visible, product, others, fields, cards, card_ids,
                    visible.text_sample, hint)
    # rel=next first (the next page), then the page's links: two queries, no union to sort.
    next_links = scan.next_links
    links = next_links + scan.hrefs
    canonical = scan.canonical
    seller_link = fields.get("seller_url")
    if not seller_link and kind.kind == "product":
        seller_link = visible.seller_link
    product_links = cards + [u for u in markup.item_urls if u not in cards]
    bounded = _bounded(product)
    return GenericPage(
        kind=kind.kind, confidence=kind.confidence, reasons=kind.reasons, fields=fields,
        sources=sources, syntaxes=markup.syntaxes, product=bounded,
        product_links=product_links if kind.kind != "product" else [], links=links,
        canonical=str(canonical) if canonical else None,
        seller_link=str(seller_link) if seller_link else None, heading=visible.heading,
        locale=locale, next_links=next_links, product_truncated=bounded is not product and product is not None)


def _bounded(product: dict[str, Any] | None) -> dict[str, Any] | None:
    if product is None:
        return None
    import json

    try:
        text = json.dumps(product, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return None
    if len(text) <= RAW_LIMIT:
        return product
    return {k: v for k, v in product.items() if k in ("@type", "name", "sku", "brand", "offers")
            and len(json.dumps(v, ensure_ascii=False, default=str)) < RAW_LIMIT // 5}
