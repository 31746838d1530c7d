"""One product's fields from its markup and its visible page, with where each came from.

Rules (issue 18): the markup first, the visible page second, reconciled —

* title: the markup's name, unless it carries SEO text or differs from the main heading,
  then the main heading;
* price: the price the page shows next to its heading wins over a different markup price
  when the markup's is the struck/regular one shown beside it; both are kept
  (``price``, ``list_price``);
* currency: the markup's ISO code, else the shown symbol read with the page's language,
  else the currency of the country the page's language, region or address names (never a
  profile's default while the page says where it sells);
* brand, SKU, MPN, GTIN, seller: markup, then label/value pairs of the page (spec tables,
  "SKU: …" lines), the SKU last from the URL's product id when the page repeats it;
* availability: markup, then a stock note or the buy control.

Every field's source is recorded (``jsonld``, ``microdata``, ``og``, ``rdfa``, ``dom:h1``,
``dom:price``, ``dom:spec-table``, ``url`` …) so an inspector sees why a value was taken.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from crawlers.extract import availability as avail
from crawlers.extract.markup import Markup, types_of, walk
from crawlers.extract.money import (
    currency_from_symbol,
    iso_currency,
    markup_amount,
    region_currency,
    url_region,
)
from crawlers.extract.text import clean_text
from crawlers.extract.visible import STATED, Visible

_SEO = re.compile(r"\s[-|–—:]\s*(buy|shop|order|kaufen|acheter|comprar|acquista|купить)\b|"
                  r"\b(buy|shop)\s.+\sonline\b|best price|free (shipping|delivery)|"
                  r"cheap|\bat\s+\w+\.(com|de|co\.uk|fr|cn)\b|【.*】|包邮|正品|价格|報價|"
                  r"最安値|送料無料|최저가|günstig|pas cher|barato", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
_ID_PARAM = re.compile(r"^(id|pid|product_?id|productid|item_?id|itemid|sku|sku_?id|goods_?id|"
                       r"prod_?id|p|variant|code|artno|article)$", re.IGNORECASE)
_PATH_ID = (re.compile(r"/(?:dp|gp/product|product|products|p|item|items|i|goods|sku|pd|ip|"
                       r"artikel|produkt|produit|prodotto|producto|detail)/(?:[^/?#]*/)*?"
                       r"([A-Za-z0-9]*\d[A-Za-z0-9_-]{3,})(?:[/?#.]|$)", re.IGNORECASE),
            re.compile(r"[-_/.](\d{5,}|[A-Z0-9]*\d[A-Z0-9]{5,})(?:\.html?|\.aspx|\.php)?/?$"))


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _text(value: Any, limit: int = 1000) -> str | None:
    value = _first(value)
    if value is None:
        return None
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("@value") or value.get("value"), limit)
    text = clean_text(value, limit)
    return text or None


def similar(a: str, b: str) -> bool:
    """Whether two titles name the same thing (one contains the other, or most words are
    shared)."""
    la, lb = a.lower(), b.lower()
    if la in lb or lb in la:
        return True
    wa, wb = set(_WORD.findall(la)), set(_WORD.findall(lb))
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= 0.6


def main_product(markup: Markup, heading: str | None, url: str
                 ) -> tuple[dict[str, Any] | None, str, int]:
    """(the page's main product node, its syntax, how many other top-level products the
    markup names).  Products nested in another (related, similar, variants) are not
    candidates; one whose URL is the page's or whose name is its heading is preferred."""
    nested: set[int] = set()
    for node, _ in markup.products:
        for sub in walk(node)[1:]:
            if set(types_of(sub)) & {"Product", "ProductGroup", "ProductModel"}:
                nested.add(id(sub))
    path = urlsplit(url).path.rstrip("/")
    best: tuple[int, int] | None = None
    chosen: tuple[dict[str, Any] | None, str] = (None, "")
    tops = [(n, s) for n, s in markup.products if id(n) not in nested]
    for order, (node, syntax) in enumerate(tops):
        score = 0
        node_url = _text(node.get("url")) or _text(_offer(node).get("url"))
        if node_url and path and urlsplit(node_url).path.rstrip("/") == path:
            score += 3
        name = _text(node.get("name"))
        if name and heading and similar(name, heading):
            score += 2
        if node.get("offers") or node.get("hasVariant"):
            score += 1
        if name:
            score += 1
        if best is None or (score, -order) > best:
            best, chosen = (score, -order), (node, syntax)
    distinct = {(_text(n.get("name")) or "") for n, _ in tops}
    return chosen[0], chosen[1], max(0, len(distinct) - 1)


