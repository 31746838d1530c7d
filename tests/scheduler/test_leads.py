"""The scheduled ``leads`` job: every prohibited or counterfeit-slang listing in the campaign's
platforms gets a case, opened with a capture of the listing (Chromium, the sandbox); listings
with a case already are left alone, and a second run finds nothing to do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from sandbox import Sandbox
from scheduler import cases
from scheduler.service import run_due
from store.db import Database
from store.models import Campaign, Capture, CaptureStatus, Case, Platform
from store.settings import Settings
from tests.factory.shop import sandbox_listing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

D = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)


@pytest.fixture()
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, listings=300, obstacles=False) as sb:
        yield sb


def test_leads_open_cases_with_evidence(sqlite_db: Database, settings: Settings,
                                        sandbox: Sandbox, chromium_path: str | None) -> None:
    from crawlers.platforms import register_sandbox_platforms

    cfg = settings.model_copy(update={"capture_allow_networks": ["127.0.0.0/8"]})
    truth = [li for li in sandbox.truth(day=0)["listings"] if li["status"] == "active"
             and li["platform"] == "shop" and not li["flags"]["page_quirk"]]
    prohibited = [li for li in truth if li["supervision_class"] == "prohibited"]
    general = [li for li in truth if li["supervision_class"] == "general"]
    assert prohibited, "the sandbox's shop should have a prohibited listing"
    with sqlite_db.session() as s:
        platforms = {p.code: p for p in register_sandbox_platforms(s, sandbox.urls)}
        shop = platforms["shop"]
        rows = [sandbox_listing(s, shop.id, li) for li in prohibited[:1] + general[:3]]
        # scored as prohibited: reasons, no size measure
        rows[0].risk_reasons = [{"code": "prohibited", "points": 0, "params":
                                 {"lead_score": 5.0}, "en": "prohibited", "zh": "禁止类"}]
        slang, plain, already = rows[1], rows[2], rows[3]
        slang.risk_score = 9.0
        slang.risk_reasons = [{"code": "counterfeit_words", "points": 4, "params": {},
                               "en": "title uses counterfeit slang", "zh": "标题含假货暗语"}]
        plain.risk_score = 8.0
        plain.risk_reasons = [{"code": "price_low", "points": 4, "params": {"pct": 70},
                               "en": "cheap", "zh": "低价"}]
        already.risk_score = 7.0
        already.risk_reasons = list(slang.risk_reasons)
        existing = cases.open_case(s, "counterfeit", listing_id=already.id, actor="amy", at=D)
        campaign = Campaign(name="leads", scope={"platforms": ["shop"]},
                            schedules={"leads": "0 9 * * *", "timezone": "UTC"},
                            period_start=D.date(), period_end=D.date() + dt.timedelta(days=5))
        s.add(campaign)
        expected = {rows[0].id: "prohibited", slang.id: "counterfeit"}
        existing_number = existing.number

    [run] = [r for r in run_due(sqlite_db, cfg, D + dt.timedelta(hours=9, minutes=5))
             if r.kind == "leads"]
    assert run.outcome == "ok", run.error
    assert len(run.result["opened"]) == 2 and run.result["uncaptured"] == []
    with sqlite_db.session() as s:
        opened = {c.listing_id: c for c in s.scalars(select(Case).where(
            Case.number != existing_number))}
        assert {lid: c.kind for lid, c in opened.items()} == expected
        for lid, case in opened.items():
            caps = list(s.scalars(select(Capture).where(Capture.case_id == case.id)))
            assert [c.status for c in caps] == [CaptureStatus.OK], lid
            assert caps[0].listing_id == lid
            assert case.jurisdiction_bureau == s.get(Platform, case.platform_id).jurisdiction_bureau
    # The next day: every lead has its case; nothing is opened twice.
    [again] = [r for r in run_due(sqlite_db, cfg, D + dt.timedelta(days=1, hours=9, minutes=5))
               if r.kind == "leads"]
    assert again.outcome == "skipped"
    with sqlite_db.session() as s:
        assert len(list(s.scalars(select(Case)))) == 3
