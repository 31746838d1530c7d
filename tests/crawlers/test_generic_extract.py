"""The generic extractor, signal by signal (offline): page kinds, each field's sources and
reconciliation, availability in the shops' languages, encodings, double escaping, currencies,
prices in the page's locale."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from crawlers.extract import availability as avail
from crawlers.extract.generic import read_page
from crawlers.extract.labels import label_of
from crawlers.extract.money import (
    currency_from_symbol,
    iso_currency,
    markup_amount,
    region_currency,
    url_region,
)
from crawlers.extract.reconcile import url_product_id
from crawlers.extract.text import decode_html, unescape_again


def html(body: str, head: str = "", lang: str = "en") -> str:
    return f'<html lang="{lang}"><head>{head}</head><body>{body}</body></html>'


def ld(data: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


PRODUCT = {"@type": "Product", "name": "Cheese Slicer", "sku": "CS-1",
           "offers": {"price": "19.99", "priceCurrency": "USD",
                      "availability": "http://schema.org/InStock"}}


# -- page kinds ---------------------------------------------------------------------------

def test_product_page_from_jsonld_graph() -> None:
    page = read_page(html("<h1>Cheese Slicer</h1>", ld({"@graph": [
        {"@type": "BreadcrumbList", "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Kitchen"},
            {"@type": "ListItem", "position": 2, "name": "Tools"}]}, PRODUCT]})),
        "http://s.test/p/1")
    assert page.kind == "product"
    assert (page.fields["title"], page.fields["sku"], page.fields["price"]) == (
        "Cheese Slicer", "CS-1", Decimal("19.99"))
    assert page.sources["title"] == "jsonld" and page.sources["price"] == "jsonld"
    assert page.fields["breadcrumbs"] == ["Kitchen", "Tools"]


def test_product_page_from_the_visible_page_only() -> None:
    page = read_page(html(
        '<h1>Garden Hose 20 m</h1><span class="price">$24.50</span>'
        '<button id="add-to-cart">Add to cart</button>'
        '<table><tr><th>Brand</th><td>Hoser</td></tr><tr><th>Item model number</th>'
        '<td>GH-20</td></tr></table>'), "http://s.test/garden/hose")
    assert page.kind == "product"
    assert page.fields["title"] == "Garden Hose 20 m" and page.sources["title"] == "dom:h1"
    assert page.fields["price"] == Decimal("24.50") and page.sources["price"] == "dom:price"
    assert page.fields["currency"] == "USD"
    assert (page.fields["brand"], page.sources["brand"]) == ("Hoser", "dom:spec-table")
    assert page.fields["mpn"] == "GH-20"
    assert (page.fields["availability"], page.sources["availability"]) == (
        "in_stock", "dom:buy-button")


def test_listing_page_by_repeated_cards() -> None:
    cards = "".join(f'<div class="tile"><a href="/shop/x/item-{i}.html?utm_source=a">'
                    f'<img src="i.png">Item {i}</a><b>€{i},99</b></div>' for i in range(5))
    page = read_page(html("<h1>Tools</h1>" + cards), "http://s.test/shop/tools/")
    assert page.kind == "listing"
    assert page.product_links[:2] == ["/shop/x/item-0.html?utm_source=a",
                                      "/shop/x/item-1.html?utm_source=a"]


def test_seller_page_by_its_facts_not_its_url() -> None:
    page = read_page(html("<h1>优选旗舰店</h1><p>备案编号: AB12345678</p><p>电话 13912345678</p>",
                          lang="zh-CN"), "http://s.test/shop/kitchen/")
    assert page.kind == "seller"
    category = read_page(html("<h1>Kitchen</h1><p>Knives and pans</p>"),
                         "http://s.test/sellers/acme/")
    assert category.kind == "other"


def test_listing_markup_naming_many_products_is_not_a_product_page() -> None:
    items = [{"@type": "Product", "name": f"P{i}", "url": f"http://s.test/p/{i}",
              "offers": {"price": i + 1}} for i in range(4)]
    cards = "".join(f'<li class="c"><a href="/p/{i}">P{i}</a><span>${i + 1}.00</span></li>'
                    for i in range(4))
    page = read_page(html(f"<h1>All</h1><ul>{cards}</ul>", "".join(ld(i) for i in items)),
                     "http://s.test/all")
    assert page.kind == "listing"


def _grid(n: int, buy: bool = False) -> str:
    """*n* product cards alike (a recommendation carousel or a category's grid)."""
    button = '<button class="add-to-cart">Add to cart</button>' if buy else ""
    return "".join(f'<li class="rec-card"><a href="/p/{i}"><img src="{i}.png">Other thing {i}'
                   f'</a><span class="price">${i + 3}.49</span>{button}</li>'
                   for i in range(n))


def test_product_page_with_a_recommendation_carousel_is_a_product_page() -> None:
    # As Amazon-like pages show one: the main heading with its own price, buy-now and
    # add-to-cart controls (and the header's cart), a product id, then cards of OTHER products
    # each with a price.  Read as a listing before, so a crawl dropped the product.
    page = read_page(html(
        '<a class="nav-cart" href="/cart">Cart</a><h1 id="title">Rolling Duffle Bag 36"</h1>'
        '<span class="a-price">$87.11</span><input type="submit" id="add-to-cart-button" '
        'value="Add to Cart"><input type="submit" id="buy-now-button" value="Buy Now">'
        '<table><tr><th>ASIN</th><td>B07XYZ1234</td></tr></table>'
        f'<h2>Customers also bought</h2><ul>{_grid(8, buy=True)}</ul>'),
        "http://s.test/dp/B07XYZ1234")
    assert page.kind == "product", page.reasons
    assert page.fields["price"] == Decimal("87.11")
    assert page.product_links == []


def test_heading_and_price_alone_are_not_a_product_page() -> None:
    # Nothing else says a product is sold here (no buy control, id, stock note): an article or
    # a landing page with a figure in it stays a page to navigate through.
    page = read_page(html("<h1>Our prices</h1><p>From $10.00 a month</p>"),
                     "http://s.test/pricing")
    assert page.kind != "product"


def test_sold_out_product_page_without_a_price_is_a_product_page() -> None:
    # As four of Amazon's pages in Zyte's benchmark: no price shown, "Currently unavailable",
    # the product's id in its details table.  Read as "other" before, so a crawl never saw the
    # product go out of stock.
    page = read_page(html(
        '<h1 id="title">Potato Chips, Sour Cream and Onion, 5 oz</h1>'
        '<div id="availability"><span>Currently unavailable.</span></div>'
        '<table><tr><th>Brand</th><td>365</td></tr><tr><th>ASIN</th><td>B074H5XR5T</td></tr>'
        '</table>'), "http://s.test/dp/B074H5XR5T")
    assert page.kind == "product", page.reasons
    assert page.fields["availability"] == "out_of_stock"


def test_category_of_sold_out_cards_with_ids_stays_a_listing() -> None:
    cards = "".join(f'<li class="tile"><a href="/p/{i}"><img src="{i}.png">Chips {i}</a>'
                    f'<span>SKU: CH-{i}</span><span class="price">${i}.99</span>'
                    f'<span class="stock">Sold out</span></li>' for i in range(1, 7))
    page = read_page(html(f"<h1>Crisps</h1><ul>{cards}</ul>"), "http://s.test/c/crisps")
    assert page.kind == "listing", page.reasons


def test_buy_link_in_a_wrapper_named_for_buying_is_a_buy_control() -> None:
    # As a Taiwanese shop writes it: the class is on the wrapper, the link has none.
    page = read_page(html(
        '<h1>UNIFLAME 不鏽鋼碗籃組 660416</h1><span>$2,320</span><div class="buyBtn">'
        '<a href="javascript:buy_process(\'Iq\');">加入購物車</a></div>', lang="zh-TW"),
        "http://s.test/p/660416")
    assert page.kind == "product" and "buy control" in page.reasons, page.reasons


#: Buy controls as real shops draw them, with no text or class a button would have; each
#: page below was read as a listing (its grid of recommendations) before they counted.
DRAWN_BUY_CONTROLS = {
    # HTML's image button: its alt text is its label (a scrapely sample shop's).
    "image button": '<input type="image" src="b/in_cart.gif" alt="Add to Cart">',
    # An icon link named for buying by its id (Taiwanese shops: "buy_btn", "buyBtn").
    "icon link named buy_btn": '<a id="buy_btn" href="javascript:;"><div class="icon"></div></a>',
    # The wrapper named for buying, its one link labelled with a delivery offer.
    "wrapper named buyBtn": ('<div class="buyBtn"><a href="javascript:buy_process(\'I6\');">'
                             '跨店宅配<span>0</span>元免運</a></div>'),
    # A plain link whose whole label asks to buy and which runs a script (Croatian "Kupi").
    "link labelled Kupi": '<a href="#" class="cta" data-id="380">Kupi</a>',
    "link labelled Add to cart": '<a href="javascript:void(0)">Add to cart</a>',
}


@pytest.mark.parametrize("control", DRAWN_BUY_CONTROLS)
def test_buy_controls_drawn_as_image_buttons_links_and_named_wrappers(control: str) -> None:
    page = read_page(html(f'<h1>Orthopaedic insoles S-plus</h1><span class="now">$270.00</span>'
                          f'{DRAWN_BUY_CONTROLS[control]}<h2>Similar</h2><ul>{_grid(4)}</ul>'),
                     "http://s.test/usluga-380")
    assert page.kind == "product", page.reasons
    assert "buy control" in page.reasons


@pytest.mark.parametrize("link", ['<a href="/cart">장바구니</a>', '<a href="/signup">Buy now</a>',
                                  '<a href="/p/9">Add to cart</a>'])
def test_a_link_to_another_page_is_no_buy_control(link: str) -> None:
    # A header's "장바구니" (cart) goes to the cart, a landing page's "Buy now" to a sign-up:
    # navigation, where the same words on a control that runs a script buy this product.
    page = read_page(html(f"{link}<h1>Our plans</h1><p>From $10.00 a month</p>"),
                     "http://s.test/pricing")
    assert page.kind != "product", page.reasons
    lamp = read_page(html(f'<h1>Desk lamp</h1><span class="price">$10.00</span>{link}'),
                     "http://s.test/lamp")
    assert "buy control" not in lamp.reasons, lamp.reasons


def test_category_with_add_to_cart_links_on_every_card_stays_a_listing() -> None:
    cards = "".join(f'<li class="tile"><a href="/p/{i}"><img src="{i}.png">Chips {i}</a>'
                    f'<span class="price">${i}.99</span><a href="#" class="add" '
                    f'data-id="{i}">Add to cart</a></li>' for i in range(1, 7))
    page = read_page(html(f'<div class="buyBtn"><a href="/cart">Cart</a></div><h1>Crisps</h1>'
                          f'<ul>{cards}</ul>'), "http://s.test/c/crisps")
    assert page.kind == "listing", page.reasons


def test_category_with_add_to_cart_on_every_card_stays_a_listing() -> None:
    page = read_page(html('<a class="cart-link" href="/cart">Cart (0)</a><h1>Bags</h1>'
                          f'<p>12 results</p><ul>{_grid(12, buy=True)}</ul>'),
                     "http://s.test/c/bags")
    assert page.kind == "listing"
    assert len(page.product_links) == 12


# -- reconciliation -----------------------------------------------------------------------

def test_title_with_seo_text_gives_way_to_the_heading() -> None:
    seo = dict(PRODUCT, name="Cheese Slicer - Buy Cheese Slicer, Best Price Online")
    page = read_page(html("<h1>Cheese Slicer</h1>", ld(seo)), "http://s.test/p/1")
    assert (page.fields["title"], page.sources["title"]) == ("Cheese Slicer", "dom:h1")


def test_title_differing_from_the_heading_gives_way() -> None:
    page = read_page(html("<h1>Steel Cheese Slicer XL</h1>", ld(dict(
        PRODUCT, name="Generic product name"))), "http://s.test/p/1")
    assert page.fields["title"] == "Steel Cheese Slicer XL"


def test_shown_sale_price_wins_over_the_markups_regular_price() -> None:
    markup = dict(PRODUCT, offers={"price": "129.00", "priceCurrency": "USD"})
    page = read_page(html('<h1>Cheese Slicer</h1><del class="price-old">$129.00</del>'
                          '<span class="price-sale">$99.00</span>', ld(markup)),
                     "http://s.test/p/1")
    assert (page.fields["price"], page.sources["price"]) == (Decimal("99.00"), "dom:price")
    assert page.fields["list_price"] == Decimal("129")


def test_markup_price_kept_when_the_page_agrees() -> None:
    page = read_page(html('<h1>Cheese Slicer</h1><span class="price">$19.99</span>',
                          ld(PRODUCT)), "http://s.test/p/1")
    assert page.sources["price"] == "jsonld" and "list_price" not in page.fields


def test_double_escaped_name_is_decoded() -> None:
    page = read_page(html("<h1>Salt &amp; Pepper</h1>", ld(dict(
        PRODUCT, name="Salt &amp;amp; Pepper"))), "http://s.test/p/1")
    assert page.fields["title"] == "Salt & Pepper"
    assert unescape_again("Tom &amp; Jerry") == "Tom & Jerry"
    assert unescape_again("A & B") == "A & B"


def test_microdata_and_opengraph_sources() -> None:
    micro = ('<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Lamp</h1>'
             '<span itemprop="brand" itemscope itemtype="http://schema.org/Brand">Lumo</span>'
             '<div itemprop="offers" itemscope itemtype="http://schema.org/Offer">'
             '<meta itemprop="price" content="45.00"><meta itemprop="priceCurrency" '
             'content="EUR"><link itemprop="availability" href="http://schema.org/OutOfStock">'
             '</div></div>')
    page = read_page(html(micro), "http://s.test/p/2")
    assert (page.fields["brand"], page.fields["currency"], page.fields["availability"]) == (
        "Lumo", "EUR", "out_of_stock")
    assert page.sources["price"] == "microdata"
    og = read_page(html("<h1>Mug</h1>", '<meta property="og:type" content="product">'
                        '<meta property="og:title" content="Mug">'
                        '<meta property="product:price:amount" content="8.50">'
                        '<meta property="product:price:currency" content="RUR">'),
                   "http://s.test/p/3")
    assert og.kind == "product"
    assert (og.fields["price"], og.fields["currency"], og.sources["price"]) == (
        Decimal("8.50"), "RUB", "og")


def test_sku_from_the_urls_product_id_when_the_page_repeats_it() -> None:
    page = read_page(html('<h1>Phone</h1><span class="price">$5.00</span>'
                          '<p>Item B07ABC1234 · ref B07ABC1234</p>'),
                     "http://s.test/dp/B07ABC1234")
    assert (page.fields["sku"], page.sources["sku"]) == ("B07ABC1234", "url")
    assert url_product_id("http://s.test/int.php?pid=428514&utm_source=x") == "428514"
    assert url_product_id("http://s.test/p/kaercher-k3-848068924/") == "848068924"


# -- availability, labels, money, encodings -----------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("Out of stock", "out_of_stock"), ("In stock", "in_stock"), ("Not in stock", "out_of_stock"),
    ("缺货", "out_of_stock"), ("现货", "in_stock"), ("预售", "pre_order"),
    ("在庫切れ", "out_of_stock"), ("在庫あり", "in_stock"), ("販売終了", "discontinued"),
    ("품절", "out_of_stock"), ("재고 있음", "in_stock"),
    ("Ausverkauft", "out_of_stock"), ("Auf Lager", "in_stock"),
    ("Rupture de stock", "out_of_stock"), ("En stock", "in_stock"),
    ("Agotado", "out_of_stock"), ("Esaurito", "out_of_stock"), ("Esgotado", "out_of_stock"),
    ("Нет в наличии", "out_of_stock"), ("В наличии", "in_stock"),
    ("Uitverkocht", "out_of_stock"), ("Op voorraad", "in_stock"),
    ("Brak w magazynie", "out_of_stock"), ("Stokta yok", "out_of_stock"),
    ("Hết hàng", "out_of_stock"), ("Còn hàng", "in_stock"), ("สินค้าหมด", "out_of_stock"),
    ("Stok habis", "out_of_stock"), ("Pre-order", "pre_order"), ("Discontinued", "discontinued"),
    ("Free shipping", None),
])
def test_availability_cues(text: str, expected: str | None) -> None:
    assert avail.from_text(text) == expected