def _offer(node: dict[str, Any]) -> dict[str, Any]:
    offers = node.get("offers")
    if offers is None and isinstance(node.get("hasVariant"), list):
        for variant in node["hasVariant"]:
            if isinstance(variant, dict) and variant.get("offers"):
                offers = variant["offers"]
                break
    if isinstance(offers, list):
        priced = [o for o in offers if isinstance(o, dict) and (o.get("price") or o.get(
            "lowPrice") or o.get("priceSpecification"))]
        offers = priced[0] if priced else (offers[0] if offers else None)
    if isinstance(offers, dict) and isinstance(offers.get("offers"), (list, dict)) and \
            not offers.get("price"):
        inner = _offer(offers)
        return {**offers, **inner} if inner else offers
    return offers if isinstance(offers, dict) else {}


def _markup_availability(node: dict[str, Any], offer: dict[str, Any]) -> str | None:
    """The product's availability by its offers: in stock when any offer (a size, a
    colour, a seller) is, else what the main offer says."""
    offers: list[Any] = []
    for holder in [node, *(v for v in _as_list(node.get("hasVariant")) if isinstance(v, dict))]:
        for o in _as_list(holder.get("offers")):
            if isinstance(o, dict):
                offers.append(o)
                offers.extend(x for x in _as_list(o.get("offers")) if isinstance(x, dict))
    values = [avail.from_markup(o.get("availability")) for o in offers[:200]]
    if avail.IN_STOCK in values:
        return avail.IN_STOCK
    return avail.from_markup(offer.get("availability")) if offer else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _markup_price(offer: dict[str, Any]) -> Any:
    price = offer.get("price")
    if price in (None, "", 0, "0"):
        spec = _first(offer.get("priceSpecification"))
        if isinstance(spec, dict):
            price = spec.get("price")
    if price in (None, ""):
        price = offer.get("lowPrice") or offer.get("highPrice")
    return _first(price)


def code(value: str | None) -> str | None:
    """An identifier as a code: its first token when words follow it ("TE502955-1293415
    Housse de canapé" — a microdata property read from an element's whole text)."""
    if not value:
        return None
    value = value.strip()
    if " " in value and len(value.split()) > 2:
        first = value.split()[0]
        return first if any(c.isdigit() for c in first) and len(first) >= 3 else None
    return value if len(value) <= 64 else None


def shown_code(visible: Visible) -> str | None:
    """The code the page labels as the product's: a spec table's value cell whole ("Kód
    produktu" | "GARNI 570 EASY II"), an inline "SKU: …" line by its first token when words
    follow it."""
    value = visible.pairs.get("sku")
    if value and visible.inline.get("sku") != value and len(value) <= 40 and (
            any(c.isdigit() for c in value) or len(value.split()) == 1):
        # Words without a digit after a "Référence" label are a category, not a code.
        return value.strip()
    return code(value)


def url_product_id(url: str) -> str | None:
    """The product id a URL carries (``?pid=428514``, ``/dp/B07FW264WL``, ``-848068924``)."""
    parts = urlsplit(url)
    for key, value in parse_qsl(parts.query):
        if _ID_PARAM.match(key) and re.fullmatch(r"[\w-]{3,40}", value) and \
                any(c.isdigit() for c in value):
            return value
    for pattern in _PATH_ID:
        m = pattern.search(parts.path)
        if m:
            return m.group(1)
    return None


class _Sourced:
    """The fields found so far and where each came from.  :meth:`put` keeps the first value
    offered for a field: the order of the calls is the order of trust, so each section
    below offers its sources best first."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.sources: dict[str, str] = {}

    def put(self, name: str, value: Any, source: str) -> None:
        if value not in (None, "", []) and name not in self.fields:
            self.fields[name] = value
            self.sources[name] = source

    def force(self, name: str, value: Any, source: str) -> None:
        """Overrule a value already put (two sources agreeing against a third)."""
        self.fields[name] = value
        self.sources[name] = source


def reconcile(markup: Markup, visible: Visible, url: str, html: str, locale: str,
              main: tuple[dict[str, Any] | None, str, int] | None = None
              ) -> tuple[dict[str, Any], dict[str, str], dict[str, Any] | None]:
    """(fields, the source of each, the main markup product node) of a page (*main*: what
    main_product says of it, when the caller asked already).

    One section per group of fields, in order: the price must be settled before the
    currency and availability, which look at whether a price was found."""
    product, syntax, _others = main if main is not None else \
        main_product(markup, visible.heading, url)
    node = product or {}
    offer = _offer(node)
    f = _Sourced()
    _title(f, node, visible, markup.og, syntax)
    _price(f, offer, visible, markup.og, locale, syntax)
    _currency(f, offer, visible, markup.og, url, locale, syntax)
    _identifiers(f, node, offer, visible, markup.og, url, html, syntax)
    _availability(f, product, node, offer, visible, markup.og, syntax)
    _the_rest(f, node, markup, visible, syntax)
    return f.fields, f.sources, product


def _title(f: _Sourced, node: dict[str, Any], visible: Visible, og: dict[str, str],
           syntax: str) -> None:
    """The markup's name unless it reads as SEO text or differs from the heading (then
    the heading); a heading that is the site's name is no title."""
    name = _text(node.get("name"))
    heading = visible.heading
    site = og.get("og:site_name", "")
    if heading and (len(heading) < 3 or (site and heading.lower() == site.lower())):
        heading = None
    if name and heading and ((_SEO.search(name) and not _SEO.search(heading))
                             or not similar(name, heading)):
        f.put("title", heading, "dom:h1")
    f.put("title", name, syntax)
    og_title = clean_text(og.get("og:title"), 500) or None
    if og_title and heading and not similar(og_title, heading):
        og_title = None
    f.put("title", heading, "dom:h1")
    f.put("title", og_title, "og")
    f.put("title", visible.doc_title, "dom:title")


