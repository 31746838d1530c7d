"""The generator: deterministic, O(1) per listing, consistent layout, shop-like prices."""

from __future__ import annotations

import tracemalloc
from decimal import Decimal

import pytest

from sandbox.catalog import USCC_CHARS, USCC_WEIGHTS, Catalog
from sandbox.data import CATEGORIES, PLATFORMS
from sandbox.money import format_price
from sandbox.truth import build_truth


def test_same_seed_same_world_other_seed_other_world() -> None:
    a, b, c = Catalog(7, 600), Catalog(7, 600), Catalog(8, 600)
    rows = [(a.listing(i, 3), b.listing(i, 3)) for i in range(600)]
    assert all(x == y for x, y in rows)
    assert [a.listing(i, 0).title for i in range(50)] != [c.listing(i, 0).title for i in range(50)]  # type: ignore[union-attr]
    assert build_truth(7, 300, 2) == build_truth(7, 300, 2)


def test_listing_is_computed_on_demand_even_in_a_huge_catalogue() -> None:
    # Memory, not time, tells: 200,000 materialised listings would take hundreds of MB.
    tracemalloc.start()
    cat = Catalog(7, 200_000)
    rows = [cat.listing(i, 0) for i in range(199_000, 199_500)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20_000_000, peak
    assert all(r is not None for r in rows)
    assert cat.listing(200_000, 0) is None  # not born yet on day 0
    assert cat.listing(200_000, 1) is not None  # born on day 1


@pytest.mark.parametrize("platform", PLATFORMS)
def test_category_and_seller_slices_partition_the_platform(platform: str) -> None:
    cat = Catalog(11, 900)
    day = 4
    J = cat.platform_count(platform, day)
    expected = sorted(cat.index_of(platform, j) for j in range(J))
    by_cat: list[int] = []
    for k, c in enumerate(CATEGORIES):
        idx = cat.category_slice(platform, k, 0, 10**6, day)
        assert len(idx) == cat.category_count(platform, k, day)
        assert all(cat.base(i).category is c for i in idx)
        by_cat += idx
    assert sorted(by_cat) == expected
    by_seller: list[int] = []
    for s in range(cat.sellers_per_platform):
        idx = cat.seller_slice(platform, s, 0, 10**6, day)
        assert len(idx) == cat.seller_count(platform, s, day)
        assert all(cat.base(i).seller.index == s for i in idx)
        by_seller += idx
    assert sorted(by_seller) == expected


def test_external_ids_round_trip() -> None:
    cat = Catalog(7, 600)
    for i in range(0, 600, 7):
        b = cat.base(i)
        assert cat.parse_external_id(b.platform, b.external_id) == i
    assert cat.parse_external_id("spa", "nonsense") is None
    assert cat.parse_external_id("mall", "12x") is None


def test_prices_are_written_the_ways_shops_write_them() -> None:
    assert format_price(Decimal("1299.00"), "CNY", 0) == "¥1,299.00"
    assert format_price(Decimal("1299.00"), "CNY", 1) == "￥1299.00"
    assert format_price(Decimal("12.99"), "USD", 0) == "US $12.99"
    assert format_price(Decimal("12.99"), "EUR", 0) == "12,99 €"
    assert format_price(Decimal("1980"), "JPY", 0) == "¥1,980"
    assert format_price(Decimal("12900"), "KRW", 0) == "₩ 12,900"
    currencies = {build["currency"] for build in build_truth(7, 600)["listings"]}
    assert currencies == {"CNY", "USD", "EUR", "JPY", "KRW"}


def test_licence_numbers_carry_a_valid_check_character() -> None:
    sellers = [s for s in Catalog(7, 3000).all_sellers() if s.licence_number]
    assert sellers
    for s in sellers:
        code = s.licence_number
        assert code is not None and len(code) == 18
        total = sum(USCC_CHARS.index(ch) * w for ch, w in zip(code[:17], USCC_WEIGHTS, strict=True))
        assert code[17] == USCC_CHARS[(31 - total % 31) % 31]


def test_every_kind_of_planted_case_exists() -> None:
    planted = build_truth(7, 5000)["planted"]
    for kind in ("counterfeit", "recalled", "hazardous", "used_goods", "key_with_ccc",
                 "key_missing_ccc", "noncompliant", "hostile_titles", "page_quirks",
                 "unfiled_sellers", "seller_networks"):
        assert planted[kind], kind


def test_counterfeits_are_famous_cheap_and_unauthorised() -> None:
    t = build_truth(7, 5000)
    sellers = {(s["platform"], s["seller_id"]): s for s in t["sellers"]}
    brands = {b["name"]: b for b in t["brands"]}
    for row in t["listings"]:
        if not row["flags"]["counterfeit"]:
            continue
        assert brands[row["brand"]]["famous"]
        seller = sellers[(row["platform"], row["seller_id"])]
        slug = brands[row["brand"]]["slug"]
        assert slug not in seller["authorised_brands"]
        from sandbox.data import CNY_PER

        cny = float(row["price"]) * CNY_PER[row["currency"]]
        assert cny < 0.35 * row["brand_norm_price_cny"]


def test_seller_networks_share_contacts_across_platforms() -> None:
    t = build_truth(7, 5000)
    sellers = {f"{s['platform']}:{s['seller_id']}": s for s in t["sellers"]}
    for net in t["planted"]["seller_networks"]:
        members = [sellers[k] for k in net["sellers"]]
        assert len({m["platform"] for m in members}) >= 2
        assert len({m["contacts"]["phone"] for m in members}) == 1
        assert all(m["filing_number"] is None for m in members)


def test_risky_listings_fail_the_lab_more_often() -> None:
    rows = build_truth(7, 5000)["listings"]
    risky = [r for r in rows if r["flags"]["counterfeit"] or r["flags"]["missing_ccc"]]
    plain = [r for r in rows if r not in risky and r["supervision_class"] != "prohibited"
             and not r["flags"]["recalled"]]
    rate = lambda rs: sum(r["flags"]["noncompliant"] for r in rs) / len(rs)  # noqa: E731
    assert rate(risky) > 3 * rate(plain)