@pytest.mark.parametrize("value,expected", [
    ("https://schema.org/InStock", "in_stock"), ("http://schema.org/OutOfStock", "out_of_stock"),
    ("PreOrder", "pre_order"), ("Discontinued", "discontinued"), ("SoldOut", "out_of_stock"),
    ("in stock", "in_stock"), ("oos", "out_of_stock"), ("LimitedAvailability", "in_stock"),
])
def test_availability_markup(value: str, expected: str) -> None:
    assert avail.from_markup(value) == expected


def test_sold_out_note_and_disabled_button() -> None:
    page = read_page(html('<h1>Kettle</h1><span class="price">¥99.00</span>'
                          '<div class="stock-status">暂时缺货</div>'
                          '<button class="buy" disabled>立即购买</button>', lang="zh-CN"),
                     "http://s.test/p/9")
    assert page.fields["availability"] == "out_of_stock"
    assert page.fields["currency"] == "CNY"
    hidden = read_page(html('<h1>Kettle</h1><span class="price">$9.00</span>'
                            '<div class="stock-msg" style="display:none">Out of stock</div>'
                            '<button>Add to cart</button>'), "http://s.test/p/9")
    assert hidden.fields["availability"] == "in_stock"


@pytest.mark.parametrize("label,field", [
    ("Brand", "brand"), ("品牌", "brand"), ("Marke:", "brand"), ("Marque", "brand"),
    ("Marca", "brand"), ("브랜드", "brand"), ("ブランド", "brand"), ("型号", "mpn"),
    ("Artikelnummer", "sku"), ("品番", "sku"), ("EAN", "gtin"), ("Sold by", "seller"),
    ("Colour", None),
])
def test_spec_labels(label: str, field: str | None) -> None:
    assert label_of(label) == field


