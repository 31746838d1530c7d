"""What the spider asks of an HTML page, as questions that can be answered elsewhere.

The spider's questions about a page ("the values of these field rules", "the cards of this
listing grid", "does it say it was removed") are *ops*: small hashable tuples.  A
:class:`Page` answers them from answers computed beforehand by an extraction worker
(:mod:`crawlers.extract.workers`) when there are any, and by parsing the page in this process
otherwise.  Both go through :func:`answer`, so a worker's answer is, by construction, the
answer this process would have given.

Why: Scrapy runs every callback on one thread; on a static shop, parsing the HTML and
evaluating a dozen rules per page is most of a crawl's CPU, and a second core sits idle.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import TextResponse

from crawlers.extract.fields import elements, extract_fields, raw_values, select, select_all
from crawlers.extract.listing import CANONICAL, ListingRecipe, css_listing

#: An op: (name, *arguments), every argument hashable.
Op = tuple[Any, ...]
#: The ops a spider asks of one kind of page, in the order it asks them.
Plan = tuple[Op, ...]

#: How much of a page a "removed" marker is looked for in.
MARKER_SPAN = 200_000
__all__ = ["CANONICAL", "Op", "Page", "Plan", "answer", "answer_all"]


def fields_op(rules: dict[str, str]) -> Op:
    return ("fields", tuple(rules.items()))


def cards_op(card: str, link: str, fields: dict[str, str]) -> Op:
    return ("cards", card, link, tuple(fields.items()))


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
        return read_page(response.text, response.url,
                         content_language=language.decode("latin-1") if language else None)
    if name == "listing":
        return css_listing(response, op[1], context)
    if name == "first":
        found = raw_values(response, op[1])
        return found[0] if found else None
    if name == "text":
        return " ".join(raw_values(response, op[1]))[:op[2]]
    raise ValueError(f"unknown op {name!r}")


def answer_all(response: TextResponse, plan: Plan, context: dict[str, Any] | None = None
               ) -> dict[Op, Any]:
    return {op: answer(response, op, context) for op in plan}


class Page:
    """One HTML page as the spider sees it: answers given beforehand, or computed on demand."""

    __slots__ = ("answers", "context", "response")

    def __init__(self, response: TextResponse, answers: dict[Op, Any] | None = None,
                 context: dict[str, Any] | None = None) -> None:
        self.response = response
        self.answers = answers or {}
        self.context = context

    def ask(self, op: Op) -> Any:
        try:
            return self.answers[op]
        except KeyError:
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
