"""One walk over a parsed page that collects what every part of the extractor reads.

Why: the extractor's parts each asked the tree for their own nodes (``//a/@href``,
``//link[@rel='next']``, ``//*[@itemscope]``, every ``<script>``, every ``<meta>``, the
visible texts), and each query is a walk over the whole tree: on a 1 MB page a walk costs
about a millisecond before Python does anything with what it finds.  The walk here visits
each element once and keeps, for the later steps, only the few nodes they need, so the cost
of extraction is one parse plus one walk plus work proportional to what the page shows.

What it keeps:

* the shown text nodes in document order (a tail after its element's subtree), each with the
  element it belongs to; texts under ``script``, ``style``, ``head``, ``svg``, ``select`` …
  are not shown and not kept;
* ``h1``/``h2``/``h3`` headings with the index of their first text, buttons, and elements whose
  class or id (or, on ``nav``/``ol``/``a``, itemprop and aria-label) names a topic (stock,
  breadcrumb, buy, seller);
* every ``a/@href`` and ``link rel=next`` as written, the first ``link rel=canonical``;
* JSON-LD scripts, ``<meta>`` elements, top-level microdata items (``itemscope`` without
  ``itemprop``), the document's ``<title>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

#: Attribute values naming what an element is, by topic.
TOPICS = {
    "stock": r"stock|availab|inventory|sold-?out",
    "breadcrumb": r"breadcrumb|crumbs",
    "buy": r"add-?to-?cart|addtocart|add_to_cart|buy|basket|to-?bag|cart",
    # A seller word starting a word and not plural: "topsellers", "bestsellers-month",
    # "best-seller" badges and "other merchants" lists name no seller of this product; a
    # "seller centre" / "seller admin" is the marketplace's portal for sellers.
    "seller": r"(?<![a-z])(?<!best[-_ ])(?<!top[-_ ])(?:seller|vendor|merchant)"
              r"(?!s|[-_]?(?:cent(?:er|re)|admin|login|portal|help))|"
              r"store-?name|shop-?name|storefront|brand-?store|shop-?link|store-?link",
}
#: Each topic's words, matched in a lower-cased value: a case-insensitive alternation costs
#: Python's regex engine several times a case-sensitive one on the lowered text.
_TOPIC_RE = tuple((name, re.compile(words)) for name, words in TOPICS.items())
#: Substrings one of which every topic's value contains (a cheap test before the regexes).
_TOPIC_HINT = re.compile("s(?:tock|old|eller|tore|hop)|availab|inventory|crumb|cart|"
                         "b(?:uy|asket|ag)|vendor|merchant")

#: Elements whose subtree a shopper does not read (the walk keeps none of their text).
SKIP = frozenset(("script", "style", "noscript", "template", "svg", "iframe", "object",
                  "head", "select"))
#: Elements whose itemprop or aria-label is read too (a breadcrumb <nav aria-label>, a
#: seller <a itemprop>): reading four attributes of every element was a third of a walk.
_LABELLED = frozenset(("nav", "ol", "a"))


def topics_of(value: str, cache: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The topics an attribute value names (memoised per page: class names repeat)."""
    found = cache.get(value)
    if found is None:
        lowered = value.lower()
        found = _topics(lowered) if _TOPIC_HINT.search(lowered) else ()
        cache[value] = found
    return found


def _topics(lowered: str) -> tuple[str, ...]:
    """The topics a lower-cased value that has a topic's hint names."""
    return tuple(name for name, pattern in _TOPIC_RE if pattern.search(lowered))


@dataclass
class PageScan:
    """What one walk over a page collects (see the module docstring)."""

    texts: list[tuple[str, etree._Element]] = field(default_factory=list)
    headings: list[tuple[etree._Element, int]] = field(default_factory=list)
    buttons: list[etree._Element] = field(default_factory=list)
    topics: dict[str, list[etree._Element]] = field(default_factory=dict)
    hrefs: list[str] = field(default_factory=list)
    next_links: list[str] = field(default_factory=list)
    canonical: str | None = None
    ld_scripts: list[etree._Element] = field(default_factory=list)
    metas: list[etree._Element] = field(default_factory=list)
    items: list[etree._Element] = field(default_factory=list)
    title: etree._Element | None = None