def test_currencies() -> None:
    assert iso_currency("RUR") == "RUB" and iso_currency("usd") == "USD"
    assert iso_currency("€") == "EUR"
    assert currency_from_symbol("¥", "ja-JP") == "JPY"
    assert currency_from_symbol("¥", "zh-CN") == "CNY"
    assert currency_from_symbol("$", "en-CA") == "CAD"
    assert currency_from_symbol("$", "en") == "USD"
    assert currency_from_symbol("₩", "ko") == "KRW"


def test_prices_in_the_pages_locale() -> None:
    assert markup_amount("1.299", "de-DE") == Decimal("1299")
    assert markup_amount("1.299", "en") == Decimal("1.299")
    assert markup_amount(19.9) == Decimal("19.9")
    assert markup_amount("-5") == Decimal("-5")  # the pipeline rejects it, with its reason
    page = read_page(html('<h1>Messer</h1><span class="price">1.299,00 €</span>',
                          lang="de-DE"), "http://s.test/p/de")
    assert page.fields["price"] == Decimal("1299.00") and page.fields["currency"] == "EUR"


def test_encodings() -> None:
    text = "<html><head><meta charset='gbk'></head><body><h1>儿童玩具 𠀀</h1></body></html>"
    body = text.encode("gb18030")  # declared GBK, holding a GB18030-only character
    decoded, encoding = decode_html(body)
    assert "儿童玩具 𠀀" in decoded and encoding == "gb18030"
    decoded, _ = decode_html("\ufeff<meta charset='latin-1'><h1>Café</h1>".encode())
    assert "Café" in decoded  # the BOM wins over the <meta>
    decoded, _ = decode_html("<h1>Café</h1>".encode("cp1252"), "text/html; charset=iso-8859-1")
    assert "Café" in decoded
    page = read_page(body, "http://s.test/p/gbk", content_type="text/html")
    assert page.heading == "儿童玩具 𠀀"


def test_document_title_is_the_last_resort_title() -> None:
    page = read_page(html('<div class="price">$15.00</div><button>Add to basket</button>',
                          "<title>Blue Teapot 1 L | Acme Homeware</title>"
                          '<meta property="og:type" content="product">'),
                     "http://s.test/p/teapot")
    assert page.kind == "product"
    assert (page.fields["title"], page.sources["title"]) == ("Blue Teapot 1 L", "dom:title")


def test_content_language_header_sets_the_locale() -> None:
    page = read_page("<html><body><h1>Kanne</h1><span class='price'>1.299 €</span></body></html>",
                     "http://s.test/p/kanne", content_language="de-DE")
    assert page.locale == "de-DE" and page.fields["price"] == Decimal("1299")


# -- the one walk over a page -----------------------------------------------------------

def test_one_walk_collects_what_every_step_reads() -> None:
    from crawlers.extract.generic import parse_tree
    from crawlers.extract.scan import scan_page

    tree = parse_tree(
        '<html><head><title>Slicer | Shop</title><link rel="canonical" href="/p/1">'
        '<link rel="next" href="?page=2"><meta property="og:type" content="product">'
        '<script type="application/ld+json">{"@type": "Product"}</script>'
        '<style>.x{}</style></head><body>'
        '<div class="crumbs"><a href="/">Home</a></div>'
        '<h1>Cheese <b>Slicer</b> pro</h1><script>var price = "$1";</script>'
        '<svg><text>icon</text></svg><select><option>XL</option></select>'
        '<div><span class="stock-note">In stock</span> tail</div>'
        '<button id="add-to-cart">Add to cart</button>'
        '<div itemscope itemtype="http://schema.org/Product"><span itemprop="name">S</span></div>'
        '</body></html>')
    scan = scan_page(tree)
    texts = [t for t, _ in scan.texts]
    # Document order, a tail after its element's subtree; nothing of head, script, svg or
    # select.
    assert texts == ["Home", "Cheese", "Slicer", "pro", "In stock", "tail", "Add to cart", "S"]
    assert scan.texts[2][1].tag == "b" and scan.texts[3][1].tag == "h1"
    assert scan.texts[5][1].tag == "div"
    assert [(h.tag, at) for h, at in scan.headings] == [("h1", 1)]
    assert scan.hrefs == ["/"] and scan.next_links == ["?page=2"]
    assert scan.canonical == "/p/1" and scan.title is not None
    assert len(scan.ld_scripts) == 1 and len(scan.metas) == 1 and len(scan.items) == 1
    assert [b.get("id") for b in scan.buttons] == ["add-to-cart"]
    assert [e.get("class") for e in scan.topics["stock"]] == ["stock-note"]
    assert [e.get("class") for e in scan.topics["breadcrumb"]] == ["crumbs"]
    assert scan.topics["buy"] == scan.buttons


# -- prices as pages write them -------------------------------------------------------------

