"""CSS/XPath field rules, as profiles write them.

A rule is a CSS selector (with Scrapy's ``::text`` / ``::attr(name)``) or, prefixed with
``xpath:``, an XPath expression.  Several rules may be given separated by `` || ``: the first
that yields something wins, so a profile can fall back from structured markup to visible text.
A trailing ``| re:PATTERN`` keeps the first group of a regex on the result (e.g. the filing
number after a label).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

#: Listing/seller fields that hold lists (all matches are kept, not just the first).
LIST_FIELDS = frozenset({"cert_marks", "image_urls"})


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _one(sel: Any, rule: str) -> list[str]:
    rule, _, post = rule.partition(" | re:")
    rule = rule.strip()
    found = sel.xpath(rule[6:]) if rule.startswith("xpath:") else sel.css(rule)
    values = [" ".join(v.split()) for v in found.getall()]
    values = [v for v in values if v]
    if post:
        rx = _regex(post.strip())
        out = []
        for v in values:
            m = rx.search(v)
            if m:
                out.append(m.group(1) if m.groups() else m.group(0))
        values = out
    return values


def select_all(sel: Any, rules: str) -> list[str]:
    """All values of the first alternative (``a || b``) that yields any."""
    for rule in rules.split("||"):
        values = _one(sel, rule)
        if values:
            return values
    return []


def select(sel: Any, rules: str) -> str | None:
    """The first alternative that yields any: its text nodes joined, or its first attribute."""
    for rule in rules.split("||"):
        values = _one(sel, rule)
        if values:
            # Text split by inline markup ("价格 <b>¥12</b>") is joined back; attributes are not.
            return " ".join(values) if "text" in rule.partition(" | re:")[0] else values[0]
    return None


def extract_fields(sel: Any,
                   rules: dict[str, str]) -> dict[str, str | list[str] | None]:
    """Apply a profile's field rules to a page."""
    out: dict[str, str | list[str] | None] = {}
    for name, rule in rules.items():
        out[name] = select_all(sel, rule) if name in LIST_FIELDS else select(sel, rule)
    return out
