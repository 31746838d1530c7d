"""Which reasons make a listing a counterfeit lead: slang in its title, or being a copy of a
product that failed elsewhere sold far below comparable prices (issue 25); a copy of a failed
product at a normal price is a take-all purchase, not a lead."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.pipeline import _counterfeit_like


def test_counterfeit_like_reasons() -> None:
    assert _counterfeit_like({"counterfeit_words"})
    assert _counterfeit_like({"product_failed", "price_low", "network"})
    assert not _counterfeit_like({"product_failed"})
    assert not _counterfeit_like({"price_low"})
    assert not _counterfeit_like(set())


@pytest.mark.browser
@pytest.mark.slow
def test_a_lead_case_captures_every_copy_of_its_product(sqlite_db: Any, settings: Any,
                                                        chromium_path: str | None) -> None:
    """The ``leads`` job opens a counterfeit case for a copy of a failed product sold far below
    comparable prices, and queues a ``copies`` run that captures every other listing of the
    product (Chromium, the sandbox) for the case; a second ``copies`` run has nothing left."""
    import datetime as dt

    from sqlalchemy import select

    from crawlers.platforms import register_sandbox_platforms
    from sampler.products import build_links
    from sandbox import Sandbox
    from scheduler.copies import COPY_PURPOSE, capture_copies
    from scheduler.runs import wait_for_queued_runs
    from scheduler.service import run_due
    from store.models import AuditEvent, Campaign, Capture, CaptureStatus, Case, JobRun
    from tests import factory
    from tests.factory.shop import sandbox_listing

    day = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    cfg = settings.model_copy(update={"capture_allow_networks": ["127.0.0.0/8"]})
    with Sandbox(seed=7, listings=150, obstacles=False) as sb:
        truth = [li for li in sb.truth(day=0)["listings"] if li["status"] == "active"
                 and li["supervision_class"] == "general" and not li["flags"]["page_quirk"]]
        picks = {code: [li for li in truth if li["platform"] == code][:2]
                 for code in ("mall", "shop")}
        with sqlite_db.session() as s:
            platforms = {p.code: p for p in register_sandbox_platforms(s, sb.urls)}
            failed = sandbox_listing(s, platforms["mall"].id, picks["mall"][0])
            lead = sandbox_listing(s, platforms["shop"].id, picks["shop"][0])
            copy = sandbox_listing(s, platforms["shop"].id, picks["shop"][1])
            other = sandbox_listing(s, platforms["mall"].id, picks["mall"][1])
            for row in (failed, lead, copy):  # one product: the same GTIN everywhere
                row.gtin = "04006381333931"
            s.flush()
            build_links(s, ["gtin"])
            factory.failed_lab(s, failed.id)
            lead.risk_score = 9.0
            lead.risk_reasons = [
                {"code": "product_failed", "points": 4, "params": {"ref": f"L{failed.id}"},
                 "en": "the same product failed elsewhere", "zh": "同款商品在别处不合格"},
                {"code": "price_low", "points": 3, "params": {"pct": 70}, "en": "cheap",
                 "zh": "低价"}]
            s.add(Campaign(name="copies", scope={"platforms": ["shop"]},
                           schedules={"leads": "0 9 * * *", "timezone": "UTC"},
                           period_start=day.date(), period_end=day.date() + dt.timedelta(days=5)))
            ids = {"failed": failed.id, "lead": lead.id, "copy": copy.id, "other": other.id}

        [run] = [r for r in run_due(sqlite_db, cfg, day + dt.timedelta(hours=9, minutes=5))
                 if r.kind == "leads"]
        assert run.outcome == "ok", run.error
        assert len(run.result["copies_queued"]) == 1
        assert wait_for_queued_runs(timeout=300)
        with sqlite_db.session() as s:
            case = s.scalar(select(Case).where(Case.listing_id == ids["lead"]))
            assert case is not None and case.kind == "counterfeit"
            caps = {c.listing_id: c for c in s.scalars(select(Capture).where(
                Capture.case_id == case.id, Capture.purpose == COPY_PURPOSE.format(
                    case=case.number)))}
            assert set(caps) == {ids["failed"], ids["copy"]}  # every other listing, not more
            assert all(c.status in CaptureStatus.evidence() for c in caps.values())
            audit = s.scalar(select(AuditEvent).where(AuditEvent.action == "case.copies",
                                                      AuditEvent.object_id == str(case.id)))
            assert audit is not None and sorted(audit.detail["listings"]) == sorted(caps)
            kinds = list(s.scalars(select(JobRun.job)))
            assert "copies" in kinds
            case_id = case.id
        again = capture_copies(sqlite_db, cfg, case_id)
        assert again["_outcome"] == "skipped"