def test_bare_number_takes_the_currency_written_next_to_it_and_a_percentage_is_no_price() -> None:
    page = read_page(html(
        '<h1>갤럭시S9 자급제폰</h1><div class="price-box"><strong class="sale">9</strong>'
        '<span>%</span><span class="price_original">957,000<span>원</span></span>'
        '<strong class="price_real">868,480<span>원</span></strong></div>'
        '<button class="buy">구매하기</button>', lang="ko"), "http://s.test/Item?goodscode=1")
    assert page.fields["price"] == Decimal("868480")
    assert page.fields["list_price"] == Decimal("957000")
    assert page.fields["currency"] == "KRW"


def test_a_split_price_is_read_whole() -> None:
    page = read_page(html('<h1>Kettle</h1><span class="price"><span>$</span>'
                          '<span class="price-int">12</span><span>.99</span></span>'),
                     "http://s.test/kettle")
    assert page.fields["price"] == Decimal("12.99")


def test_a_from_price_is_the_price_only_when_no_other_is_shown() -> None:
    only = read_page(html("<h1>Deluxe Mattress</h1><p>Sizes</p><span>From £1,049.00</span>"),
                     "http://s.test/mattress")
    assert only.fields["price"] == Decimal("1049.00")
    both = read_page(html("<h1>Deluxe Mattress</h1><span>From £1,049.00</span>"
                          '<span class="price">£1,199.00</span>'), "http://s.test/mattress")
    assert both.fields["price"] == Decimal("1199.00")


def test_a_price_labelled_rrp_is_the_list_price() -> None:
    page = read_page(html('<h1>LCD TV</h1><span>£579.99</span> Free Delivery '
                          '<span>RRP:</span><strong>£749.99</strong>'), "http://s.test/tv")
    assert page.fields["price"] == Decimal("579.99")
    assert page.fields["list_price"] == Decimal("749.99")


def test_thresholds_rates_and_shipping_notes_are_no_prices() -> None:
    page = read_page(html(
        '<h1>Akron Leather Boot</h1><p class="delivery__message">Free Click &amp; Collect '
        'over £30 &amp; free returns</p><span>(1點=1元)</span><span>Spend $50, save $5</span>'
        '<span class="price">£136.00</span>'), "http://s.test/boot")
    assert page.fields["price"] == Decimal("136.00")
    none = read_page(html('<h1>Akron Leather Boot</h1><p class="delivery__message">Free Click '
                          '&amp; Collect over £30</p><span>(1點=1元)</span>'),
                     "http://s.test/boot")
    assert none.fields.get("price") is None


def test_bare_number_beside_a_currency_is_a_price_without_a_price_class() -> None:
    page = read_page(html('<h1>可提式多功能不鏽鋼碗籃組</h1><del>$3200</del><span>72</span>'
                          '<span>折</span><span>2320</span><span>元</span>', lang="zh-TW"),
                     "http://s.test/p/660416")
    assert page.fields["price"] == Decimal("2320")
    assert page.fields["list_price"] == Decimal("3200")


# -- availability ---------------------------------------------------------------------------

def test_offer_rows_stock_notes_say_nothing_of_the_product() -> None:
    rows = "".join(f'<tr class="stock_{s} with-offer"><td>Seller {i}</td><td>₹2,{i}00</td>'
                   f'<td>{"Out of Stock" if s == "OUT_OF_STOCK" else ""}</td></tr>'
                   for i, s in enumerate(("UNKNOWN", "OUT_OF_STOCK", "UNKNOWN")))
    page = read_page(html(f'<h1>Ceiling Fan</h1><span class="price">₹2,433</span>'
                          f'<table>{rows}</table>', lang="en-IN"), "http://s.test/fan")
    assert page.fields["availability"] == "in_stock"
    assert page.sources["availability"] == "dom:price-shown"


def test_offer_rows_in_a_tbody_each_or_with_nested_variants_say_nothing_either() -> None:
    """Rows of one offers table count together whatever tbody holds each, and a variants
    table inside a seller's row is offer rows too (its sold-out variant is not the product).
    Rows are compared as elements: comparing id()s of lxml's throwaway parent proxies made
    unrelated rows look alike or not depending on what else was held in memory."""
    split = "".join(f'<tbody><tr class="stock_{s} with-offer"><td>Seller {i}</td>'
                    f'<td>₹2,{i}00</td><td>{"Out of Stock" if s == "OUT_OF_STOCK" else ""}'
                    f'</td></tr></tbody>' for i, s in enumerate(("UNKNOWN", "OUT_OF_STOCK")))
    nested = ('<tbody><tr class="stock_UNKNOWN with-offer"><td>Shop A ₹949</td><td>'
              '<table><tbody><tr class="stock_OUT_OF_STOCK"><td>Fan with remote (white)</td>'
              '<td>Out of Stock</td><td>₹790</td></tr></tbody></table></td></tr></tbody>')
    for table in (split, nested):
        page = read_page(html(f'<h1>Ceiling Fan</h1><span class="price">₹949</span>'
                              f'<table>{table}</table>', lang="en-IN"), "http://s.test/fan")
        assert page.fields["availability"] == "in_stock", table
        assert page.sources["availability"] == "dom:price-shown", table


def test_stock_notes_in_two_unrelated_lists_are_no_offers_table() -> None:
    """One noted item in the menu and one in the product's details are not rows of one list
    (with id()s of throwaway parent proxies they looked like one, and the sold-out note
    was dropped)."""
    page = read_page(html('<ul class="menu"><li class="stock-clearance"><a href="/sale">'
                          'Clearance</a></li></ul><h1>Ceiling Fan</h1>'
                          '<span class="price">$24</span><ul class="details">'
                          '<li class="stock">Out of stock</li><li>Brand: Aero</li></ul>'),
                     "http://s.test/fan")
    assert page.fields["availability"] == "out_of_stock"
    assert page.sources["availability"] == "dom:stock-note"


def test_a_class_naming_the_stock_state_is_a_stock_note() -> None:
    page = read_page(html('<h1>Ceiling Fan</h1><span class="price">$24</span>'
                          '<div class="product-stock out-of-stock"></div>'), "http://s.test/fan")
    assert page.fields["availability"] == "out_of_stock"


def test_an_enabled_buy_button_beats_stale_sold_out_markup() -> None:
    stale = {**PRODUCT, "offers": {**PRODUCT["offers"],
                                   "availability": "http://schema.org/OutOfStock"}}
    page = read_page(html('<h1>Cheese Slicer</h1><button class="add-to-cart">Add to cart</button>',
                          ld(stale)), "http://s.test/p/1")
    assert (page.fields["availability"], page.sources["availability"]) == (
        "in_stock", "dom:buy-button")
    # A sold-out note on the page keeps the markup's word.
    page = read_page(html('<h1>Cheese Slicer</h1><p class="stock">Sold out</p>', ld(stale)),
                     "http://s.test/p/1")
    assert page.fields["availability"] == "out_of_stock"


@pytest.mark.parametrize(("text", "expected"), [
    ("Vypredané", "out_of_stock"), ("Není skladem", "out_of_stock"),
    ("Nincs készleten", "out_of_stock"), ("Skladom", "in_stock"), ("På lager", "in_stock")])
def test_central_and_northern_european_cues(text: str, expected: str) -> None:
    assert avail.from_text(text) == expected


def test_do_kosika_is_a_buy_label() -> None:
    assert avail.is_buy_label("Do košíka") and avail.is_buy_label("Lägg i varukorg")


def test_whole_units_written_with_a_dash() -> None:
    page = read_page(html('<h1>Lattenrostbausatz CALYPSO 140 cm</h1><span>€</span>'
                          '<span>206,-</span><span>Festpreis</span>', lang="de-AT"),
                     "http://s.test/p/206")
    assert page.fields["price"] == Decimal("206")


