"""Small pure parts: prices, URLs, classification, structured data, profiles, contacts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crawlers.classify import default_classifier
from crawlers.extract.contacts import facts_from_text
from crawlers.extract.generic import read_page
from crawlers.extract.item import generic_fields
from crawlers.normalise import canonical_url, clean_text, parse_price
from crawlers.platforms import split_start_url
from crawlers.profile import parse_profile, shipped_profile, shipped_profile_names
from store.errors import InvalidInput
from store.prn import permanent_random_number


@pytest.mark.parametrize(("text", "amount", "currency"), [
    ("¥1,299.00", "1299.00", "CNY"), ("￥1299.00", "1299.00", "CNY"), ("1,299.00元", "1299.00", "CNY"),
    ("US $1,212.99", "1212.99", "USD"), ("12,99 €", "12.99", "EUR"), ("EUR 1.212,99", "1212.99", "EUR"),
    ("1,980円", "1980", "JPY"), ("₩ 12,900", "12900", "KRW"), ("12,900원", "12900", "KRW"),
    ("-5", "-5", "CNY"),
])
def test_prices(text: str, amount: str, currency: str) -> None:
    assert parse_price(text) == (Decimal(amount), currency)


def test_bare_yen_and_hints() -> None:
    assert parse_price("¥1,980", default_currency="JPY") == (Decimal("1980"), "JPY")
    assert parse_price("¥19.80", default_currency="JPY") == (Decimal("19.80"), "CNY")
    assert parse_price("12.5", currency_hint="eur") == (Decimal("12.5"), "EUR")


def test_urls_and_text() -> None:
    assert canonical_url("http://h/p/1?utm_source=x&spm=a.b&b=2&a=1#top") == "http://h/p/1?a=1&b=2"
    assert clean_text("a\x00b\x07  c\n d", 10) == "ab c d"
    assert split_start_url("http://h:8/c/x?page=2") == ("http://h:8/", "/c/x?page=2")
    with pytest.raises(InvalidInput):
        split_start_url("ftp://h/")
    prns = [permanent_random_number("p", str(i)) for i in range(2000)]
    assert all(0 < x < 1 for x in prns) and 0.45 < sum(prns) / len(prns) < 0.55
    assert permanent_random_number("p", "7") == prns[7]


@pytest.mark.parametrize(("title", "category", "sector", "klass", "rule"), [
    ("诺德维克 正品遥控赛车 3岁以上", "儿童玩具", "light_industry", "key", "ccc-toys"),
    ("浓硫酸 98% 管道疏通剂 强力", "家用清洁", "light_industry", "prohibited", "hazardous-chemical"),
    ("Used Clothing Bulk Bale by kg", "Women's Clothing", "textiles", "prohibited",
     "used-or-waste-goods"),
    ("Voltaris Noise-cancelling Headphones ANC", "Headphones", "electrical", "general", None),
    ("Kids Hoodie 100-140cm", "Children's Clothing", "textiles", "key",
     "legal-inspection-childrens-textiles"),
    ("韩一生活 进口毛绒玩偶 带电池", "", "light_industry", "key", "ccc-toys"),
    ("Windproof Lighter metal case", "Lighters", "light_industry", "key",
     "legal-inspection-lighters"),
])
def test_classification(title: str, category: str, sector: str, klass: str,
                        rule: str | None) -> None:
    result = default_classifier().classify(title, category)
    assert (result.sector.value, result.supervision_class.value) == (sector, klass)
    if rule:
        assert result.reasons[0]["rule"] == rule and result.reasons[0]["reason_zh"]
    else:
        assert result.reasons == []


def test_classification_remembers_categories_without_changing_answers() -> None:
    """A category's matches are remembered per classifier; every answer is still the one a
    fresh classifier gives, whatever was classified before."""
    import tomllib
    from importlib import resources

    from crawlers.classify import Classifier

    rules = tomllib.loads(resources.files("crawlers").joinpath(
        "rules", "classification.toml").read_text("utf-8"))
    titles = ["诺德维克 正品遥控赛车", "浓硫酸 98% 管道疏通剂", "Used Clothing Bale", "Kids Hoodie",
              "韩一生活 进口毛绒玩偶 带电池", "Windproof Lighter", "Plain mug", ""]
    categories = ["儿童玩具", "家用清洁", "Women's Clothing", "Headphones", "", "Lighters", "电吹风"]
    remembering = Classifier(rules)
    for _ in range(2):
        for category in categories:
            for title in titles:
                fresh = Classifier(rules).classify(title, category)
                assert remembering.classify(title, category) == fresh, (title, category)
    assert len(remembering._categories) == len(categories)


def test_structured_data_variants() -> None:
    jsonld = ('<script type="application/ld+json">{"@type":"Product","name":"A","sku":"S1",'
              '"offers":{"price":"9.90","priceCurrency":"EUR","seller":{"name":"X",'
              '"identifier":"v1"}},}</script>')  # trailing comma: repaired
    page = read_page(f"<html><head>{jsonld}</head></html>", "http://h/p")
    assert page.kind == "product" and "jsonld" in page.syntaxes
    fields = generic_fields(page)
    assert (fields["title"], fields["model"], fields["price_text"], fields["currency_hint"],
            fields["seller_external_id"]) == ("A", "S1", Decimal("9.90"), "EUR", "v1")
    cut = '<script type="application/ld+json">{"@type":"Product","name":"C","sku":"S3"</script>'
    page = read_page(f"<html><head>{cut}</head></html>", "http://h/p")
    assert page.product is not None and page.product["sku"] == "S3"
    micro = ('<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">B</h1>'
             '<span itemprop="sku">S2</span><div itemprop="offers" itemscope '
             'itemtype="https://schema.org/Offer"><meta itemprop="price" content="5">'
             '<meta itemprop="priceCurrency" content="USD"></div></div>')
    page = read_page(f"<html><body>{micro}</body></html>", "http://h/p")
    assert page.sources["sku"] == "microdata" and generic_fields(page)["model"] == "S2"
    assert read_page("<html><body>no product</body></html>", "http://h/").kind == "other"


def test_profiles() -> None:
    assert {"mall", "spa", "shop", "spa-browser", "structured-data"} <= set(
        shipped_profile_names())
    for name in shipped_profile_names():
        shipped_profile(name)
    with pytest.raises(InvalidInput, match=r"politeness\.concurrency"):
        parse_profile({"code": "x", "name": "x", "politeness": {"concurrency": 0}})
    with pytest.raises(InvalidInput, match="bogus"):
        parse_profile({"code": "x", "name": "x", "bogus": 1})
    with pytest.raises(InvalidInput, match="not absolute"):
        shipped_profile("mall").resolved_start_urls()
    moved = shipped_profile("mall").with_base_url("http://127.0.0.1:9")
    assert moved.resolved_start_urls() == ["http://127.0.0.1:9/"]


def test_contacts_from_text() -> None:
    text = ("客服电话：+86 13812345678 邮箱：a.b@shop.example.cn 微信：wx_global12345 "
            "备案编号: 3301960A1234 营业执照 91330100MA2ABCDE1X 地址：杭州市人民路1号")
    facts = facts_from_text(text)
    assert facts["phone"] == "+86 13812345678" and facts["email"] == "a.b@shop.example.cn"
    assert facts["wechat"] == "wx_global12345" and facts["filing_number"] == "3301960A1234"
    assert facts["licence_number"] == "91330100MA2ABCDE1X"
