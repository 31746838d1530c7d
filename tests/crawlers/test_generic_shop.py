"""A shop no profile describes, crawled with the generic (structured-data) profile from a
real HTTP server on 127.0.0.1: categories under ``/shop/<category>/`` (a path that looks like a
storefront's), product links with tracking parameters, product pages with JSON-LD ``@graph``,
microdata, OpenGraph only, and none at all (a GBK page showing its heading, price, buy button
and spec table), a seller page under ``/shop/<name>/`` known by its filing number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.listings import listing_row
from crawlers.platforms import add_platform
from crawlers.profile import parse_profile, shipped_profile
from store.db import Database
from store.models import Listing, Seller
from store.settings import Settings
from tests.conftest import SiteHandler, serve_http
from tests.crawlers.conftest import crawl

SELLER = '<a class="seller-link" href="/shop/acme-store/">Acme 旗舰店</a>'


def _page(body: str, head: str = "", lang: str = "en", charset: str = "utf-8") -> str:
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="{charset}">{head}</head>'
            f'<body><nav><a href="/">Home</a> <a href="/shop/kitchen/">Kitchen</a> '
            f'<a href="/shop/garden/">Garden</a> <a href="/cart">Cart</a></nav>{body}'
            '<footer>© Acme</footer></body></html>')


def _card(path: str, name: str, price: str) -> str:
    return (f'<div class="card"><a href="{path}?utm_source=home&amp;utm_medium=grid&amp;'
            f'spm=a2.b3"><img src="/i.png">{name}</a><span class="amount">{price}</span></div>')


def _ld(data: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


PAGES: dict[str, tuple[str, bytes]] = {}


def _add(path: str, html: str, content_type: str = "text/html; charset=utf-8",
         encoding: str = "utf-8") -> None:
    PAGES[path] = (content_type, html.encode(encoding))


_add("/", _page('<h1>Acme</h1><a href="/shop/kitchen/">Kitchen</a>'))
_add("/shop/kitchen/", _page(
    "<h1>Kitchen</h1>" + _card("/shop/kitchen/kettle-1001.html", "Kettle", "$29.90")
    + _card("/shop/kitchen/mill-1002.html", "Mill", "$12.00")
    + _card("/shop/kitchen/pan-1003.html", "Pan", "$99.00"),
    head='<link rel="next" href="/shop/kitchen/?page=2">'))
_add("/shop/kitchen/?page=2", _page(
    "<h1>Kitchen, page 2</h1>" + _card("/shop/kitchen/knife-1004.html", "Knife", "€39,90")))
_add("/shop/garden/", _page(
    "<h1>Garden</h1>" + _card("/shop/garden/hose-2001.html", "Hose", "19,90 ₽")
    + _card("/shop/garden/lamp-2002.html", "灯", "¥1,299.00")
    + _card("/shop/garden/chair-2003.html", "Chair", "$45.00")))
_add("/shop/kitchen/kettle-1001.html", _page(
    '<h1>Acme Electric Kettle 1.7 L</h1><p class="price">$29.90</p>'
    '<button class="add-to-cart">Add to cart</button>' + SELLER,
    head=_ld({"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "name": "Kettle"},
        {"@type": "Product", "name": "Acme Electric Kettle 1.7 L", "sku": "AK-17",
         "brand": {"@type": "Brand", "name": "Acme"},
         "offers": {"@type": "Offer", "price": "29.90", "priceCurrency": "USD",
                    "availability": "https://schema.org/InStock"}}]})))
_add("/shop/kitchen/mill-1002.html", _page(
    '<h1>Salt &amp; Pepper Mill</h1><p class="price">$12.00</p>'
    '<button class="add-to-cart" disabled>Sold out</button>',
    head=_ld({"@context": "https://schema.org", "@type": "Product",
              "name": "Salt &amp;amp; Pepper Mill", "sku": "SPM-2",
              "offers": {"price": "12.00", "priceCurrency": "USD",
                         "availability": "OutOfStock"}})))
_add("/shop/kitchen/pan-1003.html", _page(
    '<div itemscope itemtype="https://schema.org/Product">'
    '<h1 itemprop="name">Cast Iron Pan 28 cm</h1>'
    '<span itemprop="brand" itemscope itemtype="https://schema.org/Brand">IronCo</span>'
    '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
    '<meta itemprop="priceCurrency" content="USD"><meta itemprop="price" content="129.00">'
    '<del class="old-price">$129.00</del> <span class="price sale">$99.00</span></div>'
    '<table><tr><th>SKU</th><td>CIP-28</td></tr></table>'
    '<button>Add to cart</button></div>'))
_add("/shop/kitchen/knife-1004.html", _page(
    '<h1>Kochmesser 20 cm</h1><div class="product-price">39,90 €</div>'
    '<p class="stock">Auf Lager</p><button>In den Warenkorb</button>'
    '<dl><dt>Marke</dt><dd>Klinge</dd><dt>Artikelnummer</dt><dd>KM-20</dd></dl>',
    lang="de-DE", head='<meta property="og:type" content="product">'
    '<meta property="og:title" content="Kochmesser 20 cm – Jetzt kaufen bei Acme">'))
_add("/shop/garden/hose-2001.html", _page(
    '<h1>Шланг садовый 20 м</h1><span class="price">1 290 ₽</span><button>В корзину</button>',
    lang="ru", head='<meta property="og:type" content="product">'
    '<meta property="product:price:amount" content="1290">'
    '<meta property="product:price:currency" content="RUR">'))
_add("/shop/garden/lamp-2002.html", _page(
    '<h1>太阳能庭院灯</h1><div class="price">¥1,299.00</div><a class="btn buy">立即购买</a>'
    '<table class="spec"><tr><td>品牌</td><td>光明</td></tr><tr><td>型号</td><td>GM-3</td>'
    '</tr></table><p>缺货提醒</p>' + SELLER,
    lang="zh-CN", charset="gbk"), "text/html", "gb18030")
_add("/shop/garden/chair-2003.html", _page(
    '<h1>Folding Chair</h1><span class="price">$45.00</span>'
    '<p class="availability">Pre-order now, ships in May</p><button>Pre-order</button>',
    head=_ld({"@type": "Product", "name": "Folding Chair", "offers": {
        "price": 45, "priceCurrency": "USD"}})))
_add("/shop/acme-store/", _page(
    '<h1>Acme 旗舰店</h1><p>Cross-border e-commerce filing 备案编号: ACME123456</p>'
    '<p>营业执照: 91330100MA2AXXXX1X</p><p>电话 13800138000</p>'
    + _card("/shop/kitchen/kettle-1001.html", "Kettle", "$29.90"), lang="zh-CN"))


class Handler(SiteHandler):
    def do_GET(self) -> None:
        content_type, body = PAGES.get(self.path, ("text/html", b"not found"))
        self.send(200 if self.path in PAGES else 404, body, content_type)


@pytest.fixture()
def shop_site() -> Iterator[str]:
    with serve_http(Handler) as url:
        yield url


def test_generic_profile_indexes_a_shop_by_page_content(
        shop_site: str, sqlite_db: Database, settings: Settings) -> None:
    data = shipped_profile("structured-data").model_dump()
    data["politeness"]["autothrottle"] = False
    with sqlite_db.session() as s:
        add_platform(s, "newshop", start_url=shop_site,
                     profile=parse_profile(data, "test profile"))
    summary = crawl(settings, "newshop")
    assert summary.status == "finished"
    with sqlite_db.session() as s:
        rows = {r.external_id: r for r in s.scalars(select(Listing))}
        sellers = {r.external_id: r for r in s.scalars(select(Seller))}
    # Every product, none of the category pages (whose paths look like storefronts').
    assert set(rows) == {f"/shop/kitchen/{n}.html" for n in ("kettle-1001", "mill-1002",
                                                            "pan-1003", "knife-1004")} | {
        f"/shop/garden/{n}.html" for n in ("hose-2001", "lamp-2002", "chair-2003")}
    kettle = rows["/shop/kitchen/kettle-1001.html"]
    assert (kettle.title, kettle.model, kettle.brand, kettle.price, kettle.currency) == (
        "Acme Electric Kettle 1.7 L", "AK-17", "Acme", Decimal("29.90"), "USD")
    assert "utm_source" not in kettle.url
    assert kettle.raw["sources"]["title"] == "jsonld"
    assert kettle.raw["fields"]["availability"] == "in_stock"
    mill = rows["/shop/kitchen/mill-1002.html"]
    assert mill.title == "Salt & Pepper Mill"  # escaped twice in the markup
    assert mill.raw["fields"]["availability"] == "out_of_stock"
    pan = rows["/shop/kitchen/pan-1003.html"]
    assert (pan.price, pan.brand) == (Decimal("99.00"), "IronCo")
    assert pan.raw["fields"]["list_price"] == "129"
    assert pan.raw["sources"]["price"] == "dom:price"
    assert pan.raw["sources"]["model"] == "dom:spec-table"
    knife = rows["/shop/kitchen/knife-1004.html"]
    assert (knife.title, knife.price, knife.currency, knife.brand, knife.model) == (
        "Kochmesser 20 cm", Decimal("39.90"), "EUR", "Klinge", "KM-20")
    assert knife.raw["sources"]["title"] == "dom:h1"
    assert knife.raw["fields"]["availability"] == "in_stock"
    hose = rows["/shop/garden/hose-2001.html"]
    assert (hose.price, hose.currency) == (Decimal("1290"), "RUB")
    lamp = rows["/shop/garden/lamp-2002.html"]
    assert (lamp.title, lamp.brand, lamp.model, lamp.price, lamp.currency) == (
        "太阳能庭院灯", "光明", "GM-3", Decimal("1299.00"), "CNY")
    assert lamp.raw["sources"]["brand"] == "dom:spec-table"
    chair = rows["/shop/garden/chair-2003.html"]
    assert chair.raw["fields"]["availability"] == "pre_order"
    # The seller page is known by its filing number, and its listings point to it.
    assert "/shop/acme-store/" in sellers
    assert sellers["/shop/acme-store/"].filing_number == "ACME123456"
    assert kettle.seller_id == sellers["/shop/acme-store/"].id
    # The listing's detail (listings --json, the console) says where each field came from.
    row = listing_row(lamp, "newshop", None)
    assert row["field_sources"]["title"] == "dom:h1"
    assert row["extracted_fields"]["availability"] == "in_stock"