def test_the_price_after_a_discount_badge_whose_arithmetic_holds_is_paid() -> None:
    page = read_page(html('<h1>Soma MONNALISA Rosso</h1><span class="original-price '
                          'current-price">EUR219.99</span><span>-50%</span>'
                          '<span class="current-price">EUR110.00</span>'), "http://s.test/soma")
    assert page.fields["price"] == Decimal("110.00")
    assert page.fields["list_price"] == Decimal("219.99")
    # "-11%" then "you save €11": the saving is no price.
    page = read_page(html('<h1>Dome light</h1><del>€ 99,00</del><span class="price">€ 88,00'
                          '</span><span>-11%</span><span>Risparmi € 11,00</span>', lang="it"),
                     "http://s.test/dome")
    assert page.fields["price"] == Decimal("88.00")


def test_a_discount_badge_lets_the_shown_price_beat_the_markups_regular_price() -> None:
    product = {**PRODUCT, "offers": {**PRODUCT["offers"], "price": "18.00"}}
    page = read_page(html('<h1>Cheese Slicer</h1><span class="price">€18,00</span>'
                          '<span>-5%</span><span class="price">€17,10</span>', ld(product),
                          lang="it"), "http://s.test/p/1")
    assert (page.fields["price"], page.sources["price"]) == (Decimal("17.10"), "dom:price")
    assert page.fields["list_price"] == Decimal("18.00")


def test_a_price_before_tax_is_not_the_consumers_price() -> None:
    page = read_page(html('<h1>Apple iMac Pro</h1><span>bez DPH</span><span class="price">'
                          '4386,00 €</span><span>s DPH</span><span class="price">5263,20 €</span>',
                          lang="sk"), "http://s.test/imac")
    assert page.fields["price"] == Decimal("5263.20")


def test_prices_of_recommended_products_and_option_deltas_are_not_the_products() -> None:
    page = read_page(html('<h1>Dive mask</h1><label>(-40.00€)</label>'
                          '<div class="related-products"><span class="price">150.00€</span>'
                          '</div><span class="price">100.00€</span>'), "http://s.test/mask")
    assert page.fields["price"] == Decimal("100.00")


def test_opengraph_agreeing_with_the_page_beats_the_structured_products_amount() -> None:
    product = {**PRODUCT, "offers": {**PRODUCT["offers"], "price": "150"}}
    page = read_page(html('<h1>Cheese Slicer</h1><span class="price">$200</span>',
                          ld(product) + '<meta property="product:price:amount" content="200">'),
                     "http://s.test/p/1")
    assert (page.fields["price"], page.sources["price"]) == (Decimal("200"), "og")


def test_a_sold_out_page_without_markup_is_a_product_page() -> None:
    page = read_page(html('<h1>Night light</h1><p class="price">$9.50</p><p class="stock">'
                          'Out of stock</p><button class="add-to-cart" disabled>Add to cart'
                          '</button>'), "http://s.test/item?id=103")
    assert page.kind == "product" and "buy control" in page.reasons
    assert page.fields["availability"] == "out_of_stock"


def test_prices_after_a_similar_products_title_belong_to_other_products() -> None:
    page = read_page(html('<h1>Potapljaška maska</h1><span class="price-old">100.00€</span>'
                          '<h3>Podobni izdelki</h3><div><a href="/m212">Maska M-212</a>'
                          '<span class="price">150.00€</span></div>', lang="sl"),
                     "http://s.test/maska")
    assert page.fields["price"] == Decimal("100.00")


def test_markup_types_are_read_whatever_their_case() -> None:
    product = {**PRODUCT, "@type": "product", "offers": {**PRODUCT["offers"], "@type": "offer"}}
    page = read_page(html("<h1>Cheese Slicer</h1>", ld(product)), "http://s.test/p/1")
    assert (page.fields["price"], page.sources["price"]) == (Decimal("19.99"), "jsonld")
    assert page.fields["sku"] == "CS-1"


def test_on_a_page_of_many_h1_cards_the_heading_matching_the_title_is_the_main_one() -> None:
    cards = "".join(f'<div class="card"><h1>Other deal {i}</h1><span>{i},900원</span></div>'
                    for i in range(1, 6))
    page = read_page(html(f'<h2 class="deal_title_main">빅사이즈 브라 팬티 세트</h2>'
                          f'<p class="deal_price"><strong>2,900</strong><sub>원~</sub></p>{cards}',
                          "<title>빅사이즈 브라 팬티 세트 - 티몬</title>", lang="ko"),
                     "http://s.test/deal/3454863898")
    assert page.heading == "빅사이즈 브라 팬티 세트"
    assert (page.fields["price"], page.fields["currency"]) == (Decimal("2900"), "KRW")


def test_a_label_ending_in_the_currency_prices_the_amount_after_it() -> None:
    page = read_page(html('<div class="title">西莎小羊肉餐盒</div><div class="pdeal">最低價$'
                          '<span>29</span>元起/罐</div><div><span>1箱 (每罐$35元)</span>'
                          '<div>$839</div></div>', lang="zh-TW"), "http://s.test/cheap_1131.html")
    assert (page.fields["price"], page.fields["currency"]) == (Decimal("29"), "TWD")
    # A number after a label holding digits is not priced by it.
    page = read_page(html('<h1>Kettle</h1><span>2 for $</span><span>30</span>'),
                      "http://s.test/kettle")
    assert page.fields.get("price") is None


def test_a_mini_carts_subtotal_is_no_price_of_the_product() -> None:
    page = read_page(html('<h1>Legend 200ml edt</h1><div class="price-new no-sale">Out of stock'
                          '</div><span class="cartSubtotal">₪1,659</span>', lang="he-IL"),
                     "http://s.test/Prod/101693/")
    assert page.fields.get("price") is None


def test_a_recommended_products_buy_button_says_nothing_of_this_ones_stock() -> None:
    sold_out = {**PRODUCT, "offers": {**PRODUCT["offers"],
                                      "availability": "http://schema.org/OutOfStock"}}
    page = read_page(html('<h1>Cheese Slicer</h1><div class="recommendations-panel"><h2>Grater'
                          '</h2><button class="add-to-basket">Add to basket</button></div>',
                          ld(sold_out)), "http://s.test/p/1")
    assert page.fields["availability"] == "out_of_stock"


# -- Chinese, Japanese and South-East Asian marketplaces ----------------------------------

def test_a_utf8_page_keeping_its_old_legacy_meta_is_read_as_utf8() -> None:
    # A browser's "save as" re-encodes a GBK page as UTF-8 and keeps <meta charset="gbk">.
    body = ("<html><head><meta charset='gbk'><title>乳白亚克力外壳-淘宝网</title></head>"
            "<body><h3 class='tb-main-title'>乳白亚克力外壳</h3></body></html>").encode()
    decoded, encoding = decode_html(body)
    assert "乳白亚克力外壳" in decoded and encoding == "utf-8"
    # A header naming the charset is the server's word: it is kept.
    _, encoding = decode_html("<p>Café</p>".encode(), "text/html; charset=iso-8859-1")
    assert encoding == "cp1252"


def test_a_range_of_variant_prices_is_read_as_its_lowest() -> None:
    page = read_page(html('<h3 class="tb-main-title">乳白亚克力外壳</h3><span>价格</span>'
                          '<strong class="J_StrPrice"><em class="tb-rmb">¥</em>'
                          '<em class="tb-rmb-num">149.00 - 159.00</em></strong>'
                          '<a class="tb-seller-bail"><span>2001</span><span>元</span></a>'),
                     "https://item.taobao.com/item.htm?id=562283240178")
    assert page.heading == "乳白亚克力外壳"  # an h3 named as the main title, no h1
    assert (page.fields["price"], page.fields["currency"]) == (Decimal("149.00"), "CNY")


