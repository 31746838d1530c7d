"""Matching notices to listings: the sandbox's notices find exactly the listings they name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sampler.risk.matching import match_notices, review_match, score_pair
from sampler.risk.normalise import model_key
from store.models import ForeignNotice, Listing, NoticeMatch, Platform


def _keys(brand: str, models: list[str], product: str) -> Any:
    from sampler.risk.matching import _notice_keys

    return _notice_keys(ForeignNotice(id=1, source="cpsc", reference="x", brand=brand,
                                      models=models, product=product))


def test_score_pair_evidence() -> None:
    nk = _keys("Voltaris Inc.", ["VO-M5521"], "Voltaris Magnetic Power Bank")
    same, _ = score_pair(nk, "Voltaris", "VO M5521", "Voltaris Magnetic Power Bank 10000mAh")
    zh, detail = score_pair(nk, "沃特瑞斯", "VO-M5521", "沃特瑞斯 磁吸充电宝 10000毫安 VO-M5521")
    other_model, _ = score_pair(nk, "Voltaris", "VO-M7777", "Voltaris Magnetic Power Bank")
    other_brand, _ = score_pair(nk, "Brightwell", "BR-K2001", "Brightwell Electric Kettle")
    print(f"same {same}, zh {zh} {detail}, other model {other_model}, other {other_brand}")
    assert same >= 0.95
    assert 0.75 <= zh < same and detail["brand"] is None  # zh brand: unknown, not different
    assert other_model <= 0.5 and other_brand < 0.3
    assert model_key("VO-M5521") == model_key("vo m5521")


def test_sandbox_notices_match_the_right_listings(scored: dict[str, Any],
                                                  truth: dict[str, Any]) -> None:
    db, keys = scored["db"], scored["keys"]
    with db.session() as s:
        rows = s.execute(select(ForeignNotice, NoticeMatch.listing_id, NoticeMatch.score,
                                NoticeMatch.detail).join(
            NoticeMatch, NoticeMatch.notice_id == ForeignNotice.id)).all()
    # Matches that add risk (>= match_min_score 0.75) are exactly the planted ones; weaker
    # proposals (text only, capped at 0.7) are listed for review and add nothing.
    found = {(f"{n.source}:{n.reference}", lid) for n, lid, score, _ in rows if score >= 0.75}
    weak = [(n.reference, d["evidence"]["method"]) for n, _, score, d in rows if score < 0.75]
    expected = set()
    for n in truth["notices"]:
        source = "safety-gate" if n["source"] == "safetygate" else n["source"]
        if n["listing"] is not None:
            expected.add((f"{source}:{n['notice_id']}", keys[n["listing"]]))
    decoys = {("safety-gate" if n["source"] == "safetygate" else n["source"]) + ":"
              + n["notice_id"] for n in truth["notices"] if n["listing"] is None}
    print(f"notices naming listings {len(expected)}, matched {len(found & expected)}, "
          f"extra matches {len(found - expected)}, decoys {len(decoys)}, "
          f"weak proposals {len(weak)} {sorted(set(m for _, m in weak))}")
    assert expected and expected <= found
    assert not found - expected
    assert not {ref for ref, _ in found} & decoys


def test_review_is_respected_on_rematch(scored: dict[str, Any]) -> None:
    db = scored["db"]
    with db.session() as s:
        first, second = s.scalars(select(NoticeMatch).order_by(NoticeMatch.id).limit(2)).all()
        review_match(s, first.id, "rejected", "inspector-li", "different product")
        review_match(s, second.id, "confirmed", "inspector-li")
        ids = (first.id, second.id)
    with db.session() as s:
        match_notices(s)
        match_notices(s, threshold=0.99)  # a stricter run must not drop reviewed matches
    with db.session() as s:
        a, b = s.get(NoticeMatch, ids[0]), s.get(NoticeMatch, ids[1])
        assert a is not None and b is not None
        assert a.status == "rejected" and b.status == "confirmed"
        assert a.reviewed_by == "inspector-li" and a.detail["reviews"][0]["note"]
    with db.session() as s:  # restore for other tests of the module
        match_notices(s)
        for mid in ids:
            row = s.get(NoticeMatch, mid)
            assert row is not None
            row.status, row.reviewed_by, row.reviewed_at = "proposed", None, None


def test_blocking_ignores_unrelated_listings(sqlite_db: Any) -> None:
    with sqlite_db.session() as s:
        p = Platform(code="mall", name="Mall")
        s.add(p)
        s.flush()
        for i in range(300):
            s.add(Listing(platform_id=p.id, external_id=str(i), url=f"u{i}", brand="Meiju",
                          model=f"ME-A{1000 + i}", title=f"Meiju Vacuum Flask 500ml ME-A{1000 + i}"))
        s.add(ForeignNotice(source="cpsc", reference="26-999", brand="Meiju",
                            models=["ME-A1150"], product="Meiju Vacuum Flask"))
    with sqlite_db.session() as s:
        summary = match_notices(s)
        rows = s.execute(select(Listing.model).join(
            NoticeMatch, NoticeMatch.listing_id == Listing.id)).scalars().all()
    print(summary.as_dict())
    assert rows == ["ME-A1150"]
    # same brand and name, other models: candidates by name, but scored below threshold
    assert summary.candidates >= 1 and summary.matches == 1
