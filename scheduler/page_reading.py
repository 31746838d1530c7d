"""The crawl's reading of a rendered page, handed to evidence captures and to checkout.

Why: :mod:`evidence` reads a captured page's markup only and may not import :mod:`crawlers`;
a shop that says "sold out" only in the page's text (a stock note, a disabled buy button, a
plain "Sold out" beside the price) would read as in stock on a re-capture while the crawl
reads it as sold out.  The scheduler composes both, so it hands this reader to the
captures it asks for (``evidence.facts.PageReader``), and checkout judges a page with it.
"""

from __future__ import annotations

from typing import Any


def read_availability(dom: str, url: str) -> dict[str, Any]:
    """The availability the crawl's extractor reads on a page (markup, then the visible
    page) and where it read it: ``{"availability": "out_of_stock", "source":
    "dom:stock-text"}``; both None when the page says nothing."""
    from crawlers.extract.generic import read_page

    page = read_page(dom, url)
    return {"availability": page.fields.get("availability"),
            "source": page.sources.get("availability")}
