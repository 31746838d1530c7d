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


def test_the_console_filters_as_the_cli_does(sqlite_db: Database) -> None:
    """The search form and ``spotcheck listings search`` read a filter one way
    (crawlers.listings.filter_conditions): the same listings for the same filter; a value the
    form does not offer filters nothing."""
    from crawlers.listings import ListingFilter, iter_rows

    _load(sqlite_db)
    with sqlite_db.session() as s:
        for q, platform, sector in [("item 1", "", ""), ("", "mall", "textiles"),
                                    ("item", "mall", "electrical"), ("", "other", "")]:
            page = {r.title for r in search_page(s, q, platform, sector, "", "risk", 0, 100)}
            cli = {r["title"] for r in iter_rows(s, ListingFilter(
                platform=platform or None, sector=sector or None, text=q or None))} \
                if platform != "other" else set()
            assert page == cli, (q, platform, sector)
        assert len(search_page(s, "", "", "no-such-sector", "", "risk", 0, 100)) == 23
