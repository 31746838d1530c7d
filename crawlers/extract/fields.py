"""CSS/XPath field rules, as profiles write them.

A rule is a CSS selector (with Scrapy's ``::text`` / ``::attr(name)``) or, prefixed with
``xpath:``, an XPath expression.  Several rules may be given separated by `` || ``: the first
that yields something wins, so a profile can fall back from structured markup to visible text.
A trailing ``| re:PATTERN`` keeps the first group of a regex on the result (e.g. the filing
number after a label).

Rules are compiled once per process (CSS translated by parsel's HTML translator, then an lxml
``XPath`` object) and evaluated on the lxml tree of the page directly: building a parsel
``Selector`` per match cost more than the matching on every crawled page.  The results are the
strings parsel's ``.getall()`` gives for the same rule (the unit tests compare the two).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

import lxml.html
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

#: Listing/seller fields that hold lists (all matches are kept, not just the first).
LIST_FIELDS = frozenset({"cert_marks", "image_urls"})

#: The namespaces parsel gives every XPath (EXSLT regular expressions and sets).
_NAMESPACES = {"re": "http://exslt.org/regular-expressions", "set": "http://exslt.org/sets"}
_TRANSLATOR = HTMLTranslator()

Matcher = Callable[[Any], list[str]]


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _as_text(value: Any) -> str:
    """What parsel's ``Selector.get()`` returns for one XPath result."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, etree._Element):
        return str(etree.tostring(value, method="html", encoding="unicode", with_tail=False))
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


@cache
def compile_rule(rule: str) -> Matcher:
    """One alternative of a field rule as a function of an lxml element → cleaned values."""
    rule, _, post = rule.partition(" | re:")
    rule = rule.strip()
    query = rule[6:] if rule.startswith("xpath:") else _TRANSLATOR.css_to_xpath(rule)
    xpath = etree.XPath(query, namespaces=_NAMESPACES, smart_strings=False)
    rx = _regex(post.strip()) if post else None

    def match(root: Any) -> list[str]:
        found = xpath(root)
        results = found if isinstance(found, list) else [found]
        values = []
        for value in results:
            text = " ".join(_as_text(value).split())
            if not text:
                continue
            if rx is not None:
                m = rx.search(text)
                if m is None:
                    continue
                text = m.group(1) if m.groups() else m.group(0)
            values.append(text)
        return values

    return match


@cache
def _alternatives(rules: str) -> tuple[tuple[Matcher, bool], ...]:
    """The compiled alternatives of *rules*, each with whether it selects text nodes."""
    return tuple((compile_rule(rule), "text" in rule.partition(" | re:")[0])
                 for rule in rules.split("||"))


#: The parsed tree of each page still in use (a page is parsed once, whoever asks).
_roots: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()
_parsers = threading.local()


def _html_parser() -> Any:
    """This thread's HTML parser, made once: parsel makes one per page, and making an lxml
    HTML parser cost as much as parsing a product page."""
    parser = getattr(_parsers, "html", None)
    if parser is None:
        parser = _parsers.html = lxml.html.HTMLParser(recover=True, encoding="utf-8",
                                                      huge_tree=True)
    return parser


def page_root(response: Any) -> Any:
    """The lxml root of a page, exactly as parsel builds it for ``response.selector``
    (its text stripped, NULs dropped, UTF-8, lxml.html's parser recovering from broken
    markup), parsed once per page with a reused parser."""
    root = _roots.get(response)
    if root is None:
        body = response.text.strip().replace("\x00", "").encode("utf-8") or b"<html/>"
        parser = _html_parser()
        root = etree.fromstring(body, parser=parser, base_url=response.url)
        if root is None:  # a page of comments or whitespace only
            root = etree.fromstring(b"<html/>", parser=parser, base_url=response.url)
        _roots[response] = root
    return root


def root_of(sel: Any) -> Any:
    """The lxml element behind a response, a parsel selector, or an element itself."""
    if isinstance(sel, etree._Element):
        return sel
    if isinstance(sel, Selector):
        return sel.root
    return page_root(sel)


@cache
def _xpath(rule: str) -> etree.XPath:
    query = rule[6:] if rule.startswith("xpath:") else _TRANSLATOR.css_to_xpath(rule)
    return etree.XPath(query, namespaces=_NAMESPACES, smart_strings=False)


def _results(sel: Any, rule: str) -> list[Any]:
    found = _xpath(rule)(root_of(sel))
    return found if isinstance(found, list) else [found]


def elements(sel: Any, rule: str) -> list[Any]:
    """The elements a CSS rule (or ``xpath:`` rule) selects, as lxml elements."""
    return [e for e in _results(sel, rule) if isinstance(e, etree._Element)]


def raw_values(sel: Any, rule: str) -> list[str]:
    """What ``sel.css(rule).getall()`` gives (text as written, not whitespace-collapsed)."""
    return [_as_text(v) for v in _results(sel, rule)]


def select_all(sel: Any, rules: str) -> list[str]:
    """All values of the first alternative (``a || b``) that yields any."""
    root = root_of(sel)
    for match, _ in _alternatives(rules):
        values = match(root)
        if values:
            return values
    return []


def select(sel: Any, rules: str) -> str | None:
    """The first alternative that yields any: its text nodes joined, or its first attribute."""
    root = root_of(sel)
    for match, text in _alternatives(rules):
        values = match(root)
        if values:
            # Text split by inline markup ("价格 <b>¥12</b>") is joined back; attributes are not.
            return " ".join(values) if text else values[0]
    return None


def extract_fields(sel: Any,
                   rules: dict[str, str]) -> dict[str, str | list[str] | None]:
    """Apply a profile's field rules to a page."""
    root = root_of(sel)
    out: dict[str, str | list[str] | None] = {}
    for name, rule in rules.items():
        out[name] = select_all(root, rule) if name in LIST_FIELDS else select(root, rule)
    return out
