"""Ground truth: every listing's true fields and the planted cases, as JSON-ready dicts.

`build_truth` is pure (same inputs, same output) and reads the same catalogue the servers
serve, so tests can compare crawled pages with it. Without `base_urls`, `url` is the
canonical *path*; with them (``Sandbox.truth()``, ``truth --port``) it is absolute.
"""

from __future__ import annotations

from typing import Any

from sandbox.catalog import Listing, get_catalog, price_truth
from sandbox.data import BRANDS, PLATFORMS
from sandbox.paths import listing_path, seller_path

SCHEMA_VERSION = 1


def listing_truth(li: Listing, base_urls: dict[str, str] | None = None) -> dict[str, Any]:
    b = li.base
    path = listing_path(b)
    base = (base_urls or {}).get(b.platform, "")
    return {
        "key": f"{b.platform}:{b.external_id}",
        "platform": b.platform, "external_id": b.external_id, "index": b.index,
        "url": base + path, "path": path,
        "title": li.title, "title_zh": b.title_zh, "title_en": b.title_en, "lang": b.lang,
        "brand": b.brand.en, "brand_zh": b.brand.zh, "brand_famous": b.brand.famous,
        "model": b.model, "price": price_truth(li), "currency": b.currency,
        "price_display": li.price_display,
        "seller_id": b.seller.seller_id, "seller_name": b.seller.name,
        "seller_url": base + seller_path(b.platform, b.seller.seller_id),
        "category": b.category.slug, "sector": b.category.sector,
        "supervision_class": b.supervision_class, "origin": b.origin,
        "cert_marks": list(b.cert_marks), "status": li.status,
        "born_day": b.born_day, "removed_day": b.removed_day, "title_edit_day": b.title_edit_day,
        "flags": {
            "counterfeit": b.counterfeit,
            "recalled": list(li.recalled),
            "hazardous": b.hazardous,
            "used_goods": b.used_goods,
            "missing_ccc": b.missing_ccc,
            "noncompliant": li.noncompliant,
            "unfiled_seller": b.seller.filing_number is None,
            "hostile_title": b.hostile,
            "page_quirk": b.quirk,
        },
        "brand_norm_price_cny": b.norm_price_cny,
    }


def build_truth(seed: int, listings: int = 5000, day: int = 0, *,
                platform: str | None = None,
                base_urls: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything the sandbox knows on `day`: listings, sellers, networks, notices, planted cases."""
    cat = get_catalog(seed, listings)
    rows: list[dict[str, Any]] = []
    for i in range(cat.total(day)):
        if platform is not None and PLATFORMS[i % 3] != platform:
            continue
        li = cat.listing(i, day)
        assert li is not None
        rows.append(listing_truth(li, base_urls))
    sellers = [s.as_truth() for s in cat.all_sellers() if platform in (None, s.platform)]
    networks: dict[int, list[str]] = {}
    for s in cat.all_sellers():
        if s.network is not None:
            networks.setdefault(s.network, []).append(f"{s.platform}:{s.seller_id}")

    def keys(pred: str) -> list[str]:
        return [r["key"] for r in rows if r["flags"][pred]]

    key_rows = [r for r in rows if r["supervision_class"] == "key"]
    planted = {
        "counterfeit": keys("counterfeit"),
        "recalled": {r["key"]: r["flags"]["recalled"] for r in rows if r["flags"]["recalled"]},
        "hazardous": keys("hazardous"),
        "used_goods": keys("used_goods"),
        "prohibited": [r["key"] for r in rows if r["supervision_class"] == "prohibited"],
        "key_with_ccc": [r["key"] for r in key_rows if "CCC" in r["cert_marks"]],
        "key_missing_ccc": keys("missing_ccc"),
        "noncompliant": keys("noncompliant"),
        "hostile_titles": keys("hostile_title"),
        "page_quirks": {r["key"]: r["flags"]["page_quirk"] for r in rows if r["flags"]["page_quirk"]},
        "unfiled_sellers": [f"{s['platform']}:{s['seller_id']}" for s in sellers if s["unfiled"]],
        "sellers_without_licence": [f"{s['platform']}:{s['seller_id']}" for s in sellers
                                    if s["licence_number"] is None],
        "seller_networks": [{"network": g, "sellers": m} for g, m in sorted(networks.items())],
    }
    notices = [{
        "source": n.source, "notice_id": n.notice_id, "id": f"{n.source}:{n.notice_id}",
        "brand": n.brand, "product": n.product, "model": n.model, "date": n.date,
        "listing": (f"{['mall', 'spa', 'shop'][n.index % 3]}:{cat.base(n.index).external_id}"
                    if n.index is not None else None),
    } for n in cat.notices()]
    return {
        "schema_version": SCHEMA_VERSION, "seed": seed, "listings_requested": listings, "day": day,
        "platform": platform, "counts": {
            "listings": len(rows), "active": sum(r["status"] == "active" for r in rows),
            "removed": sum(r["status"] == "removed" for r in rows), "sellers": len(sellers),
        },
        "brands": [{"slug": b.slug, "name": b.en, "name_zh": b.zh, "sector": b.sector,
                    "famous": b.famous, "origin": b.origin} for b in BRANDS],
        "listings": rows, "sellers": sellers, "notices": notices, "planted": planted,
    }
