"""The page's structured data (JSON-LD, microdata, OpenGraph, RDFa), read from the tree
the page was parsed into once, each syntax only when the page contains it.

Why: running extruct over four syntaxes parsed a 0.3–1.4 MB page four times (130 ms);
most pages carry one or two syntaxes, which cheap substring checks find, and JSON-LD and
OpenGraph are read straight from the tree.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from crawlers.extract.scan import PageScan, scan_page

log = logging.getLogger(__name__)

#: schema.org types that are a product (or a group of variants of one).
PRODUCT_TYPES = {"Product", "ProductGroup", "ProductModel", "IndividualProduct", "SomeProducts",
                 "Vehicle", "Car", "Book", "MobileApplication", "SoftwareApplication"}
SELLER_TYPES = {"Store", "OnlineStore", "Organization", "LocalBusiness", "Corporation",
                "OnlineBusiness", "Brand"}
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_COMMENTS = re.compile(r"^\s*(<!--|//[^\n]*\n|/\*.*?\*/)|-->\s*$", re.DOTALL)
_RDFA_PRODUCT = re.compile(r"""typeof\s*=\s*["'][^"']*Product""")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class Markup:
    """What the page's markup says: product nodes (JSON-LD shaped) with the syntax each came
    from, OpenGraph properties, breadcrumb names, item-list links, seller-like nodes."""

    products: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    og: dict[str, str] = field(default_factory=dict)
    breadcrumbs: list[str] = field(default_factory=list)
    item_urls: list[str] = field(default_factory=list)
    sellers: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    syntaxes: list[str] = field(default_factory=list)


#: The types read, by their lower-case spelling: shops write ``"@type": "product"`` and
#: ``"offer"`` by hand, and no consumer of their markup holds them to schema.org's case.
_CANONICAL = {t.lower(): t for t in (*PRODUCT_TYPES, *SELLER_TYPES, "Offer", "AggregateOffer",
                                     "BreadcrumbList", "ItemList", "ListItem")}


def types_of(node: dict[str, Any]) -> list[str]:
    """The node's schema.org types, by their last path segment, in schema.org's case."""
    t = node.get("@type") or node.get("type") or []
    values = t if isinstance(t, list) else [t]
    names = [str(v).rsplit("/", 1)[-1].rsplit("#", 1)[-1] for v in values]
    return [_CANONICAL.get(name.lower(), name) for name in names]


def walk(node: Any) -> list[dict[str, Any]]:
    """All dict nodes of a JSON-LD tree (``@graph`` and nesting included), in document
    order."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            found.append(cur)
            stack.extend(reversed(list(cur.values())))
        elif isinstance(cur, list):
            stack.extend(reversed(cur))
    return found


def _load_json(raw: str) -> Any:
    try:
        return json.loads(raw, strict=False)
    except ValueError:
        pass
    text = _COMMENTS.sub("", raw.strip()).strip()
    text = _CONTROL.sub(" ", _TRAILING_COMMA.sub(r"\1", text))
    text += "}" * max(0, text.count("{") - text.count("}"))
    text += "]" * max(0, text.count("[") - text.count("]"))
    try:
        return json.loads(text, strict=False)
    except ValueError:
        return None


_URL_TAGS = {"a": "href", "area": "href", "link": "href", "img": "src", "audio": "src",
             "embed": "src", "iframe": "src", "source": "src", "track": "src", "video": "src",
             "object": "data"}


#: An item's properties: the descendants with an itemprop whose nearest item is the item
#: (not one nested in it), in document order.
_PROPERTIES = etree.XPath(
    "descendant::*[@itemprop][count(ancestor::*[@itemscope][1] | $item) = 1]")


def _microdata_item(el: etree._Element, url: str, depth: int) -> dict[str, Any]:
    """A microdata item as a JSON-LD-like node (W3C microdata's JSON, types shortened):
    its properties are the ``itemprop`` descendants not inside a nested item.

    The properties are found by one XPath query, in C: an item on ``<body>`` holds the
    whole page, and visiting each of its elements in Python (reading two attributes of
    each) cost a fifth of parsing the page."""
    types = [t.rsplit("/", 1)[-1] for t in (el.get("itemtype") or "").split()]
    out: dict[str, Any] = {"@type": types[0] if len(types) == 1 else types}
    for child in _PROPERTIES(el, item=el):
        names = child.get("itemprop")
        if not names:
            continue
        nested = child.get("itemscope") is not None
        value: Any = (_microdata_item(child, url, depth + 1) if nested and depth < 6
                      else _microdata_value(child, url))
        for name in names.split():
            if name in out:
                if not isinstance(out[name], list):
                    out[name] = [out[name]]
                out[name].append(value)
            else:
                out[name] = value
    if len(out) == 1 and depth:
        # An item with no properties (<span itemprop="brand" itemscope>ACME</span>):
        # its text is its name.
        text = " ".join(" ".join(t for t in el.itertext() if t.strip()).split())
        if text:
            out["name"] = text[:300]
    return out


def _microdata_value(el: etree._Element, url: str) -> str:
    tag = el.tag
    if tag == "meta":
        return el.get("content", "")
    attr = _URL_TAGS.get(str(tag))
    if attr:
        value = (el.get(attr) or "").strip()
        return urljoin(url, value) if value else (el.get("content") or "")
    if tag in ("data", "meter"):
        return el.get("value", "")
    if tag == "time":
        return el.get("datetime") or " ".join(el.itertext()).strip()
    if el.get("content") is not None:
        return el.get("content", "")
    return " ".join(" ".join(t for t in el.itertext() if t.strip()).split())


def _collect(markup: Markup, nodes: list[dict[str, Any]], syntax: str) -> None:
    for node in nodes:
        types = set(types_of(node))
        if types & PRODUCT_TYPES:
            markup.products.append((node, syntax))
        elif "Offer" in types and isinstance(node.get("itemOffered"), dict):
            offered = dict(node["itemOffered"])
            offered.setdefault("offers", {k: v for k, v in node.items() if k != "itemOffered"})
            markup.products.append((offered, syntax))
        elif "BreadcrumbList" in types and not markup.breadcrumbs:
            markup.breadcrumbs = _breadcrumb_names(node)
        elif "ItemList" in types:
            for element in node.get("itemListElement") or []:
                if isinstance(element, dict):
                    item = element.get("item")
                    url = element.get("url") or (
                        (item.get("url") or item.get("@id")) if isinstance(item, dict) else item)
                    if isinstance(url, str):
                        markup.item_urls.append(url)
        elif types & SELLER_TYPES:
            markup.sellers.append((node, syntax))


def _breadcrumb_names(node: dict[str, Any]) -> list[str]:
    elements = node.get("itemListElement") or []
    if isinstance(elements, dict):
        elements = [elements]
    named = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        item = element.get("item")
        name = element.get("name") or (item.get("name") if isinstance(item, dict) else None)
        if name:
            named.append((element.get("position") or 0, str(name)))
    with contextlib.suppress(TypeError, ValueError):
        named.sort(key=lambda p: float(p[0]))
    return [n for _, n in named]


def read_markup(tree: etree._Element, html: str, url: str, scan: PageScan | None = None
                ) -> Markup:
    """Structured data of a page parsed into *tree* (*html* is its text, for the cheap
    checks of which syntaxes it contains; *scan*: the page's walk, when the caller made it
    already — its scripts, metas and items are read instead of querying the tree)."""
    markup = Markup()
    if scan is None:
        scan = scan_page(tree, microdata="itemscope" in html)
    if scan.ld_scripts:
        markup.syntaxes.append("jsonld")
        for script in scan.ld_scripts:
            data = _load_json(script.text or "")
            if data is not None:
                _collect(markup, [n for n in walk(data) if isinstance(n, dict)], "jsonld")
    if scan.items:
        markup.syntaxes.append("microdata")
        items = [_microdata_item(el, url, 0) for el in scan.items]
        _collect(markup, [n for item in items for n in walk(item)], "microdata")
    if scan.metas:
        for meta in scan.metas:
            prop = meta.get("property") or meta.get("name") or ""
            if prop[:3] in ("og:", "pro") and (prop.startswith(("og:", "product:"))):
                content = meta.get("content")
                if content and prop.lower() not in markup.og:
                    markup.og[prop.lower()] = content
        if markup.og:
            markup.syntaxes.append("og")
    if not markup.products and _rdfa_product(html):
        markup.syntaxes.append("rdfa")
        _read_rdfa(markup, html, url)
    return markup


def _rdfa_product(html: str) -> bool:
    """Whether *html* has an RDFa ``typeof`` naming a product (``_RDFA_PRODUCT``), tried
    only where the word ``typeof`` is: scripts say ``typeof x`` hundreds of times on a large
    page, and the regex's own search for its first word went through the page's megabytes
    several times slower than ``str.find``."""
    at = html.find("typeof")
    while at >= 0:
        if _RDFA_PRODUCT.match(html, at):
            return True
        at = html.find("typeof", at + 6)
    return False


def _read_rdfa(markup: Markup, html: str, url: str) -> None:
    """RDFa needs extruct's own DOM parser: only read when nothing else named a product."""
    from extruct.rdfa import RDFaExtractor
    from extruct.utils import parse_xmldom_html

    try:
        doc = parse_xmldom_html(html.encode("utf-8"), encoding="utf-8")
        nodes = RDFaExtractor().extract_items(doc, base_url=url)
    except Exception as exc:  # rdflib and pyrdfa raise many kinds
        log.debug("rdfa failed on %s: %s", url, exc)
        return
    by_id = {n.get("@id"): n for n in nodes if isinstance(n, dict)}
    for node in nodes:
        if not isinstance(node, dict) or not any(t.endswith("Product") for t in types_of(node)):
            continue
        markup.products.append((_rdfa_flat(node, by_id), "rdfa"))


def _rdfa_flat(node: dict[str, Any], by_id: dict[Any, dict[str, Any]], depth: int = 0
               ) -> dict[str, Any]:
    """An expanded RDFa node as JSON-LD-like ``{"name": ..., "offers": {...}}``."""
    out: dict[str, Any] = {"@type": "Product"}
    for key, values in node.items():
        if key.startswith("@"):
            continue
        short = key.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        value = values[0] if isinstance(values, list) and values else values
        if isinstance(value, dict):
            if "@value" in value:
                value = value["@value"]
            elif "@id" in value and value["@id"] in by_id and depth < 3:
                value = _rdfa_flat(by_id[value["@id"]], by_id, depth + 1)
            elif "@id" in value:
                value = value["@id"]
        out.setdefault(short, value)
    return out
