"""Compiled field rules (lxml XPath on the page tree) give what parsel's selectors give.

The spider evaluates profile rules with precompiled lxml XPath objects for speed; these tests
hold them to parsel's ``.css()/.xpath()`` + ``.getall()`` on real sandbox pages (every rule of
every shipped profile) and on awkward hand-written markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from parsel import Selector
from scrapy.http import HtmlResponse

from crawlers.extract.fields import (
    elements,
    extract_fields,
    raw_values,
    select,
    select_all,
)
from crawlers.profile import Profile, shipped_profile, shipped_profile_names


def _parsel_one(sel: Any, rule: str) -> list[str]:
    """The reference: the rule evaluated the way parsel evaluates it."""
    rule, _, post = rule.partition(" | re:")
    rule = rule.strip()
    found = sel.xpath(rule[6:]) if rule.startswith("xpath:") else sel.css(rule)
    values = [v for v in (" ".join(v.split()) for v in found.getall()) if v]
    if post:
        rx = re.compile(post.strip())
        kept = []
        for v in values:
            m = rx.search(v)
            if m:
                kept.append(m.group(1) if m.groups() else m.group(0))
        values = kept
    return values


def _rules(profile: Profile) -> Iterator[str]:
    ex, links = profile.extract, profile.links
    for table in (ex.fields, ex.card_fields, ex.seller_fields):
        yield from table.values()
    yield from links.navigate
    yield from links.product
    yield from links.seller
    if ex.card_link:
        yield ex.card_link


def _compare(sel: Selector, rules: Iterator[str]) -> int:
    compared = 0
    for rules_text in rules:
        for rule in rules_text.split("||"):
            assert select_all(sel, rule) == _parsel_one(sel, rule), rule
            compared += 1
    return compared


@pytest.fixture(scope="module")
def pages() -> Iterator[list[tuple[str, str]]]:
    """(style, HTML) of a few dozen sandbox pages of every style: home, lists, items, sellers."""
    from sandbox.runner import Sandbox

    out: list[tuple[str, str]] = []
    with Sandbox(seed=17, listings=60, day=0, obstacles=False) as sb, httpx.Client() as http:
        for style, base in sb.urls.items():
            queue, seen = [base + "/"], set[str]()
            while queue and len(seen) < 15:
                url = queue.pop(0)
                if url in seen:
                    continue
                seen.add(url)
                resp = http.get(url, timeout=10)
                if "html" not in resp.headers.get("content-type", ""):
                    continue
                out.append((style, resp.text))
                hrefs = Selector(text=resp.text).css("a::attr(href)").getall()
                # Listing and seller pages first: they carry most of the rules.
                hrefs.sort(key=lambda h: not re.search(r"item|product|store|vendor|/p/", h))
                for href in hrefs[:6]:
                    target = urljoin(url, href)
                    if target.startswith(base) and not re.search(r"cart|login|checkout", target):
                        queue.append(target)
    yield out


def test_every_shipped_rule_matches_parsel_on_sandbox_pages(pages: list[tuple[str, str]]
                                                            ) -> None:
    profiles = [shipped_profile(n) for n in shipped_profile_names()]
    compared = 0
    matched = 0
    for _, html in pages:
        sel = Selector(text=html)
        for profile in profiles:
            compared += _compare(sel, _rules(profile))
            matched += sum(1 for v in extract_fields(sel, profile.extract.fields).values() if v)
        assert raw_values(sel, "a::attr(href)") == sel.css("a::attr(href)").getall()
    assert len(pages) >= 30
    assert compared > 1000 and matched > 100  # the rules really matched things


HOSTILE = """<html><head><link rel="canonical" href="  /item/1.html?b=2&a=1 ">
<title>t</title></head><body>
<h1 class="item-title"> Plush <b>Doll</b>\n\t toy </h1>
<div class="item-card" data-id="7"><a class="item-link" href="/i/7">x</a>
  <span data-id="8">nested</span></div>