def test_a_price_element_whose_currency_was_lost_prices_the_product_last() -> None:
    shown = ('<h1>Apple/苹果 iPhone 11</h1><dl class="tm-price-panel"><dt>价格</dt><dd>'
             '<em class="tm-yen">?</em><span class="tm-price">5499.00-6799.00</span></dd></dl>')
    page = read_page(html(shown, lang=""), "https://detail.tmall.com/item.htm?id=605258110430")
    assert page.fields["price"] == Decimal("5499.00") and "currency" not in page.fields
    # A price with its currency beats it, even further from the heading.
    page = read_page(html(shown + "<p>促销</p>" * 10 + '<span class="promo">¥4999.00</span>',
                          lang=""), "https://detail.tmall.com/item.htm?id=605258110430")
    assert page.fields["price"] == Decimal("4999.00")


def test_hidden_offers_prices_and_buy_controls_are_not_the_pages() -> None:
    # JD: a hidden trade-in tip ("up to 3000 off"), hidden bundle offers with their own buy
    # buttons; the product's own price and "add to cart" beside its heading.
    bundles = "".join('<div class="stabcon"><span class="p-price">套装价：</span><a class="btn-buy"'
                      ' href="#">购买套装</a></div>' for _ in range(5))
    page = read_page(html(
        '<h1>华为 P6-C00 电信3G手机（白色）</h1><ul><li class="summary-price">京东价：'
        '<strong class="p-price">￥1399.00</strong></li><li>商品编号：<span>917461</span></li>'
        '<li class="hide summary-tips"><div class="oldfornew-tips">以旧换新，最高抵扣3000元</div>'
        f'</li></ul><a id="InitCartUrl" class="btn-append" href="#">加入购物车</a>'
        f'<div class="m hide" id="favorable-suit">{bundles}</div>', lang=""),
        "http://item.jd.com/917461.html")
    assert page.fields["price"] == Decimal("1399.00") and "list_price" not in page.fields
    assert page.kind == "product" and "buy control" in page.reasons
    assert page.fields["sku"] == "917461"


def test_an_id_naming_a_stock_slot_is_no_stock_note_but_a_class_naming_a_state_is() -> None:
    page = read_page(html('<h1>Nintendo Switch</h1><span class="price">¥32,970</span>'
                          '<div id="availability"><span>In Stock.</span></div>'
                          '<div id="dp-out-of-stock-top_feature_div"></div>', lang="en-us"),
                     "https://www.amazon.co.jp/-/en/dp/B07WXL5YPW")
    assert page.fields["availability"] == "in_stock"
    assert page.sources["availability"] == "dom:stock-note"
    # ¥ on an English page of a Japanese shop is yen.
    assert page.fields["currency"] == "JPY"


def test_address_fields_and_hidden_inputs_are_no_buy_controls() -> None:
    assert not avail.BUY_ATTR.search("cartAddressNew dropdown-selection")
    assert avail.BUY_ATTR.search("cart-add-button")
    page = read_page(html('<h1>Chips</h1><p class="stock">Currently unavailable.</p>'
                          '<input type="hidden" id="cartAddressNew" value="add-new">'),
                     "http://s.test/dp/1")
    assert page.fields["availability"] == "out_of_stock"


def test_currency_symbols_by_the_shops_country() -> None:
    assert currency_from_symbol("¥", "en-US", "JP") == "JPY"
    assert currency_from_symbol("$", "en-US", "CA") == "USD"  # the page's own region first
    assert currency_from_symbol("$", "es", "CL") == "CLP"
    assert currency_from_symbol("¥", "", "") == "CNY"


@pytest.mark.parametrize(("symbol", "code"), [
    ("￥", "CNY"), ("円", "JPY"), ("元", "CNY"), ("Rp", "IDR"), ("₫", "VND"), ("đ", "VND"),
    ("฿", "THB"), ("RM", "MYR"), ("₱", "PHP"), ("S$", "SGD")])
def test_asian_currency_symbols(symbol: str, code: str) -> None:
    assert currency_from_symbol(symbol, "") == code


@pytest.mark.parametrize(("label", "field"), [
    ("Apple型号", "mpn"), ("Canon型番", "mpn"), ("型番", "mpn"), ("品牌名称", "brand"),
    ("Merek", "brand"), ("Thương hiệu", "brand"), ("商品编号", "sku"), ("商品番号", "sku"),
    ("JANコード", "gtin"), ("Mã sản phẩm", "sku"), ("规格型号", "mpn")])
def test_marketplace_spec_labels(label: str, field: str) -> None:
    assert label_of(label) == field


@pytest.mark.parametrize(("text", "expected"), [
    ("有货", "in_stock"), ("无货", "out_of_stock"), ("売り切れ", "out_of_stock"),
    ("在庫あり", "in_stock"), ("在庫切れ", "out_of_stock"), ("Stok habis", "out_of_stock"),
    ("Hết hàng", "out_of_stock"), ("หมดสต็อก", "out_of_stock")])
def test_asian_stock_cues(text: str, expected: str) -> None:
    assert avail.from_text(text) == expected


def test_a_brand_prefixed_model_line_is_the_model() -> None:
    page = read_page(html('<h1>Apple/苹果 iPhone 11</h1><span class="price">¥5499.00</span>'
                          '<ul><li>品牌名称：Apple/苹果</li><li>Apple型号:&nbsp;iPhone 11</li></ul>',
                          lang="zh-CN"), "https://detail.tmall.com/item.htm?id=605258110430")
    assert (page.fields["brand"], page.fields["mpn"]) == ("Apple/苹果", "iPhone 11")


@pytest.mark.parametrize(("label", "field"), [
    ("Šifra:", "sku"), ("Bestellnummer:", "sku"), ("ID Produto", "sku"), ("Код:", "sku"),
    ("Kód produktu:", "sku"), ("Cikkszám", "sku"), ("Varenummer", "sku")])
def test_european_product_code_labels(label: str, field: str) -> None:
    assert label_of(label) == field


def test_a_code_in_its_own_cell_is_kept_whole_an_inline_one_by_its_first_token() -> None:
    row = read_page(html('<h1>Garni 570 Easy II čierna</h1><span class="price">54,50 €</span>'
                         '<table><tr><td>Kód produktu:</td><td>GARNI 570 EASY II</td></tr>'
                         '</table>', lang="sk"), "http://s.test/garni")
    assert (row.fields["sku"], row.sources["sku"]) == ("GARNI 570 EASY II", "dom:spec-table")
    line = read_page(html('<h1>Housse</h1><span class="price">19,99 €</span>'
                          '<p>Réf. : TE502955-1293415 Housse de canapé extensible</p>', lang="fr"),
                     "http://s.test/housse")
    assert line.fields["sku"] == "TE502955-1293415"
    # Words without a digit after a code label are no code (a category under "Référence").
    words = read_page(html('<h1>Montre Pro Trek</h1><span class="price">199,00 €</span>'
                           '<dl><dt>Référence</dt><dd>Montre Connectée Homme</dd></dl>', lang="fr"),
                      "http://s.test/montre")
    assert "sku" not in words.fields


# -- South-East Asian and Korean shops (development set of real pages, issue 18) ----------

