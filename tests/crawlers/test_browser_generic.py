"""A shop whose pages are drawn by JavaScript, crawled with the generic (structured-data)
profile in Chromium: the rendered DOM is recognised by its content exactly as a static page
is (a grid of product cards is a listing; one main product, by JSON-LD inserted at run time
or by its heading, price and buy button alone, is a product page).  Without the browser the
same shop shows empty shells and nothing is indexed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.platforms import add_platform
from crawlers.profile import parse_profile, shipped_profile
from store.db import Database
from store.models import Listing
from store.settings import Settings
from tests.conftest import SiteHandler, serve_http
from tests.crawlers.conftest import crawl

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _app(markup: str, lang: str = "en") -> bytes:
    """A page whose body is an empty shell that a script fills in."""
    # "</" escaped: a "</script>" in the string would end the script that writes it.
    literal = json.dumps(markup).replace("</", "<\\/")
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"></head><body>'
            f'<div id="app"></div><script>document.getElementById("app").innerHTML = '
            f'{literal};</script></body></html>').encode()


def _ld_script(data: Any) -> str:
    # Inserted as a real script element at run time (innerHTML scripts are kept in the DOM).
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def _card(path: str, name: str, price: str) -> str:
    return f'<div class="tile"><a href="{path}"><img src="/i.png">{name}</a><b>{price}</b></div>'


PAGES = {
    "/": _app("<h1>Lamps</h1>" + _card("/item?id=101", "Desk lamp", "$19.00")
              + _card("/item?id=102", "Floor lamp", "$89.00")
              + _card("/item?id=103", "Night light", "$9.50")),
    "/item?id=101": _app(
        '<h1>Desk lamp</h1><p class="price">$19.00</p><button>Add to cart</button>'
        + _ld_script({"@context": "https://schema.org", "@type": "Product", "name": "Desk lamp",
                      "sku": "DL-101", "offers": {"price": "19.00", "priceCurrency": "USD",
                                                  "availability": "InStock"}})),
    "/item?id=102": _app('<h1>Floor lamp</h1><p class="price">$89.00</p>'
                         '<button>Add to cart</button><table><tr><th>SKU</th>'
                         '<td>FL-102</td></tr></table>'),
    "/item?id=103": _app('<h1>Night light</h1><p class="price">$9.50</p>'
                         '<p class="stock">Out of stock</p>'
                         '<button class="add-to-cart" disabled>Add to cart</button>'),
}


class _Handler(SiteHandler):
    def do_GET(self) -> None:
        body = PAGES.get(self.path)
        if body is None:
            self.send(404)
            return
        self.send(200, body, "text/html; charset=utf-8")


@pytest.fixture()
def js_shop() -> Iterator[str]:
    with serve_http(_Handler) as url:
        yield url


def _profile(browser: bool) -> Any:
    data = shipped_profile("structured-data").model_dump()
    data["politeness"]["autothrottle"] = False
    data["browser"]["enabled"] = browser
    return parse_profile(data, "test profile")


def test_rendered_pages_are_known_by_their_content(
        js_shop: str, sqlite_db: Database, settings: Settings,
        chromium_path: str | None) -> None:
    with sqlite_db.session() as s:
        add_platform(s, "jsshop", start_url=js_shop, profile=_profile(True))
        add_platform(s, "jsshop-static", start_url=js_shop, profile=_profile(False))
    summary = crawl(settings, "jsshop")
    assert summary.status == "finished", summary
    with sqlite_db.session() as s:
        rows = {r.external_id: r for r in s.scalars(select(Listing))}
    assert set(rows) == {"/item?id=101", "/item?id=102", "/item?id=103"}
    desk = rows["/item?id=101"]
    assert (desk.title, desk.price, desk.currency, desk.model) == (
        "Desk lamp", Decimal("19.00"), "USD", "DL-101")
    assert desk.raw["sources"]["title"] == "jsonld"
    floor = rows["/item?id=102"]
    assert (floor.title, floor.price) == ("Floor lamp", Decimal("89.00"))
    assert floor.raw["sources"]["title"] == "dom:h1"
    assert floor.raw["fields"]["availability"] == "in_stock"
    night = rows["/item?id=103"]
    assert night.raw["fields"]["availability"] == "out_of_stock"
    # Without the browser the shells hold nothing to know a page by.
    static = crawl(settings, "jsshop-static")
    # (A crawl that indexed nothing is recorded as incomplete, never as "all removed".)
    assert (static.status, static.items) == ("incomplete", 0), static
    with sqlite_db.session() as s:
        assert len(list(s.scalars(select(Listing)))) == 3
