"""Page facts recorded at capture time (title, price, availability) for re-capture diffs.

Structured data first (JSON-LD, microdata, Open Graph via ``extruct``), then common markup.
The values are crawled content: bounded in length and treated as text only.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import html as lxml_html
from price_parser import Price

MAX_TEXT = 500
#: What platforms write on the page of a listing they took down but still answer 200 for
#: ("soft 404"), looked for in the title and headings only.
REMOVED_NOTICE = re.compile(
    r"已下架|已被删除|已删除|商品不存在|宝贝不存在|商品已失效|no longer available|"
    r"has been removed|was removed|does not exist|is unavailable", re.IGNORECASE)
#: schema.org availability recorded for such a page.
REMOVED = "Discontinued"


def _clip(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:MAX_TEXT] or None


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
            facts["availability"] = _clip(str(avail).rsplit("/", 1)[-1])
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
                facts["availability"] = _clip(str(hits[0]).rsplit("/", 1)[-1])
        if not facts["availability"] and not facts["price"] and not products:
            notices = tree.xpath("//title//text() | //h1//text() | //h2//text()")
            if any(REMOVED_NOTICE.search(str(t)) for t in notices[:50]):
                facts["availability"] = REMOVED
    if facts["price"]:
        parsed = Price.fromstring(str(facts["price"]))
        if parsed.amount is not None:
            facts["price"] = str(parsed.amount)
            facts["currency"] = facts["currency"] or parsed.currency
    return facts
