"""Crawling each sandbox style (obstacles on) finds ≥ 99% of the truth's active listings
with title, brand, SKU, price, currency and seller equal to the truth."""

from __future__ import annotations

from typing import Any

import pytest

from store.db import Database
from store.settings import Settings
from tests.crawlers.conftest import crawl, crawled, field_mismatches

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("style", ["mall", "spa", "shop"])
def test_style_matches_truth(style: str, sandbox: Any, sandbox_db: Database,
                             settings: Settings) -> None:
    summary = crawl(settings, style)
    assert summary.status == "finished", summary
    truth = [r for r in sandbox.truth(platform=style)["listings"] if r["status"] == "active"]
    got = crawled(sandbox_db, style)
    found = [r for r in truth if r["external_id"] in got]
    assert len(found) >= 0.99 * len(truth), (len(found), len(truth))
    # Nothing invented: every stored listing is one the truth knows.
    assert set(got) <= {r["external_id"] for r in sandbox.truth(platform=style)["listings"]}
    bad = field_mismatches(truth, got)
    for key, rows in bad.items():
        assert len(rows) <= 0.01 * len(truth), (key, rows[:3])
    # The crawl run row tells what happened.
    assert summary.new_listings == len(got)
    assert summary.pages > len(got)
    # Classification agrees with the sandbox's supervision classes and sectors.
    agree = sum(got[r["external_id"]]["supervision_class"] == r["supervision_class"]
                for r in found)
    assert agree >= 0.97 * len(found), agree / len(found)
    prohibited = [r for r in found if r["supervision_class"] == "prohibited"]
    assert prohibited and all(got[r["external_id"]]["supervision_class"] == "prohibited"
                              for r in prohibited)
    sectors = sum(got[r["external_id"]]["sector"] == r["sector"] for r in found)
    assert sectors >= 0.97 * len(found)


def test_seller_details_for_risk(sandbox: Any, sandbox_db: Database, settings: Settings) -> None:
    """Sellers carry filing and licence numbers and contacts exactly as the truth has them."""
    crawl(settings, "mall")
    truth = {s["seller_id"]: s for s in sandbox.truth(platform="mall")["sellers"]}
    got = {r["seller_id"]: r["seller"] for r in crawled(sandbox_db, "mall").values()}
    assert len(got) >= 0.9 * len(truth)
    for sid, seller in got.items():
        t = truth[sid]
        assert seller.filing_number == t["filing_number"]
        assert seller.licence_number == t["licence_number"]
        assert seller.contacts == t["contacts"]
    assert any(s.filing_number is None for s in got.values())  # unfiled sellers are visible
