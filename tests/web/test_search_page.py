"""The console's listing search pages through scored listings by the risk index, then the
unscored ones: every listing once, in order, across page boundaries."""

from __future__ import annotations

import pytest

from spotcheck.web.routes.listings import search_page
from store.db import Database
from store.models import Sector
from tests import factory


def _load(db: Database) -> dict[str, float | None]:
    scores: dict[str, float | None] = {}
    with db.session() as s:
        p = factory.platform(s, "mall")
        for i in range(23):
            # two in three scored, with ties to exercise the id tie-break
            listing = factory.listing(s, p.id, f"L{i:02d}", url=f"http://x/{i}", title=f"item {i}",
                                      sector=Sector.TEXTILES if i % 2 else Sector.ELECTRICAL,
                                      risk_score=round((i * 7 % 5) / 5, 2) if i % 3 else None)
            scores[f"item {i}"] = listing.risk_score
    return scores


@pytest.mark.parametrize("page", [4, 5, 7, 50])
def test_risk_order_across_pages(any_db: Database, page: int) -> None:
    scores = _load(any_db)
    seen: list[tuple[str, float | None]] = []
    with any_db.session() as s:
        offset = 0
        while True:
            rows = search_page(s, "", "", "", "", "risk", offset, page)
            seen += [(r.title, r.risk_score) for r in rows]
            if len(rows) < page:
                break
            offset += page
        # Beyond the end: empty, not an error.
        assert search_page(s, "", "", "", "", "risk", offset + 3 * page, page) == []
        textiles = search_page(s, "", "", "textiles", "", "risk", 0, 100)
    assert sorted(t for t, _ in seen) == sorted(scores)  # every listing exactly once
    scored = [sc for _, sc in seen if sc is not None]
    assert scored == sorted(scored, reverse=True)
    assert len(scored) == sum(v is not None for v in scores.values())
    assert all(sc is None for _, sc in seen[len(scored):])  # unscored last
    assert {r.title for r in textiles} == {t for t in scores if int(t.split()[1]) % 2}
