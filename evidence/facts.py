"""Page facts recorded at capture time (title, price, availability) for re-capture diffs.

Structured data first (JSON-LD, microdata, Open Graph via ``extruct``), then common markup.
The values are crawled content: bounded in length and treated as text only.

Availability is recorded as a :class:`store.vocabulary.Availability` code with its source
(``facts["sources"]["availability"]``).  Markup is all this module reads; a page that says
"sold out" only in its visible text needs the crawl's extractor, which :mod:`evidence` may
not import.  The layer that composes both (:mod:`scheduler`, the CLI) hands it in as a
:data:`PageReader` on the capture request, and its reading wins where it has one
(:func:`with_reading`); without a reader the markup reading stands.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from lxml import html as lxml_html
from price_parser import Price

from store.vocabulary import Availability, availability_code

log = logging.getLogger("spotcheck.evidence.facts")

MAX_TEXT = 500
#: What platforms write on the page of a listing they took down but still answer 200 for
#: ("soft 404"), looked for in the title and headings only.
REMOVED_NOTICE = re.compile(
    r"已下架|已被删除|已删除|商品不存在|宝贝不存在|商品已失效|no longer available|"
    r"has been removed|was removed|does not exist|is unavailable", re.IGNORECASE)
#: The availability recorded for such a page.
REMOVED = Availability.DISCONTINUED.value
#: Sources of a recorded availability read here: the page's markup, a removal notice.
FROM_MARKUP = "markup"
FROM_NOTICE = "removal-notice"

#: Reads a rendered page (its DOM as HTML, its URL) as the caller's extractor does:
#: ``{"availability": code or None, "source": how it was read}``.
PageReader = Callable[[str, str], Mapping[str, Any]]


def _clip(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:MAX_TEXT] or None


def _code(value: Any) -> str | None:
    """A markup availability as its Availability code (an unknown value as written)."""
    return availability_code(value) or _clip(str(value).rsplit("/", 1)[-1])


def _offers(product: dict[str, Any]) -> dict[str, Any]:
    offers = product.get("offers")
    if isinstance(offers, list):
        offers = offers[0] if offers else {}
    if isinstance(offers, dict) and "properties" in offers:  # microdata shape
        offers = offers["properties"]
    return offers if isinstance(offers, dict) else {}


def _products(data: dict[str, list[Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in data.get("json-ld", []):
        for node in item.get("@graph", [item]) if isinstance(item, dict) else []:
            types = node.get("@type") if isinstance(node, dict) else None
            if types == "Product" or (isinstance(types, list) and "Product" in types):
                found.append(node)
    for item in data.get("microdata", []):
        if isinstance(item, dict) and str(item.get("type", "")).endswith("/Product"):
            found.append(item.get("properties", {}))
    return found


def extract_facts(dom: str, url: str) -> dict[str, Any]:
    """Title, price, currency and availability of a rendered page (None where unknown)."""
    facts: dict[str, Any] = {"title": None, "price": None, "currency": None,
                             "availability": None}
    # Imported here: extruct costs ~0.23 s to import, paid by every process that imports
    # evidence.capture (CLI commands, test workers) even when it captures nothing.
    import extruct

    try:
        data = extruct.extract(dom, base_url=url, syntaxes=["json-ld", "microdata", "opengraph"],
                               uniform=False, errors="ignore")
    except Exception:  # hostile or broken markup must not fail the capture
        data = {}
    products = _products(data)
    for product in products:
        offers = _offers(product)
        facts["title"] = facts["title"] or _clip(product.get("name"))
        facts["price"] = facts["price"] or _clip(offers.get("price"))
        facts["currency"] = facts["currency"] or _clip(offers.get("priceCurrency"))
        avail = offers.get("availability")
        if avail and not facts["availability"]:
            facts["availability"] = _code(avail)
    try:
        tree = lxml_html.fromstring(dom or "<html/>")
    except (ValueError, lxml_html.etree.ParserError):
        tree = None
    if tree is not None:
        if not facts["title"]:
            for xp in ("//meta[@property='og:title']/@content", "//h1//text()",
                       "//title/text()"):
                hits = [h for h in tree.xpath(xp) if str(h).strip()]
                if hits:
                    facts["title"] = _clip(hits[0])
                    break
        if not facts["price"]:
            for xp in ("//*[@itemprop='price']/@content", "//*[@itemprop='price']//text()",
                       "//*[@data-price]/@data-price",
                       "//*[contains(concat(' ', normalize-space(@class), ' '), ' price ')]"
                       "//text()"):
                hits = [h for h in tree.xpath(xp) if str(h).strip()]
                if hits:
                    facts["price"] = _clip(hits[0])
                    break
        if not facts["availability"]:
            hits = tree.xpath("//*[@itemprop='availability']/@content | "
                              "//*[@data-availability]/@data-availability")
            if hits:
                facts["availability"] = _code(hits[0])
        if facts["availability"]:
            facts["sources"] = {"availability": FROM_MARKUP}
        if not facts["availability"] and not facts["price"] and not products:
            notices = tree.xpath("//title//text() | //h1//text() | //h2//text()")
            if any(REMOVED_NOTICE.search(str(t)) for t in notices[:50]):
                facts["availability"] = REMOVED
                facts["sources"] = {"availability": FROM_NOTICE}
    if facts["price"]:
        parsed = Price.fromstring(str(facts["price"]))
        if parsed.amount is not None:
            facts["price"] = str(parsed.amount)
            facts["currency"] = facts["currency"] or parsed.currency
    return facts


def with_reading(facts: dict[str, Any], reading: Mapping[str, Any] | None,
                 reader: str = "reader") -> dict[str, Any]:
    """*facts* with the availability a caller's page reader read (*reading*), recorded with
    its source (``reader:<the reader's own source>``, e.g. ``reader:dom:stock-text``).

    The reader's word wins over the markup read here (it reads markup too, and the visible
    page); a page that says it was taken down keeps its removal (a takedown is a takedown,
    whatever else the page shows); a reading without a value changes nothing."""
    if not reading or facts.get("sources", {}).get("availability") == FROM_NOTICE:
        return facts
    code = availability_code(reading.get("availability"))
    if code is None:
        return facts
    source = _clip(reading.get("source")) or "unknown"
    return {**facts, "availability": code,
            "sources": {**facts.get("sources", {}), "availability": f"{reader}:{source}"}}


def read_with(reader: PageReader | None, dom: str, url: str) -> Mapping[str, Any] | None:
    """What *reader* reads on the page, or None (no reader, or it failed: a reader's error
    must not fail the capture, whose markup reading still stands)."""
    if reader is None:
        return None
    try:
        return reader(dom, url)
    except Exception as exc:  # hostile pages, a reader's bug: logged, not fatal
        log.warning("page reader failed on %s: %s", url[:200], exc)
        return None
