"""What the spider asks of an HTML page: the values of field rules, the cards of a listing
grid, whether it says it was removed, what the generic reader finds in it.

Each question is an *op*, a small hashable tuple, answered by :func:`answer` in the crawl's
own process (extraction workers in other processes were measured as no gain and removed).
"""

from __future__ import annotations

from typing import Any

from scrapy.http import TextResponse

from crawlers.extract.fields import elements, extract_fields, raw_values, select, select_all
from crawlers.extract.listing import CANONICAL, ListingRecipe, css_listing
from crawlers.extract.text import decode_html

#: An op: (name, *arguments), every argument hashable.
Op = tuple[Any, ...]

#: How much of a page a "removed" marker is looked for in.
MARKER_SPAN = 200_000
__all__ = ["CANONICAL", "Op", "Page", "answer"]


def fields_op(rules: dict[str, str]) -> Op:
    return ("fields", tuple(rules.items()))


def cards_op(card: str, link: str, fields: dict[str, str]) -> Op:
    return ("cards", card, link, tuple(fields.items()))


def page_text(response: TextResponse) -> str:
    """The page's text as the generic reader decodes a page (crawlers.extract.text
    .decode_html), not as Scrapy did.

    Why: Scrapy follows a page's ``<meta charset=gbk>`` even when its bytes are UTF-8 (a
    page re-saved as UTF-8 that kept its old ``<meta>``, as a Taobao page of the development
    set does), so a crawl read mojibake where the extractor alone read the page right.  When
    Scrapy settled on UTF-8 the two agree, and its text is taken as it is."""
    if response.encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return response.text
    content_type = response.headers.get(b"Content-Type")
    return decode_html(response.body,
                       content_type.decode("latin-1") if content_type else None)[0]


def answer(response: TextResponse, op: Op, context: dict[str, Any] | None = None) -> Any:
    """The answer to *op* for *response*, computed here.  *context*: what the page's link
    said about it (a listing card's fields), for the ``listing`` op."""
    name = op[0]
    if name == "select":
        return select(response, op[1])
    if name == "select_all":
        return select_all(response, op[1])
    if name == "raw":
        return raw_values(response, op[1])
    if name == "fields":
        return extract_fields(response, dict(op[1]))
    if name == "cards":
        _, card, link, rules = op
        out = []
        for element in elements(response, card):
            href = select(element, link)
            if href:
                out.append((href, {k: v for k, v in extract_fields(element, dict(rules)).items()
                                   if v}))
        return out
    if name == "markers":
        text = response.text[:MARKER_SPAN]
        return any(marker in text for marker in op[1])
    if name == "generic":
        from crawlers.extract.generic import read_page

        language = response.headers.get(b"Content-Language")
        return read_page(page_text(response), response.url,
                         content_language=language.decode("latin-1") if language else None)
    if name == "listing":
        return css_listing(response, op[1], context)
    if name == "first":
        found = raw_values(response, op[1])
        return found[0] if found else None
    if name == "text":
        return " ".join(raw_values(response, op[1]))[:op[2]]
    raise ValueError(f"unknown op {name!r}")


class Page:
    """One HTML page as the spider sees it, with what its link said about it (*context*)."""

    __slots__ = ("context", "response")

    def __init__(self, response: TextResponse, context: dict[str, Any] | None = None) -> None:
        self.response = response
        self.context = context

    def ask(self, op: Op) -> Any:
        return answer(self.response, op, self.context)

    def select(self, rules: str) -> str | None:
        result: str | None = self.ask(("select", rules))
        return result

    def select_all(self, rules: str) -> list[str]:
        result: list[str] = self.ask(("select_all", rules))
        return result

    def raw_values(self, rule: str) -> list[str]:
        result: list[str] = self.ask(("raw", rule))
        return result

    def fields(self, rules: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = self.ask(fields_op(rules))
        return result

    def cards(self, card: str, link: str, fields: dict[str, str]) -> list[tuple[str, dict]]:
        """(link, non-empty card fields) of every card that has a link."""
        result: list[tuple[str, dict]] = self.ask(cards_op(card, link, fields))
        return result

    def first(self, query: str) -> str | None:
        """The first match of a CSS *query*, as Scrapy's ``.get()`` gives it."""
        result: str | None = self.ask(("first", query))
        return result

    def text(self, query: str, limit: int) -> str:
        """The text nodes matching *query*, joined by spaces, cut to *limit* characters."""
        result: str = self.ask(("text", query, limit))
        return result

    def listing(self, recipe: ListingRecipe) -> tuple[Any, str | None]:
        """(prepared listing or None, seller link as written): see crawlers.extract.listing."""
        result: tuple[Any, str | None] = self.ask(("listing", recipe))
        return result

    def says_removed(self, markers: tuple[str, ...]) -> bool:
        return bool(markers) and bool(self.ask(("markers", markers)))

    def generic(self) -> Any:
        """What the page is and shows, by its content (crawlers.extract.generic.GenericPage)."""
        return self.ask(("generic",))
