"""schema.org Product data (JSON-LD, microdata, RDFa, OpenGraph) via ``extruct``.

This is what lets a structured-data profile index a shop it has never seen: product pages are
recognised by their Product data, whatever their URLs look like.  Broken JSON-LD (a trailing
comma, a missing brace — common in the wild) is repaired once before it is given up.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from parsel import Selector

log = logging.getLogger(__name__)

_TRAILING_COMMA = re.compile(r",\s*([}\]])")
SYNTAXES = ["json-ld", "microdata", "opengraph", "rdfa"]


def _types(node: dict[str, Any]) -> list[str]:
    t = node.get("@type") or node.get("type") or []
    values = t if isinstance(t, list) else [t]
    return [str(v).rsplit("/", 1)[-1] for v in values]


def _repair_jsonld(html: str) -> list[dict[str, Any]]:
    """JSON-LD blocks that json refuses, repaired (trailing commas, unbalanced braces)."""
    out: list[dict[str, Any]] = []
    for raw in Selector(text=html).xpath(
            '//script[@type="application/ld+json"]/text()').getall():
        try:
            json.loads(raw)
            continue  # extruct has it already
        except ValueError:
            pass
        text = _TRAILING_COMMA.sub(r"\1", raw.strip())
        text += "}" * max(0, text.count("{") - text.count("}"))
        text += "]" * max(0, text.count("[") - text.count("]"))
        try:
            data = json.loads(text)
        except ValueError:
            continue
        out.extend(d for d in (data if isinstance(data, list) else [data]) if isinstance(d, dict))
    return out


def _walk(node: Any) -> list[dict[str, Any]]:
    """All dict nodes of a JSON-LD tree (``@graph`` and nesting included)."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            found.append(cur)
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return found


def _flatten_microdata(node: dict[str, Any]) -> dict[str, Any]:
    """extruct's microdata ``{"type", "properties"}`` as JSON-LD-like ``{"@type", ...}``."""
    props = node.get("properties", {})
    out: dict[str, Any] = {"@type": node.get("type")}
    for key, value in props.items():
        if isinstance(value, dict) and "properties" in value:
            out[key] = _flatten_microdata(value)
        elif isinstance(value, list):
            out[key] = [_flatten_microdata(v) if isinstance(v, dict) and "properties" in v
                        else v for v in value]
        else:
            out[key] = value
    return out


def find_product(html: str, url: str) -> tuple[dict[str, Any] | None, str]:
    """The first schema.org Product on the page (JSON-LD-shaped) and the syntax it came from."""
    # Imported here: extruct (with mf2py, rdflib's parsers, BeautifulSoup) is a sixth of a
    # second at every start of an extraction worker, and CSS profiles never call it.
    import extruct

    try:
        data = extruct.extract(html, base_url=url, syntaxes=SYNTAXES, uniform=False,
                               errors="ignore")
    except Exception as exc:  # extruct raises many kinds on hostile markup
        log.debug("extruct failed on %s: %s", url, exc)
        data = {}
    for node in data.get("json-ld", []) or []:
        for sub in _walk(node):
            if "Product" in _types(sub):
                return sub, "json-ld"
    for node in data.get("microdata", []) or []:
        if "Product" in _types(node):
            return _flatten_microdata(node), "microdata"
    for node in _repair_jsonld(html):
        for sub in _walk(node):
            if "Product" in _types(sub):
                return sub, "json-ld-repaired"
    for node in data.get("rdfa", []) or []:
        if any(t.endswith("Product") for t in _types(node)):
            return node, "rdfa"
    og = {}
    for node in data.get("opengraph", []) or []:
        props = node.get("properties", [])
        og.update({k: v for k, v in props if isinstance(k, str)})
    if og.get("og:type", "").lower() in {"product", "og:product", "product.item"}:
        return {"@type": "Product", "name": og.get("og:title"), "image": og.get("og:image"),
                "offers": {"price": og.get("product:price:amount") or og.get("og:price:amount"),
                           "priceCurrency": og.get("product:price:currency")
                           or og.get("og:price:currency")},
                "brand": og.get("product:brand"), "url": og.get("og:url")}, "opengraph"
    return None, ""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("@id") or value.get("value"))
    if isinstance(value, list):
        return _text(value[0]) if value else None
    return str(value)


def product_fields(product: dict[str, Any]) -> dict[str, Any]:
    """Listing fields from a Product node."""
    offers = product.get("offers")
    if isinstance(offers, list):
        offers = offers[0] if offers else {}
    if not isinstance(offers, dict):
        offers = {}
    if offers.get("@type") == "AggregateOffer" or "lowPrice" in offers:
        price = offers.get("price") or offers.get("lowPrice")
    else:
        price = offers.get("price")
    seller = offers.get("seller") or product.get("seller") or {}
    if not isinstance(seller, dict):
        seller = {"name": _text(seller)}
    images = product.get("image") or []
    if not isinstance(images, list):
        images = [images]
    return {
        "title": _text(product.get("name")),
        "brand": _text(product.get("brand")),
        "model": _text(product.get("sku") or product.get("mpn") or product.get("model")),
        "external_id": _text(product.get("productID") or product.get("identifier")),
        "price_text": price,
        "currency_hint": _text(offers.get("priceCurrency")),
        "category": _text(product.get("category")),
        "origin": _text(product.get("countryOfOrigin")),
        "image_urls": [u for u in (_text(i) for i in images) if u],
        "seller_name": _text(seller.get("name")),
        "seller_external_id": _text(seller.get("identifier") or seller.get("@id")),
        "seller_url": _text(seller.get("url")),
        "url": _text(offers.get("url") or product.get("url")),
    }