def _price(f: _Sourced, offer: dict[str, Any], visible: Visible, og: dict[str, str],
           locale: str, syntax: str) -> None:
    """The markup's price unless the page shows another one that other sources back (an
    OpenGraph amount equal to the shown one; the markup's being the struck-out list price)."""
    m_price = markup_amount(_markup_price(offer), locale) if offer else None
    m_source = syntax
    if m_price is None:
        m_price = markup_amount(og.get("product:price:amount") or og.get("og:price:amount"),
                                locale)
        m_source = "og"
    v_price = visible.price
    og_price = markup_amount(og.get("product:price:amount") or og.get("og:price:amount"),
                             locale)
    if m_price is not None and m_price != v_price and og_price is not None and \
            og_price != m_price and og_price == v_price:
        # Two sources against one: OpenGraph says what the page shows, the structured
        # product another amount (an estimate, a stale or a first variant's price).
        f.put("price", og_price, "og")
    if m_price is not None and v_price is not None and m_price != v_price and (
            visible.old_price == m_price or (m_price > v_price and m_price in visible.prices
                                             and (visible.old_price is not None
                                                  or visible.discounted))):
        f.put("price", v_price, "dom:price")
        f.put("list_price", m_price, m_source)
    f.put("price", m_price, m_source)
    f.put("price", v_price, "dom:price")
    if visible.old_price is not None and f.fields.get("price") is not None and \
            visible.old_price > f.fields["price"]:
        f.put("list_price", visible.old_price, "dom:old-price")


def _currency(f: _Sourced, offer: dict[str, Any], visible: Visible, og: dict[str, str],
              url: str, locale: str, syntax: str) -> None:
    """The markup's or OpenGraph's currency; failing both, and only when there is a price,
    the shown symbol read with the page's language and region, then the region's currency."""
    f.put("currency", iso_currency(_first(offer.get("priceCurrency"))) if offer else None,
          syntax)
    spec = _first(offer.get("priceSpecification")) if offer else None
    if isinstance(spec, dict):
        f.put("currency", iso_currency(spec.get("priceCurrency")), syntax)
    f.put("currency", iso_currency(og.get("product:price:currency")
                                   or og.get("og:price:currency")), "og")
    if f.fields.get("price") is not None:
        region = url_region(url)
        f.put("currency", currency_from_symbol(visible.price_symbol, locale, region),
              "dom:price+lang")
        f.put("currency", region_currency(locale, region), "lang+region")


