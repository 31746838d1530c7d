"""A listing's page shows the notice matches behind its score as risk signals, saying which are
only proposed (issue 22: the demo's top listing said "Risk signals (0)")."""

from __future__ import annotations

import re

from store.models import ForeignNotice, NoticeMatch
from tests.web.conftest import Live


def _count(page: str) -> int:
    m = re.search(r"<h2>风险信号 \((\d+)\)</h2>", page)
    assert m is not None
    return int(m.group(1))


def test_proposed_match_is_a_risk_signal_said_to_be_proposed(live: Live) -> None:
    lid = live.data.listing_ids[0]
    with live.login("sue") as c:  # sue reads the console in Chinese
        before = _count(c.get(f"/listings/{lid}").text)
    with live.db.session() as s:
        n = ForeignNotice(source="safety-gate", reference="SR/09999/26",
                          title="Tongle — Kitchen Cleaner", brand="Tongle", models=["TO-F2406"],
                          hazard="Chemical; <b>corrosive</b>", gtins=["06901234567892"],
                          online=[{"marketplace": "Amazon", "asin": "B0FCXZZ57X", "url": None}],
                          measures=[{"operator": "Manufacturer", "measure": "Recall of the "
                                     "product from end users", "date": "2026-11-22"}])
        s.add(n)
        s.flush()
        s.add(NoticeMatch(notice_id=n.id, listing_id=lid, score=0.8857, status="proposed",
                          detail={"evidence": {"method": "brand+model",
                                               "keys": ["model:TO-F2406", "brand:tongle"]}}))
    with live.login("sue") as c:  # sue reads the console in Chinese
        page = c.get(f"/listings/{lid}").text
    assert _count(page) == before + 1  # the match counts as a risk signal
    assert "SR/09999/26" in page and "0.89" in page
    assert "疑似匹配，尚未人工确认" in page
    # how it matched, by label (the method's code in the cell's tooltip)
    assert "品牌+型号：型号 TO-F2406，品牌 tongle" in page and 'title="brand+model"' in page
    assert "model:TO-F2406" not in page
    # the notice's own fields, escaped: hazard, measure, marketplace, barcode
    assert "&lt;b&gt;corrosive&lt;/b&gt;" in page and "<b>corrosive" not in page
    assert "Recall of the product from end users (Manufacturer) 2026-11-22" in page
    assert "Amazon ASIN B0FCXZZ57X" in page and "GTIN 06901234567892" in page