<div class="item-card" data-id="9"><a class="item-link" href="/i/9">y</a></div>
<td class="brand">Brand / Tongle</td><td class="brand"> </td>
<p class="filing-number">Filing No. 沪ICP备12345号 extra</p>
<div class="detail" data-id="D1"><img data-src="a.png"><img data-src=""></div>
<script>var x = "<h1 class='item-title'>fake</h1>";</script>
<p>&lt;script&gt;alert(1)&lt;/script&gt; \x01ctl</p>
</body></html>"""


@pytest.mark.parametrize("rule", [
    "h1.item-title::text",
    "h1.item-title",
    "td.brand::text | re:/\\s*(.+)$",
    "td.brand::text | re:nomatch(\\d+)",
    "::attr(data-id)",
    "div.item-card::attr(data-id)",
    "p.filing-number::text | re:Filing No\\.\\s*(\\S+)",
    "div.detail img::attr(data-src)",
    "xpath://h1/text()",
    "xpath:count(//div[@class='item-card'])",
    "xpath:boolean(//h1)",
    "xpath://td[re:test(@class, '^br')]/text()",
    "xpath://*[has-class('item-card')]/@data-id",
    "p::text",
    "nothing.here::text",
])
def test_rules_on_hostile_markup(rule: str) -> None:
    sel = Selector(text=HOSTILE)
    assert select_all(sel, rule) == _parsel_one(sel, rule)
    response = HtmlResponse("http://h.test/", body=HOSTILE.encode(), encoding="utf-8")
    assert select_all(response, rule) == _parsel_one(response.selector, rule)


def test_select_joins_text_and_cards_scope_to_their_element() -> None:
    sel = Selector(text=HOSTILE)
    assert select(sel, "h1.item-title::text") == "Plush toy"  # direct text nodes, joined
    assert select(sel, "td.nope::text || td.brand::text | re:/\\s*(.+)$") == "Tongle"
    assert select(sel, "link[rel='canonical']::attr(href)") == "/item/1.html?b=2&a=1"
    assert raw_values(sel, "link[rel='canonical']::attr(href)") == [
        "  /item/1.html?b=2&a=1 "]
    cards = elements(sel, "div.item-card")
    assert [select(c, "a.item-link::attr(href)") for c in cards] == ["/i/7", "/i/9"]
    # "::attr" on a card covers the card and what it contains, as in parsel.
    assert select_all(cards[0], "::attr(data-id)") == ["7", "8"]
    assert select_all(cards[1], "::attr(data-id)") == ["9"]


@pytest.mark.parametrize("body, encoding", [
    (HOSTILE.encode(), "utf-8"),
    ("<html><body><h1 class='item-title'>儿童玩具 毛绒</h1></body></html>".encode("gbk"), "gbk"),
    (b"", "utf-8"),
    (b"   \n ", "utf-8"),
    (b"<!-- only a comment -->", "utf-8"),
    (b"\x00<p>NUL\x00s</p>\x00", "utf-8"),
    (b"<p>unclosed <b>tags <i>everywhere", "utf-8"),
])
def test_page_tree_is_parsels_tree(body: bytes, encoding: str) -> None:
    """Pages are parsed once, with a reused parser, into the tree parsel would build."""
    from lxml import etree

    from crawlers.extract.fields import page_root

    response = HtmlResponse("http://h.test/p", body=body, encoding=encoding)
    root = page_root(response)
    assert page_root(response) is root  # parsed once per page
    reference = response.selector.root
    assert etree.tostring(root, encoding="unicode") == etree.tostring(reference,
                                                                      encoding="unicode")
    assert type(root) is type(reference)  # lxml.html elements, as parsel's


def test_page_trees_from_the_sandbox_are_parsels(pages: list[tuple[str, str]]) -> None:
    from lxml import etree

    from crawlers.extract.fields import page_root

    for n, (_, html) in enumerate(pages):
        response = HtmlResponse(f"http://h.test/{n}", body=html.encode(), encoding="utf-8")
        assert etree.tostring(page_root(response)) == etree.tostring(response.selector.root)