def _identifiers(f: _Sourced, node: dict[str, Any], offer: dict[str, Any], visible: Visible,
                 og: dict[str, str], url: str, html: str, syntax: str) -> None:
    """Brand, SKU, MPN, GTIN, the URL's product id and the seller.  The page's labelled SKU
    beats a markup SKU the page never shows; a URL id stands in for a SKU only when the page
    repeats it."""
    f.put("brand", _text(node.get("brand")) or _text(node.get("manufacturer")), syntax)
    f.put("brand", clean_text(og.get("product:brand"), 200) or None, "og")
    f.put("brand", visible.pairs.get("brand"), "dom:spec-table")
    shown_sku = shown_code(visible)
    for key in ("sku", "productID"):
        m_sku = code(_text(node.get(key)) or _text(offer.get(key)))
        if m_sku and shown_sku and m_sku != shown_sku and m_sku not in visible.text:
            # The page labels another code as its SKU and never shows the markup's.
            f.put("sku", shown_sku, "dom:spec-table")
        f.put("sku", m_sku, syntax)
    f.put("sku", clean_text(og.get("product:retailer_item_id") or og.get("product:sku")
                            or og.get("og:sku"), 100) or None, "og")
    f.put("sku", shown_sku, "dom:spec-table")
    f.put("mpn", _text(node.get("mpn")) or _text(node.get("model")), syntax)
    f.put("mpn", visible.pairs.get("mpn"), "dom:spec-table")
    for key in ("gtin13", "gtin", "gtin12", "gtin14", "gtin8", "isbn"):
        f.put("gtin", _text(node.get(key)) or _text(offer.get(key)), syntax)
    f.put("gtin", visible.pairs.get("gtin"), "dom:spec-table")
    pid = url_product_id(url)
    if pid:
        f.put("product_id", pid, "url")
        if "sku" not in f.fields and html.count(pid) >= 2:
            f.put("sku", pid, "url")
    seller = offer.get("seller") if offer else None
    f.put("seller_name", _text(seller), syntax)
    if isinstance(seller, dict):
        f.put("seller_url", _text(seller.get("url")), syntax)
        f.put("seller_external_id", _text(seller.get("identifier") or seller.get("@id")),
              syntax)
    f.put("seller_name", visible.pairs.get("seller"), "dom:spec-table")


def _availability(f: _Sourced, product: dict[str, Any] | None, node: dict[str, Any],
                  offer: dict[str, Any], visible: Visible, og: dict[str, str],
                  syntax: str) -> None:
    """The markup's availability, overruled where the page's stock note and buy control
    agree against it (markup is cached longer than the page); a shown price with nothing
    said of stock means in stock."""
    m_avail = _markup_availability(node, offer)
    f.put("availability", m_avail, syntax)
    f.put("availability", avail.from_markup(og.get("product:availability")
                                            or og.get("og:availability")), "og")
    v_avail = visible.availability
    gone = v_avail in (avail.OUT_OF_STOCK, avail.DISCONTINUED)
    if gone and not visible.buy and f.fields.get("availability") == avail.IN_STOCK and \
            visible.availability_source != STATED:
        # The markup says in stock, a stock note or a button says sold out and the page
        # offers no way to buy (a plain text's word gives way to the markup's: it only
        # beats the default a shown price gives).
        f.force("availability", v_avail, visible.availability_source or "dom")
    if visible.buy is True and not gone and \
            f.fields.get("availability") in (avail.OUT_OF_STOCK, avail.DISCONTINUED):
        # The markup says sold out, the page offers an enabled buy control and says
        # nothing of stock: the markup is stale (shops cache it longer than the page).
        f.force("availability", avail.IN_STOCK, "dom:buy-button")
    if visible.buy is True and (gone or v_avail is None):
        # An enabled buy control beats a sold-out note (pages keep both, showing one).
        f.put("availability", avail.IN_STOCK, "dom:buy-button")
    f.put("availability", v_avail, visible.availability_source or "dom")
    if visible.buy is False:
        f.put("availability", avail.OUT_OF_STOCK, "dom:buy-button-disabled")
    if f.fields.get("price") is not None and (product is not None or visible.heading
                                              or og.get("og:title") or visible.doc_title):
        # A product page that shows a price and says nothing of stock sells it.
        f.put("availability", avail.IN_STOCK, "dom:price-shown")


def _the_rest(f: _Sourced, node: dict[str, Any], markup: Markup, visible: Visible,
              syntax: str) -> None:
    """Category and breadcrumbs (the markup's trail before the page's), origin, images,
    the markup's product id."""
    category = _text(node.get("category"))
    f.put("category", category, syntax)
    crumbs = markup.breadcrumbs or visible.breadcrumbs
    if crumbs:
        f.put("breadcrumbs", crumbs[:12], "jsonld" if markup.breadcrumbs else "dom:breadcrumbs")
        f.put("category", crumbs[-2] if len(crumbs) >= 2 else crumbs[-1],
              "jsonld" if markup.breadcrumbs else "dom:breadcrumbs")
    f.put("origin", _text(node.get("countryOfOrigin")), syntax)
    images = node.get("image") or []
    images = images if isinstance(images, list) else [images]
    f.put("image_urls", [u for u in (_text(i) if not isinstance(i, dict) else
                                     _text(i.get("url") or i.get("contentUrl"))
                                     for i in images) if u][:20], syntax)
    og = markup.og
    f.put("image_urls", [og["og:image"]] if og.get("og:image") else [], "og")
    f.put("external_id", _text(node.get("productID")), syntax)


def as_decimal(value: Any) -> Decimal | None:
    return value if isinstance(value, Decimal) else None
