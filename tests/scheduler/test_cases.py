"""Cases: linked to listing, seller, platform and captures; notifications and measures."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduler import cases
from store.db import Database
from store.errors import Conflict, InvalidInput
from store.models import Capture, CaseStatus
from tests.factory.shop import small_world


def test_lead_case_life(any_db: Database) -> None:
    with any_db.session() as s:
        w = small_world(s, listings=2)
        cap = Capture(kind="listing", url="http://x/item/L0", listing_id=w.listing_ids[0])
        other = Capture(kind="listing", url="http://x/item/L1", listing_id=w.listing_ids[1])
        s.add_all([cap, other])
        s.flush()
        case = cases.open_case(s, "counterfeit", listing_id=w.listing_ids[0], actor="ivy")
        again = cases.open_case(s, "counterfeit", listing_id=w.listing_ids[0], actor="ivy")
        assert again.id == case.id
        number = case.number
        assert number.startswith("SC-") and case.seller_id == w.seller_ids[0]
        assert case.platform_id == w.platform_id
        assert case.jurisdiction_bureau == "杭州海关 Hangzhou Customs"
    with any_db.session() as s:
        cases.notify(s, number, content="疑似假冒", reference="杭关函〔2026〕12号", actor="ivy")
        m = cases.add_measure(s, number, "takedown", due=dt.date(2026, 10, 1), actor="ivy")
        with pytest.raises(InvalidInput, match="measure must be one of"):
            cases.add_measure(s, number, "fine", actor="ivy")
        mid = m.id
    with any_db.session() as s, pytest.raises(Conflict, match="without an outcome: takedown"):
        cases.close_case(s, number, actor="ivy")
    with any_db.session() as s:
        cases.complete_measure(s, mid, "listing removed by platform", actor="ivy")
        cases.add_measure(s, number, "interview", outcome="seller interviewed", actor="ivy")
        closed = cases.close_case(s, number, actor="ivy", summary="done")
        assert closed.status == CaseStatus.CLOSED
    with any_db.session() as s:
        d = cases.case_detail(s, number)
        assert [c["url"] for c in d["captures"]] == ["http://x/item/L0"]
        assert d["notifications"][0]["bureau"] == "杭州海关 Hangzhou Customs"
        assert [m["kind"] for m in d["measures"]] == ["takedown", "interview"]
        assert d["measures"][0]["name_zh"] == "下架"
        with pytest.raises(Conflict, match="closed"):
            cases.notify(s, number, actor="ivy")
        # a closed case does not absorb a new lead on the same listing
        fresh = cases.open_case(s, "counterfeit", listing_id=w.listing_ids[0], actor="ivy")
        assert fresh.number != number


def test_case_needs_a_subject_and_bureau(sqlite_db: Database) -> None:
    with sqlite_db.session() as s, pytest.raises(InvalidInput, match="needs a listing"):
        cases.open_case(s, "counterfeit")
    with sqlite_db.session() as s:
        w = small_world(s, listings=1)
        from store.models import Platform

        platform = s.get(Platform, w.platform_id)
        assert platform is not None
        platform.jurisdiction_bureau = ""
        c = cases.open_case(s, "prohibited", platform_id=w.platform_id)
        with pytest.raises(InvalidInput, match="--bureau"):
            cases.notify(s, c.id)
        note = cases.notify(s, c.id, bureau="上海海关")
        assert note.bureau == "上海海关"
