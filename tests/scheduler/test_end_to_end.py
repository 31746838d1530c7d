"""The campaign over simulated weeks on the sandbox, driven only by the accelerated clock.

scheduled crawl → score → draw (submitted) → a supervisor approves → purchase tasks with
personas → covert orders through Chromium with order-page captures → lab results (the
sandbox's hidden truth) → design-based estimate → a case for each failure → the half-year
report written by the scheduled statistics job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crawlers.platforms import register_sandbox_platforms
from sandbox import Sandbox
from scheduler import personas, purchases
from scheduler.service import run_due
from store.db import Database
from store.models import Campaign, Capture, Case, Listing, Plan, PlanStatus, Purchase
from store.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

D = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
SCHEDULES = {"crawl": "0 2 * * *", "score": "30 2 * * *", "draw": "0 3 * * *",
             "purchase": "0 4 * * *", "buy": "0 10 * * *", "stats": "0 12 1 1,7 *",
             "timezone": "UTC"}
PAYMENT = "PAY-E2E-SECRET-3141"


@pytest.fixture()
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, listings=300, obstacles=False) as sb:
        yield sb


def at(days: int, hh: int, mm: int = 5) -> dt.datetime:
    return D + dt.timedelta(days=days, hours=hh, minutes=mm)


def test_campaign_over_time(sqlite_db: Database, settings: Settings, sandbox: Sandbox,
                            chromium_path: str | None, caplog: pytest.LogCaptureFixture) -> None:
    from sampler.campaign_scope import create_campaign
    from sampler.plans import approve_plan, estimate_plan

    caplog.set_level("INFO")
    cfg = settings.model_copy(update={"capture_allow_networks": ["127.0.0.0/8"]})
    with sqlite_db.session() as s:
        [mall] = register_sandbox_platforms(s, {"mall": sandbox.urls["mall"]})
        mall.jurisdiction_bureau = mall.jurisdiction_bureau or "杭州海关"
        bureau = mall.jurisdiction_bureau
        for i in range(3):
            personas.create_persona(s, mall.id, f"buyer-{i}", f"e2e.buyer.{i}", "sandbox",
                                    {"name": f"收货人{i}", "phone": f"1390000000{i}",
                                     "address": f"杭州市秘密路 {i} 号"}, f"{PAYMENT}-{i}", cfg)
        c = create_campaign(s, "2026H2 toys", actor="amy", platforms=["mall"], n=6,
                            method="pivotal", allocation="risk")
        c.schedules = SCHEDULES
        cid = c.id

    def tick(when: dt.datetime) -> dict[str, str]:
        done = run_due(sqlite_db, cfg, when)
        errors = [r.error for r in done if r.outcome == "error"]
        assert not errors, errors
        return {r.kind: r.outcome for r in done}

    assert tick(at(0, 2)) == {"crawl": "ok"}
    with sqlite_db.session() as s:
        assert s.scalar(select(Listing.id).limit(1)) is not None
    assert tick(at(0, 2, 35)) == {"score": "ok"}
    assert tick(at(0, 3)) == {"draw": "ok"}
    with sqlite_db.session() as s:
        plan = s.scalar(select(Plan).where(Plan.campaign_id == cid))
        assert plan is not None and plan.status == PlanStatus.SUBMITTED
        assert plan.submitted_by == "scheduler"
        approve_plan(s, plan.id, "bob", "supervisor", "ok")
        plan_id, n_items = plan.id, len(plan.items)
    assert tick(at(0, 4)) == {"purchase": "ok"}
    with sqlite_db.session() as s:
        tasks = list(s.scalars(select(Purchase)))
        assert len(tasks) == n_items and all(p.persona_id for p in tasks)
    # two simulated weeks of daily buying; other jobs' fire times are 8 h old by then and are
    # recorded as missed (beyond the 6 h misfire grace), not run
    for day in range(1, 16):
        outcomes = tick(at(day, 10))
        assert outcomes.get("buy") in ("ok", "skipped"), outcomes
        assert outcomes.get("crawl") == "missed"
    with sqlite_db.session() as s:
        bought = list(s.scalars(select(Purchase)))
        assert {p.status.value for p in bought} == {"ordered"}, [p.history for p in bought]
        order_caps = list(s.scalars(select(Capture).where(Capture.kind == "order")))
        # one capture per order in the persona's browser, and one redacted copy of each
        # (made without the persona, for the people who may not see its details)
        originals = [c for c in order_caps if c.persona_id is not None]
        copies = [c for c in order_caps if c.persona_id is None]
        assert len(originals) == len(bought)
        assert len(copies) == len(bought)
        assert all(str(c.purpose).startswith("脱敏副本") for c in copies)
    orders = {o["order_no"]: o for o in sandbox.orders()}
    assert len(orders) == len(bought)  # one covert order per plan item, no duplicates

    # the lab: results follow the sandbox's hidden truth
    truth = {li["external_id"]: li for li in sandbox.truth(platform="mall")["listings"]}
    failed = 0
    with sqlite_db.session() as s:
        for i, p in enumerate(s.scalars(select(Purchase).order_by(Purchase.id))):
            purchases.receive_sample(s, p.id, f"S-E2E-{i}", at=at(16, 9), actor="amy")
            purchases.send_to_lab(s, p.id, "CTI", at=at(17, 9), actor="amy")
            bad = truth[p.plan_item.listing.external_id]["flags"]["noncompliant"]
            failed += bool(bad)
            purchases.record_lab_result(
                s, p.id, "fail" if bad else "pass", at=at(30, 9), actor="lab",
                defects=["不符合标准要求"] if bad else [], clauses=["GB 6675"] if bad else [])
    assert failed >= 1, "the risk-weighted sample should catch a non-compliant listing"
    with sqlite_db.session() as s:
        est = estimate_plan(s, plan_id)
        assert est["failures"] == failed and est["results"] == len(bought)
        low, high = est["overall"]["hajek_rate_ci"]
        assert 0 <= low <= est["overall"]["hajek_rate"] <= high <= 1
        case_rows = list(s.scalars(select(Case)))
        assert len(case_rows) == failed
        for case in case_rows:
            assert case.jurisdiction_bureau == bureau and case.kind == "failed_sample"
            kinds = {cap.kind for cap in s.scalars(select(Capture).where(
                Capture.case_id == case.id))}
            assert kinds == {"listing", "order"}

    # The statistics fire at noon, when the day's crawl, score, draw and purchase times are
    # past the misfire grace: the tick writes the report and crawls nothing again.
    outcomes = tick(dt.datetime(2027, 1, 1, 12, 5, tzinfo=dt.UTC))
    assert outcomes["stats"] == "ok"
    assert {k for k, v in outcomes.items() if v not in ("missed", "skipped")} == {"stats"}, \
        outcomes
    folder = cfg.reports_dir / "2026H2"
    names = {p.name for p in folder.iterdir()}
    assert {"half-year-2026H2.zh-CN.pdf", "half-year-2026H2.en.xlsx",
            "half-year-2026H2.json"} <= names
    report_text = (folder / "half-year-2026H2.json").read_text()
    assert f'"failed": {failed}' in report_text
    for path in folder.iterdir():
        assert PAYMENT.encode() not in path.read_bytes()
    assert PAYMENT not in caplog.text and "e2e.buyer." not in caplog.text
    with sqlite_db.session() as s:
        assert s.get(Campaign, cid) is not None
    assert isinstance(folder, Path)
