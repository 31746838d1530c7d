"""A listing's external id from its URL: stable, unique, never rejected for its shape."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse

from crawlers.extract.listing import canonical_of
from crawlers.identity import (
    MAX_ID,
    bounded_id,
    is_tracking_param,
    names_a_parent,
    same_site,
    url_external_id,
)
from crawlers.items import ListingItem
from crawlers.normalise import canonical_url
from crawlers.pipelines import prepare_listing


def ext(url: str) -> str:
    return url_external_id(canonical_url(url))


def test_query_string_ids_keep_what_identifies_the_product() -> None:
    assert ext("https://s.test/int.php?pid=428514&utm_source=feed&spm=a2g0o.1&gclid=x") == \
        "/int.php?pid=428514"
    assert ext("https://s.test/product?id=7&fbclid=abc&ref=home") == "/product?id=7"
    # Order of the parameters, a fragment and case of tracking names do not matter.
    assert ext("https://s.test/p?b=2&a=1#reviews") == ext("https://s.test/p?UTM_Medium=x&a=1&b=2")
    assert ext("https://s.test/dp/B0?pf_rd_p=1&pd_rd_w=2&aff_id=3&_ga=4") == "/dp/B0"
    # A parameter that is not tracking is kept: two variants are two listings.
    assert ext("https://s.test/p?id=1&variant=2") != ext("https://s.test/p?id=1&variant=3")


def test_percent_encoding_is_normalised_and_readable() -> None:
    raw = ext("https://s.test/商品/杯子-1.html")
    assert raw == "/商品/杯子-1.html"
    assert ext("https://s.test/%E5%95%86%E5%93%81/%E6%9D%AF%E5%AD%90-1.html") == raw
    assert ext("https://s.test/%e5%95%86%e5%93%81/%e6%9d%af%e5%ad%90-1.html") == raw
    # ASCII escapes keep their meaning (an encoded slash is not a path separator).
    assert ext("https://s.test/a%2Fb") == "/a%2Fb"
    assert ext("https://s.test/a%2Fb") != ext("https://s.test/a/b")
    # Bytes that are not UTF-8 (a GBK shop) stay escaped, one spelling for both cases.
    assert ext("https://s.test/p/%c9%cc") == ext("https://s.test/p/%C9%CC") == "/p/%C9%CC"


def test_sandbox_style_ids_are_unchanged() -> None:
    # Ids of listings already stored must not move (the PRN derives from them).
    assert ext("http://127.0.0.1:8001/products/kettle-20000012") == "/products/kettle-20000012"
    assert ext("http://127.0.0.1:8001/item/10000000.html") == "/item/10000000.html"


def test_long_ids_keep_a_head_and_a_digest() -> None:
    a, b = "/p/" + "x" * 300 + "1", "/p/" + "x" * 300 + "2"
    assert len(bounded_id(a)) == MAX_ID
    assert bounded_id(a) != bounded_id(b)
    assert bounded_id(a) == bounded_id(a)
    assert bounded_id("/short") == "/short"


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_no_id_is_rejected_for_its_shape(text: str) -> None:
    item = ListingItem(platform="t", external_id="/p?" + text, url="https://s.test/p",
                       title="A kettle")
    prepare_listing(item, "CNY")
    assert item.rejection is None
    assert 0 < len(item.external_id) <= MAX_ID


def test_tracking_names() -> None:
    assert is_tracking_param("utm_campaign") and is_tracking_param("SPM")
    assert not is_tracking_param("id") and not is_tracking_param("pid")


def test_same_site() -> None:
    assert same_site("https://www.s.test/a", "http://s.test/b")
    assert not same_site("https://other.test/a", "https://s.test/a")
    assert not same_site("http://127.0.0.1:8001/a", "http://127.0.0.1:8002/a")


def test_a_canonical_link_naming_a_folder_above_the_page_is_not_its_name() -> None:
    # A real buying agent's deal pages all say <link rel="canonical" href="./">: taken as
    # the product's name, every deal was the listing "/deal/" and all but one were lost.
    def canonical(url: str, href: str) -> str:
        body = f'<html><head><link rel="canonical" href="{href}"></head></html>'.encode()
        return canonical_of(HtmlResponse(url, body=body), ())

    deal = "https://agent.test/deal/deail?url=B0B3R5PL2Y&shop_id=amazon_jp"
    assert canonical(deal, "./") == canonical_url(deal)
    assert canonical("https://s.test/item.php?id=7", "/") == "https://s.test/item.php?id=7"
    assert canonical("https://s.test/c/kettle.html", "/c/") == "https://s.test/c/kettle.html"
    # A canonical naming the page itself, or its variant-free or other same-site page, is.
    assert canonical("https://s.test/p/123/?color=red", "/p/123/") == "https://s.test/p/123/"
    assert canonical("https://s.test/p/canon-x", "/product?id=9") == \
        "https://s.test/product?id=9"
    assert not names_a_parent("https://s.test/p/123/", "https://s.test/p/123/")
    assert names_a_parent("https://s.test/", "https://s.test/p/123")
    assert not names_a_parent("https://s.test/?id=3", "https://s.test/p")