#: What the walk does at an element's start, by its tag (ordinary elements: not listed).
_COMMENT, _A, _LINK, _META, _SCRIPT, _TITLE, _HEADING, _OTHER, _SKIP = range(9)
_CODES: dict[object, int] = {
    **{tag: _SKIP for tag in SKIP}, "a": _A, "link": _LINK, "meta": _META, "script": _SCRIPT,
    "title": _TITLE, "h1": _HEADING, "h2": _HEADING, "h3": _HEADING, "button": _OTHER,
    "input": _OTHER, "nav": _OTHER, "ol": _OTHER,
    etree.Comment: _COMMENT, etree.ProcessingInstruction: _COMMENT, etree.Entity: _COMMENT}


def scan_page(tree: etree._Element, microdata: bool = True) -> PageScan:
    """One walk over the document *tree* belongs to (*microdata*: whether to look for
    ``itemscope`` items; a page whose text never says ``itemscope`` has none).

    Most elements are ordinary (a ``div``, a ``span``): their start is handled by the short
    first branch, which only reads class, id and text; the walk's cost is that branch's."""
    root = tree.getroottree().getroot()
    scan = PageScan(topics={name: [] for name in TOPICS})
    texts = scan.texts
    append = texts.append
    topics = scan.topics
    hrefs = scan.hrefs
    items_append = scan.items.append
    cache: dict[str, tuple[str, ...]] = {}
    cache_get = cache.get
    codes_get = _CODES.get
    hint = _TOPIC_HINT.search
    in_head = False
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        if event == "start":
            tag = el.tag
            code = codes_get(tag)
            if code is None:
                if microdata and el.get("itemscope") is not None and el.get("itemprop") is None:
                    items_append(el)
                if in_head:
                    continue
                # topics_of, inlined: a page has hundreds of distinct ids and classes.
                value = el.get("class")
                if value:
                    found = cache_get(value)
                    if found is None:
                        lowered = value.lower()
                        found = _topics(lowered) if hint(lowered) else ()
                        cache[value] = found
                    for name in found:
                        topics[name].append(el)
                value = el.get("id")
                if value:
                    found = cache_get(value)
                    if found is None:
                        lowered = value.lower()
                        found = _topics(lowered) if hint(lowered) else ()
                        cache[value] = found
                    for name in found:
                        items = topics[name]
                        if not items or items[-1] is not el:
                            items.append(el)
                text = el.text
                if text:
                    text = text.strip()
                    if text:
                        append((text, el))
                continue
            if code == _COMMENT:
                continue
            if microdata and el.get("itemscope") is not None and el.get("itemprop") is None:
                items_append(el)
            if code == _A:
                href = el.get("href")
                if href:
                    hrefs.append(href)
            elif code == _LINK:
                rel = el.get("rel")
                if rel == "next":
                    href = el.get("href")
                    if href:
                        scan.next_links.append(href)
                elif rel == "canonical" and scan.canonical is None:
                    scan.canonical = el.get("href") or None
                continue
            elif code == _META:
                scan.metas.append(el)
                continue
            elif code == _SCRIPT:
                if (el.get("type") or "").strip().lower() == "application/ld+json":
                    scan.ld_scripts.append(el)
                continue
            elif code == _TITLE:
                if in_head and scan.title is None:
                    scan.title = el
                walker.skip_subtree()
                continue
            if in_head:
                continue
            if code == _SKIP:
                if tag == "head":
                    in_head = True
                else:
                    walker.skip_subtree()
                continue
            value = el.get("class")
            if value:
                found = cache_get(value)
                if found is None:
                    found = topics_of(value, cache)
                for name in found:
                    topics[name].append(el)
            value = el.get("id")
            if value:
                found = cache_get(value)
                if found is None:
                    found = topics_of(value, cache)
                for name in found:
                    items = topics[name]
                    if not items or items[-1] is not el:
                        items.append(el)
            if tag in _LABELLED:
                for attr in ("itemprop", "aria-label"):
                    value = el.get(attr)
                    if value:
                        for name in topics_of(value, cache):
                            items = topics[name]
                            if not items or items[-1] is not el:
                                items.append(el)
            if code == _HEADING:
                scan.headings.append((el, len(texts)))
            elif tag == "button" or (tag == "input" and el.get("type") in (
                    "submit", "button", "image")) or (tag == "a" and el.get("role") == "button"):
                scan.buttons.append(el)
            text = el.text
            if text:
                text = text.strip()
                if text:
                    append((text, el))
        else:
            if in_head:
                if el.tag == "head":
                    in_head = False
                continue
            tail = el.tail
            if tail:
                tail = tail.strip()
                if tail:
                    parent = el.getparent()
                    if parent is not None:
                        append((tail, parent))
    return scan