def test_prices_after_a_vietnamese_related_products_title_belong_to_other_products() -> None:
    # Magento's "regular-price" is the only price a product without a sale shows; the
    # related products' sale prices after "Sản phẩm liên quan" are theirs.
    page = read_page(html('<h1>Pháp Y Tần Minh (Bộ 3 Cuốn)</h1><p class="availability">'
                          'Còn hàng</p><span class="regular-price"><span class="price">'
                          '460.000 đ</span></span><h3>Sản phẩm liên quan</h3><div>'
                          '<p class="special-price"><span class="price">117.750đ</span></p>'
                          '</div>', lang="vi"), "http://s.test/phap-y")
    assert (page.fields["price"], page.fields["currency"]) == (Decimal("460000"), "VND")
    assert "list_price" not in page.fields
    assert page.fields["availability"] == "in_stock"


def test_a_class_saying_a_price_is_deleted_is_the_list_price() -> None:
    page = read_page(html('<h1>Nhà Giả Kim</h1><div class="pdp-product-price"><span class='
                          '"pdp-price pdp-price_type_normal">₫58,000</span><div><span class='
                          '"pdp-price pdp-price_type_deleted">₫69,000</span><span>-16%</span>'
                          '</div></div>', lang="vi"), "http://s.test/nha-gia-kim")
    assert (page.fields["price"], page.fields["list_price"]) == (Decimal("58000"),
                                                                 Decimal("69000"))


@pytest.mark.parametrize(("label", "field"), [
    ("상품ID", "sku"), ("ISBN/ISSN", "gtin"), ("EAN/UPC", "gtin"), ("품명 / 모델명", None),
    ("Brand/Model", None)])
def test_korean_and_alternative_labels(label: str, field: str | None) -> None:
    assert label_of(label) == field


def test_a_page_without_headings_names_its_product_in_a_titled_element() -> None:
    # A Korean shop's deal page: no h1-h3, the site's name as og:title and <title>, the
    # product's name in a "subject"/"title" element before the price, a search box whose
    # field choices ("상품ID", "판매자ID") are links, and the code labelled inline.
    page = read_page(
        html('<ul class="search"><li><a href="#">상품ID</a></li><li><a href="#">판매자ID</a>'
             '</li></ul><ul class="dv_title"><li id="trans_after_subject">Minecraft: Java &amp; '
             'Bedrock Edition</li><li><p>상품ID : B0B3R5PL2Y</p></li></ul><table><tr><th>판매가격'
             '</th><td class="pprice"><b>3,564</b> 円</td></tr></table><button type="button">'
             '바로구매</button>',
             '<title>일본구매대행 헤이재팬</title><meta property="og:title" content="일본구매대행 헤이재팬">',
             lang="ko"), "https://s.test/deal/detail?url=B0B3R5PL2Y")
    assert page.fields["title"] == "Minecraft: Java & Bedrock Edition"
    assert (page.fields["price"], page.fields["currency"]) == (Decimal("3564"), "JPY")
    assert page.fields["sku"] == "B0B3R5PL2Y"
    assert page.kind == "product"


# -- the seller's link --------------------------------------------------------------------

#: Seller-named elements of real pages whose links are not the product's seller (each from a
#: page a crawl attached to a bogus seller): a "top sellers" box, a best-sellers ranking, the
#: marketplace's seller centre in the top bar, "save this seller" (#), "other merchants" (a
#: script), a QR code link without text, a store locator in a banner, a help page.
BOGUS_SELLER_LINKS = [
    '<div class="topsellers wrap"><a href="/Electronics/-/318/404/3-/TopSellers.html">'
    'Top Electronics Sellers</a></div>',
    '<div class="bestseller"><a href="/bestsellers-month/lan-khu-mui/c11745">Top 1000</a></div>',
    '<a class="c-image-block__link" aria-label="Shop Bestsellers" href="/music/">Shop '
    'Bestsellers</a>',
    '<ul><li class="sn-seller-center j_SellerCenter"><a href="//mai.taobao.com/seller_admin.htm">'
    '商家中心</a></li></ul>',
    '<div id="followSeller"><a href="#">Save this seller</a></div>',
    '<div id="products_other_merchants_div"><a href="javascript:displayMerchantList(3410048);">'
    'A partir de 26,00 €</a></div>',
    '<p class="seller-awards"><a href="javascript:;">파워딜러</a></p>',
    '<a class="store-link" href="//app.adjust.com/ox2wap?campaign=QRcode"><img src="qr.png"></a>',
    '<div id="banner"><div class="header-right"><a id="storeName" href="/magasins.html">Magasin'
    '</a></div></div>',
    '<div id="merchant-info">Sold by <a href="/gp/help/customer/display.html?nodeId=2020">'
    'Amazon.co.jp</a></div>',
    '<header><a class="seller-name" href="/">Home</a></header>',
]


@pytest.mark.parametrize("snippet", BOGUS_SELLER_LINKS)
def test_links_that_name_no_seller_of_this_product_are_not_its_seller(snippet: str) -> None:
    page = read_page(html(f"{snippet}<h1>Deodorant 50 ml</h1><span class='price'>$4.00</span>"
                          "<button class='add-to-cart'>Add to cart</button>"),
                     "http://s.test/p/1")
    assert page.kind == "product"
    assert page.seller_link is None


@pytest.mark.parametrize(("snippet", "link"), [
    ('<div id="merchant-info">Ships from and sold by <a id="sellerProfileTriggerId" '
     'href="/gp/help/seller/at-a-glance.html?ie=UTF8&seller=A11W14YSY5BZ5H">Gothamite</a></div>',
     "/gp/help/seller/at-a-glance.html?ie=UTF8&seller=A11W14YSY5BZ5H"),
    ('<div class="tb-shop-name"><a href="//yikewaishe.taobao.com">怡科外设KBDfans</a></div>',
     "//yikewaishe.taobao.com"),
    ('<div class="seller-info"><a href="#">Follow</a><a href="/shop/tan-viet-shop/">Tân Việt</a>'
     '</div>', "/shop/tan-viet-shop/"),
])
def test_the_sellers_own_link_is_found(snippet: str, link: str) -> None:
    page = read_page(html(f"<h1>Deodorant 50 ml</h1><span class='price'>$4.00</span>"
                          f"<button class='add-to-cart'>Add to cart</button>{snippet}"),
                     "http://s.test/p/1")
    assert page.seller_link == link


# -- a plain note stating the product's stock ----------------------------------------------

def _priced(note: str, lang: str = "en", price: str = "$19.99", after: str = "") -> Any:
    return read_page(html(f'<h1>Kettle K-2</h1><span class="price">{price}</span>'
                          f'{note}{after}', lang=lang), "http://s.test/p/2")


@pytest.mark.parametrize(("note", "lang", "price"), [
    ("<p>Sold out</p>", "en", "$19.99"),
    ("<p>This item is currently out of stock.</p>", "en", "$19.99"),
    ("<div><b>Availability:</b> Out of stock</div>", "en", "$19.99"),
    ("<p>缺货</p>", "zh-CN", "¥99.00"), ("<span>该商品已售完</span>", "zh-CN", "¥99.00"),
    ("<em>售罄</em>", "zh-CN", "¥99.00"), ("<p>품절</p>", "ko", "29,000원"),
    ("<p>在庫切れ</p>", "ja", "¥1,980"), ("<p>売り切れ</p>", "ja", "¥1,980"),
    ("<p>Ausverkauft</p>", "de", "19,99 €"), ("<p>Épuisé</p>", "fr", "19,99 €"),
    ("<p>Agotado</p>", "es", "19,99 €"), ("<p>Esaurito</p>", "it", "19,99 €"),
    ("<p>Stok habis</p>", "id", "Rp 19.000"), ("<p>Hết hàng</p>", "vi", "199.000₫"),
    ("<p>สินค้าหมด</p>", "th", "฿199"),
])
def test_a_plain_sold_out_note_beside_the_product_wins_over_the_shown_price(
        note: str, lang: str, price: str) -> None:
    page = _priced(note, lang, price)
    assert (page.fields["availability"], page.sources["availability"]) == (
        "out_of_stock", "dom:stock-text"), note
    assert page.kind == "product"


