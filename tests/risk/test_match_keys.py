"""Matching an inspector can trust: exact keys first, confidence and keys on every match, a
proposed match weighed by its confidence and said to be proposed, a rejected pair never back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sampler.risk.explain import explanation
from sampler.risk.importers import import_file
from sampler.risk.matching import match_notices, review_match
from sampler.risk.scoring import score_listings
from store.db import Database
from store.models import NoticeMatch
from tests import factory
from tests.risk.conftest import data_file


def _listings(db: Database) -> dict[str, int]:
    with db.session() as s:
        p = factory.platform(s, "mall")
        rows = {
            # named by onlineTrader: the URL (query string and scheme differ) and the ASIN
            "url": factory.listing(s, p.id, "4471", url="http://shop.example/item/4471",
                           title="Universal travel adapter white", brand="NoName"),
            "asin": factory.listing(s, p.id, "a1",
                            url="https://www.amazon.de/dp/B0FCXZZ57X?th=1",
                            title="Magnetic cubes 64 pieces", brand="Generic"),
            # the notice's barcode in the title, written with spaces
            "gtin": factory.listing(s, p.id, "g1", url="https://mall.example/g1",
                            title="Magnet Bausteine Set EAN 6 901234 567892", brand="Tongle"),
            # brand + model
            "model": factory.listing(s, p.id, "m1", url="https://mall.example/m1",
                             title="Tongle magnetic cubes JY888", brand="Tongle", model="JY-888"),
            # the "Kidora bath seat" notice (no model, no key): brand and name text only
            "text": factory.listing(s, p.id, "t1", url="https://mall.example/t1",
                            title="Kidora baby bath seat with suction cups", brand="Kidora"),
            # the magnets notice names models this listing does not show: not a match
            "nomodel": factory.listing(s, p.id, "t2", url="https://mall.example/t2",
                               title="Tongle Magic Cubes 64 pcs magnetic building set",
                               brand="Tongle"),
            # unrelated: another product of the same brand
            "other": factory.listing(s, p.id, "o1", url="https://mall.example/o1",
                             title="Tongle kitchen cleaner spray 500ml", brand="Tongle",
                             model="KC-500"),
        }
        factory.notice(s, "BATH-1", source="csv", brand="Kidora", product="Baby bath seat",
                       models=[])
        return {k: v.id for k, v in rows.items()}


def _matches(db: Database) -> dict[int, dict[str, Any]]:
    with db.session() as s:
        return {m.listing_id: {"score": m.score, "status": m.status, "id": m.id,
                               **(m.detail or {}).get("evidence", {})}
                for m in s.scalars(select(NoticeMatch))}


def test_exact_keys_then_model_then_text(sqlite_db: Database) -> None:
    ids = _listings(sqlite_db)
    with sqlite_db.session() as s:
        import_file(s, data_file("safety_gate_weekly_report.xml"), "safety-gate")
        match_notices(s)
    found = _matches(sqlite_db)
    by = {name: found.get(lid) for name, lid in ids.items()}
    assert by["url"] is not None and by["url"]["method"] == "exact-key"
    assert by["url"]["keys"][0] == "url:shop.example/item/4471" and by["url"]["score"] >= 0.98
    assert by["asin"] is not None and "asin:B0FCXZZ57X" in by["asin"]["keys"]
    assert by["gtin"] is not None and "gtin:06901234567892" in by["gtin"]["keys"]
    assert by["gtin"]["score"] >= 0.95
    assert by["model"] is not None and by["model"]["method"] == "brand+model"
    assert "model:JY-888" in by["model"]["keys"]  # as the notice wrote it
    assert by["text"] is not None and by["text"]["method"] == "text"
    assert by["text"]["score"] <= 0.7  # listed for review, adds no risk
    assert by["other"] is None  # same brand, other product: no match at all
    assert by["nomodel"] is None


def test_score_weighs_proposals_by_confidence_and_says_so(sqlite_db: Database) -> None:
    ids = _listings(sqlite_db)
    with sqlite_db.session() as s:
        import_file(s, data_file("safety_gate_weekly_report.xml"), "safety-gate")
        match_notices(s)
        score_listings(s)
    with sqlite_db.session() as s:
        text = explanation(s, ids["text"])
        gtin = explanation(s, ids["gtin"])
        other = explanation(s, ids["other"])
    assert not [r for r in text["reasons"] if r["code"] == "notice_match"]  # below 0.75: nothing
    assert not [r for r in other["reasons"] if r["code"] == "notice_match"]
    reason = next(r for r in gtin["reasons"] if r["code"] == "notice_match")
    assert reason["points"] == round(8.0 * reason["params"]["score"], 3)  # weight × confidence
    assert "proposed, not yet confirmed" in reason["en"] and "尚未人工确认" in reason["zh"]
    # the key by its kind's label, in either language ("gtin:…" is kept in the params)
    assert "exact key: GTIN 06901234567892" in reason["en"]
    assert "精确标识：商品条码（GTIN） 06901234567892" in reason["zh"]
    assert "gtin:06901234567892" in reason["params"]["keys"]
    found = _matches(sqlite_db)
    with sqlite_db.session() as s:
        review_match(s, found[ids["gtin"]]["id"], "confirmed", "inspector-li")
        score_listings(s)
        confirmed = explanation(s, ids["gtin"])
    reason = next(r for r in confirmed["reasons"] if r["code"] == "notice_match")
    assert reason["points"] == 8.0 and "confirmed" in reason["en"]


def test_rejected_pair_never_returns(sqlite_db: Database) -> None:
    ids = _listings(sqlite_db)
    with sqlite_db.session() as s:
        import_file(s, data_file("safety_gate_weekly_report.xml"), "safety-gate")
        match_notices(s)
    mid = _matches(sqlite_db)[ids["model"]]["id"]
    with sqlite_db.session() as s:
        review_match(s, mid, "rejected", "inspector-li", "another product")
        import_file(s, data_file("safety_gate_weekly_report_compact.xml"), "safety-gate")
        match_notices(s)
        match_notices(s, threshold=0.99)
        match_notices(s)
        score_listings(s)
        rows = s.scalars(select(NoticeMatch).where(NoticeMatch.listing_id == ids["model"])).all()
        reasons = explanation(s, ids["model"])["reasons"]
    assert [(r.id, r.status) for r in rows] == [(mid, "rejected")]
    assert not [r for r in reasons if r["code"] == "notice_match"]


def test_listing_gtin_matches_notice_barcode_exactly(sqlite_db: Database) -> None:
    """A real CPSC recall (Auto World slot cars, 21 UPCs) against listings' own barcodes."""
    from tests.risk.test_real_files import REAL

    with sqlite_db.session() as s:
        p = factory.platform(s, "mall")
        rows = {
            # the page's structured GTIN is one of the recall's UPCs; its title shows none
            "own": factory.listing(s, p.id, "s1", url="https://mall.example/s1",
                           title="Slot car kit 1:64 Thunderjet", gtin="00849398065648"),
            # the same UPC only in the title, as printed on the box
            "title": factory.listing(s, p.id, "s2", url="https://mall.example/s2",
                             title="Deluxe Pit Kit UPC 8-49398-06563-1"),
            # a valid GTIN of another product: nothing
            "other": factory.listing(s, p.id, "s3", url="https://mall.example/s3",
                             title="Slot car kit 1:64", gtin="04006381333931"),
        }
        s.flush()
        ids = {k: v.id for k, v in rows.items()}
        import_file(s, REAL / "cpsc_recall_10191.json", "cpsc")
        match_notices(s)
    found = _matches(sqlite_db)
    own, title = found[ids["own"]], found[ids["title"]]
    assert own["method"] == "exact-key" and own["keys"][0] == "listing-gtin:00849398065648"
    assert own["score"] == 0.97 and own["status"] == "proposed"
    assert title["keys"][0] == "gtin:00849398065631" and title["score"] == 0.95
    assert ids["other"] not in found
    # a person rejects the barcode match: matching again never proposes the pair again
    with sqlite_db.session() as s:
        review_match(s, own["id"], "rejected", by="inspector")
    with sqlite_db.session() as s:
        again = match_notices(s)
    assert again.kept_reviewed == 1
    after = _matches(sqlite_db)
    assert after[ids["own"]]["status"] == "rejected" and after[ids["own"]]["id"] == own["id"]
    with sqlite_db.session() as s:
        assert len(list(s.scalars(select(NoticeMatch).where(
            NoticeMatch.listing_id == ids["own"])))) == 1
