"""Across sandbox days: changed listings get a new snapshot (and only they do), removed ones
are confirmed removed (404 on the mall, a 200 "removed" page on the shop), new ones appear."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from store.db import Database
from store.models import CrawlRun, Listing, ListingSnapshot, Platform
from store.settings import Settings
from tests.crawlers.conftest import crawl, crawled

pytestmark = pytest.mark.slow
DAY = 12


@pytest.mark.parametrize("style", ["mall", "shop"])
def test_changes_and_removals(style: str, sandbox: Any, sandbox_db: Database,
                              settings: Settings) -> None:
    first = crawl(settings, style)
    assert first.status == "finished"
    day0 = {r["external_id"]: r for r in sandbox.truth(platform=style)["listings"]}
    sandbox.set_day(DAY)
    try:
        second = crawl(settings, style)
        later = {r["external_id"]: r for r in sandbox.truth(platform=style)["listings"]}
    finally:
        sandbox.set_day(0)
    got = crawled(sandbox_db, style)

    was_active = {e for e, r in day0.items() if r["status"] == "active" and e in got}
    removed_truth = {e for e in was_active if later[e]["status"] == "removed"}
    removed_got = {e for e in was_active if got[e]["status"] == "removed"}
    assert removed_truth, "the sandbox removes some listings by day 12"
    assert removed_got == removed_truth
    assert second.removed_listings == len(removed_truth)

    changed_truth = {e for e in was_active - removed_truth
                     if (later[e]["title"], later[e]["price"]) != (day0[e]["title"],
                                                                  day0[e]["price"])}
    assert changed_truth
    with sandbox_db.session() as s:
        pid = s.scalar(select(Platform.id).where(Platform.code == style))
        versions = dict(s.execute(
            select(Listing.external_id, func.max(ListingSnapshot.version))
            .join(ListingSnapshot).where(Listing.platform_id == pid)
            .group_by(Listing.external_id)).all())
        changes = {e: c for e, c in s.execute(
            select(Listing.external_id, ListingSnapshot.changes).join(ListingSnapshot)
            .where(Listing.platform_id == pid, ListingSnapshot.version == 2))}
        run = s.get(CrawlRun, second.run_id)
        assert run is not None and run.status == "finished"
    # A new snapshot for exactly the listings whose content changed (or that were removed).
    assert {e for e in was_active if versions[e] >= 2} == changed_truth | removed_truth
    for e in changed_truth:
        expect = set()
        if later[e]["title"] != day0[e]["title"]:
            expect.add("title")
        if later[e]["price"] != day0[e]["price"]:
            expect.add("price")
        assert set(changes[e]) == expect, (e, changes[e])
    # Listings born after day 0 were found as new.
    born = {e for e, r in later.items() if r["born_day"] > 0 and r["status"] == "active"}
    assert born and born <= set(got)
    assert second.new_listings >= len(born)