@pytest.mark.parametrize("elsewhere", [
    # the sentence of a notification form, warnings, a part of the choice
    "<p>Notify me when sizes sell out</p>", "<p>Almost sold out!</p>",
    "<p>Some colours out of stock</p>", "<p>Benachrichtigen, wenn ausverkauft</p>",
    "<p>部分尺码缺货</p>",
    # navigation, a card's link, reviews, a variant picker, a hidden note
    '<nav><a href="/outlet">Sold out</a></nav>',
    '<a href="/p/3">Tea pot <span>Sold out</span></a>',
    '<div class="reviews"><p>Sold out</p></div>',
    '<ul class="size-list"><li>XL</li><li>Sold out</li></ul>',
    '<p style="display:none">Sold out</p>',
    # a grid of other products after their section's title
    '<h2>You may also like</h2>' + "".join(
        f'<div><a href="/p/{i}">Pot {i}</a><span>$9</span><p>Sold out</p></div>'
        for i in range(3)),
    # a note far below, in the description
    "".join(f"<p>Paragraph {i} of the description.</p>" for i in range(70)) + "<p>Sold out</p>",
    # a sold-out note contradicted by a shown in-stock note
    "<p>Sold out</p><p>In stock</p>",
])
def test_sold_out_words_elsewhere_do_not_speak_for_the_product(elsewhere: str) -> None:
    page = _priced(elsewhere)
    assert (page.fields["availability"], page.sources["availability"]) == (
        "in_stock", "dom:price-shown"), elsewhere


def test_the_repeated_cards_of_a_grid_are_not_the_products_note() -> None:
    cards = "".join(f'<li><a href="/p/{i}">Pot {i}</a> <span>Sold out</span></li>'
                    for i in range(4))
    page = _priced(f"<ul>{cards}</ul>")
    assert page.fields["availability"] == "in_stock"


def test_a_plain_note_gives_way_to_an_enabled_buy_button_and_to_markup() -> None:
    page = _priced("<p>Sold out</p>", after="<button>Add to cart</button>")
    assert (page.fields["availability"], page.sources["availability"]) == (
        "in_stock", "dom:buy-button")
    marked = read_page(html('<h1>Cheese Slicer</h1><span class="price">$19.99</span>'
                            '<p>Sold out</p>', ld(PRODUCT)), "http://s.test/p/1")
    assert (marked.fields["availability"], marked.sources["availability"]) == (
        "in_stock", "jsonld")


@pytest.mark.parametrize(("button", "lang"), [
    ("<button disabled>Add to cart</button>", "en"),
    ('<button class="btn-cart disabled">加入购物车</button>', "zh-CN"),
    ('<button aria-disabled="true">In den Warenkorb</button>', "de"),
    ('<input type="submit" value="カートに入れる" disabled>', "ja"),
])
def test_a_disabled_buy_button_says_out_of_stock(button: str, lang: str) -> None:
    page = _priced(button, lang)
    assert (page.fields["availability"], page.sources["availability"]) == (
        "out_of_stock", "dom:buy-button-disabled")


@pytest.mark.parametrize(("text", "expected"), [
    ("Sold out", "out_of_stock"), ("This item is currently out of stock.", "out_of_stock"),
    ("Availability: 缺货", "out_of_stock"), ("품절", "out_of_stock"),
    ("Discontinued", "discontinued"), ("Not in stock", "out_of_stock"),
    ("Notify me when sizes sell out", None), ("Almost sold out", None),
    ("Email me when back in stock", None), ("Free shipping", None),
    ("Our bestselling kettle sold out three times last winter and is back", None),
])
def test_states_wants_the_cue_to_be_most_of_the_text(text: str, expected: str | None) -> None:
    assert avail.states(text) == expected


# -- a price with no currency: the page's language, region or address names it (issue 18) --

@pytest.mark.parametrize("locale,region,code", [
    ("th", "", "THB"), ("vi-VN", "", "VND"), ("id", "", "IDR"), ("ms", "", "MYR"),
    ("fil", "", "PHP"), ("ja", "", "JPY"), ("ko-KR", "", "KRW"), ("he", "", "ILS"),
    ("zh-Hant", "", "TWD"), ("zh_TW", "", "TWD"), ("zh-Hans-CN", "", "CNY"),
    ("en-GB", "", "GBP"), ("es-MX", "", "MXN"), ("de", "", "EUR"),
    ("", "TH", "THB"), ("en", "SG", "SGD"), ("en", "PH", "PHP"),
    ("en-US", "JP", "USD"),  # the page's own region first, as for an ambiguous sign
])
def test_region_currency_names_the_country_the_page_names(locale: str, region: str,
                                                            code: str) -> None:
    assert region_currency(locale, region) == code


@pytest.mark.parametrize("locale,region", [
    ("", ""), ("en", ""), ("es", ""), ("ar", ""), ("pt", ""), ("es-419", ""), ("False", ""),
    ("xx-YY", ""),
])
def test_region_currency_guesses_nothing_where_the_page_names_no_country(locale: str,
                                                                        region: str) -> None:
    assert region_currency(locale, region) is None


def test_country_domains_sold_as_generic_names_name_no_country() -> None:
    assert url_region("https://shop.example.co.th/p/1") == "TH"
    assert url_region("https://www.lazada.com.my/products/i1.html") == "MY"
    assert url_region("https://shop.example.io/p/1") == ""
    assert url_region("https://shop.example.co/p/1") == ""
    assert url_region("https://shop.example.com/p/1") == ""


@pytest.mark.parametrize("lang,url,head,code", [
    ("th", "https://shop.example.com/p/1", "", "THB"),
    ("", "https://shop.example.com/p/1", '<meta property="og:locale" content="vi_VN">', "VND"),
    ("", "https://shop.example.co.id/p/1", "", "IDR"),
    ("en", "https://shop.example.com.ph/p/1", "", "PHP"),
])
def test_a_price_without_a_currency_takes_the_pages_country(lang: str, url: str, head: str,
                                                            code: str) -> None:
    # Markup giving the amount and no currency, as many shops' does.
    product = {"@type": "Product", "name": "Rice cooker 1.8 L", "offers": {"price": "1290000"}}
    page = read_page(html('<h1>Rice cooker 1.8 L</h1><button class="add-to-cart">Add to cart'
                          '</button>' + ld(product), head, lang=lang), url)
    assert page.fields["price"] == Decimal("1290000")
    assert page.fields["currency"] == code
    assert page.sources["currency"] == "lang+region"


def test_a_price_without_a_currency_on_a_page_naming_no_country_has_none() -> None:
    # An English page of a .com shop: the pipeline's profile default decides, not a guess.
    product = {"@type": "Product", "name": "Rice cooker 1.8 L", "offers": {"price": "129.00"}}
    page = read_page(html('<h1>Rice cooker 1.8 L</h1><button class="add-to-cart">Add to cart'
                          '</button>' + ld(product)), "https://shop.example.com/p/1")
    assert page.fields["price"] == Decimal("129.00")
    assert "currency" not in page.fields


def test_a_shown_sign_or_the_markup_still_wins_over_the_pages_country() -> None:
    sign = read_page(html('<h1>Rice cooker</h1><span class="price">€ 49,90</span>', lang="th"),
                     "https://shop.example.co.th/p/1")
    assert (sign.fields["currency"], sign.sources["currency"]) == ("EUR", "dom:price+lang")
    markup = read_page(html('<h1>Cheese Slicer</h1>' + ld(PRODUCT), lang="th"),
                       "https://shop.example.co.th/p/1")
    assert markup.fields["currency"] == "USD"
