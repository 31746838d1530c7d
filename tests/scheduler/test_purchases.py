"""Purchase tasks and the sample state machine, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from scheduler import purchases
from store.db import Database
from store.errors import Conflict, InvalidInput
from store.models import Case, PlanStatus, Purchase, PurchaseStatus
from store.settings import Settings
from tests.factory.shop import buyer_personas, small_world

NOW = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


def test_tasks_are_idempotent_and_assigned(any_db: Database, settings: Settings) -> None:
    with any_db.session() as s:
        w = small_world(s, listings=6, prohibited=1)
        buyer_personas(s, w.platform_id, settings)
    with any_db.session() as s:
        first = purchases.create_purchase_tasks(s, w.plan_id, now=NOW)
    assert len(first.created) == 5 and first.skipped[0][1].startswith("prohibited")
    assert sorted(first.assigned) == sorted(first.created)
    with any_db.session() as s:
        again = purchases.create_purchase_tasks(s, w.plan_id, now=NOW)
        assert again.created == [] and sorted(again.existing) == sorted(first.created)
        rows = list(s.scalars(select(Purchase)))
    assert len(rows) == 5
    assert {r.idempotency_key for r in rows} == {
        f"plan:{w.plan_id}:item:{r.plan_item_id}" for r in rows}
    for r in rows:
        assert r.persona_id is not None and r.scheduled_for is not None
        sched = r.scheduled_for if r.scheduled_for.tzinfo else r.scheduled_for.replace(tzinfo=dt.UTC)
        assert NOW.date() <= sched.date() <= (NOW + dt.timedelta(days=14)).date()


def test_racing_task_creation_never_duplicates(any_db: Database, settings: Settings) -> None:
    """Two schedulers create tasks for the same plan at once: one row per plan item."""
    with any_db.session() as s:
        w = small_world(s, listings=8)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            with any_db.session() as s:
                purchases.create_purchase_tasks(s, w.plan_id, now=NOW, assign=False)
        except Exception as exc:  # the loser may see a conflict; it must not create rows
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with any_db.session() as s:
        n = s.scalar(select(func.count()).select_from(Purchase))
    assert n == 8, errors


def test_unapproved_plan_refused(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        w = small_world(s, status=PlanStatus.SUBMITTED)
    with sqlite_db.session() as s, pytest.raises(Conflict, match="approved"):
        purchases.create_purchase_tasks(s, w.plan_id)


def test_full_life_cycle_with_history_and_case(any_db: Database, settings: Settings) -> None:
    with any_db.session() as s:
        w = small_world(s, listings=2)
        buyer_personas(s, w.platform_id, settings, 2)
        report = purchases.create_purchase_tasks(s, w.plan_id, now=NOW)
    pid = report.created[0]
    t = NOW
    with any_db.session() as s, pytest.raises(Conflict, match="planned; it cannot become"):
        purchases.receive_sample(s, pid, "S-1", actor="amy", at=t)
    with any_db.session() as s:
        purchases.mark_ordered(s, pid, "SBX-0-000001", "29.90", "cny", actor="amy", at=t)
        purchases.receive_sample(s, pid, "S-2026-001", seal_photo_sha256="a" * 64, actor="amy",
                                 at=t + dt.timedelta(days=5))
        purchases.send_to_lab(s, pid, "CTI Lab", actor="amy", at=t + dt.timedelta(days=6))
        with pytest.raises(InvalidInput, match="defects"):
            purchases.record_lab_result(s, pid, "fail", actor="lab")
    with any_db.session() as s:
        _result, case = purchases.record_lab_result(
            s, pid, "fail", defects=["small parts detach"], clauses=["GB 6675.2-2014 4.3"],
            third_party=True, verified=True, actor="lab", at=t + dt.timedelta(days=20))
        assert case is not None and case.kind == "failed_sample"
        assert case.jurisdiction_bureau == "杭州海关 Hangzhou Customs"
        purchases.close_purchase(s, pid, actor="amy", at=t + dt.timedelta(days=21))
    with any_db.session() as s:
        p = s.get(Purchase, pid)
        assert p is not None and p.status == PurchaseStatus.CLOSED
        assert p.price_paid == Decimal("29.90") and p.currency == "CNY"
        statuses = [h["status"] for h in p.history if "status" in h]
        assert statuses == ["planned", "ordered", "received", "sent_to_lab", "result", "closed"]
        assert all(h["by"] for h in p.history)
        # a failed sample opens one case, however often the result is looked at
        assert s.scalar(select(func.count()).select_from(Case)) == 1


def test_overdue_list(sqlite_db: Database, settings: Settings) -> None:
    with sqlite_db.session() as s:
        w = small_world(s, listings=3)
        r = purchases.create_purchase_tasks(s, w.plan_id, now=NOW, deadline_days=7, assign=False)
        purchases.mark_ordered(s, r.created[0], "O-1", 10, actor="amy", at=NOW)
    with sqlite_db.session() as s:
        assert purchases.overdue(s, now=NOW + dt.timedelta(days=6)) == []
        late = purchases.overdue(s, now=NOW + dt.timedelta(days=8))
        assert {o.stage for o in late} == {"order"} and len(late) == 2
        later = purchases.overdue(s, now=NOW + dt.timedelta(days=16))
        assert {o.stage for o in later} == {"order", "receive"}
        assert later[0].days_over >= later[-1].days_over


def test_out_of_stock_at_purchase_time_is_a_non_response(any_db: Database,
                                                         settings: Settings) -> None:
    from scheduler.buying import unbuyable_availability

    url = "https://shop.test/item/1"
    page = ('<script type="application/ld+json">{"@type": "Product", "offers": '
            '{"availability": "https://schema.org/OutOfStock"}}</script>')
    assert unbuyable_availability(page, url) == "out_of_stock"
    offer = ('<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Kettle'
             '</h1><div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span '
             'itemprop="price">9.90</span><link itemprop="availability" href="{}"></div></div>')
    assert unbuyable_availability(offer.format("http://schema.org/Discontinued"),
                                  url) == "discontinued"
    assert unbuyable_availability(offer.format("https://schema.org/InStock"), url) is None
    # A page without markup that shows it is sold out, as the crawl reads it.
    shown = ('<h1>电热水壶</h1><span class="price">¥99.00</span><p class="stock">已售罄</p>'
             '<button disabled>加入购物车</button>')
    assert unbuyable_availability(shown, url) == "out_of_stock"
    assert unbuyable_availability(shown.replace("已售罄", "有货").replace(" disabled", ""),
                                  url) is None
    with any_db.session() as s:
        w = small_world(s, listings=2)
        buyer_personas(s, w.platform_id, settings, 2)
        pid = purchases.create_purchase_tasks(s, w.plan_id, now=NOW).created[0]
    with any_db.session() as s:
        purchases.record_nonresponse(s, pid, "the listing page says out of stock", actor="amy")
    with any_db.session() as s:
        p = s.get(Purchase, pid)
        assert p is not None and p.status is PurchaseStatus.CANCELLED
        assert p.history[-1]["nonresponse"] == "the listing page says out of stock"
        # Never silently replaced: a cancelled purchase goes nowhere, and no other task
        # was made for its plan item.
        with pytest.raises(Conflict):
            purchases.replan(s, pid)
        assert s.scalar(select(func.count()).select_from(Purchase).where(
            Purchase.plan_item_id == p.plan_item_id)) == 1

def test_approving_another_version_while_one_still_buys_is_flagged(sqlite_db: Database,
                                                                   settings: Settings) -> None:
    from store.models import Plan

    with sqlite_db.session() as s:
        w = small_world(s, listings=4)
        buyer_personas(s, w.platform_id, settings)
    with sqlite_db.session() as s:
        purchases.create_purchase_tasks(s, w.plan_id, now=NOW)
        v2 = Plan(campaign_id=w.campaign_id, version=2, status=PlanStatus.APPROVED, seed=7,
                  method="srs", frame_sha256="1" * 64, frame_size=4, sample_size=2,
                  created_by="alice", reviewed_by="bob")
        s.add(v2)
        s.flush()
        flagged = purchases.open_purchases_elsewhere(s, v2.id)
        assert flagged == [{"plan": w.plan_id, "version": 1, "open_purchases": 4}]
        assert purchases.open_purchases_elsewhere(s, w.plan_id) == []  # v2 buys nothing yet
        for p in s.scalars(select(Purchase)):
            purchases.cancel_purchase(s, p.id, "superseded by v2")
        assert purchases.open_purchases_elsewhere(s, v2.id) == []


def test_a_failed_samples_case_summary_reads_its_defects_as_sentences() -> None:
    """A defect stored as {"code", "text"} reads "text (clause)" in the case summary, in the
    bureau's language, never as the Python dict it is stored as."""
    defects = [{"code": "GB 4706.1-2005 §8.1", "text": "对触及带电部件的防护不符合要求"},
               "plug pins too thin"]
    zh = purchases.failure_summary("S-1", defects, ["GB 4706.1-2005"], "zh-CN")
    assert zh == ("样品 S-1 检测不合格：对触及带电部件的防护不符合要求（GB 4706.1-2005 §8.1）；"
                  "plug pins too thin（依据：GB 4706.1-2005）")
    en = purchases.failure_summary("S-1", defects[:1], [], "en")
    assert en == "sample S-1 failed: 对触及带电部件的防护不符合要求 (GB 4706.1-2005 §8.1) (—)"
    assert "{" not in zh and "'code'" not in en


def test_the_demo_lab_cites_a_standard_that_fits_the_product() -> None:
    from types import SimpleNamespace

    from spotcheck.demo_steps import demo_defect

    def item(title: str, sector: str) -> SimpleNamespace:
        return SimpleNamespace(title=title, category=None, sector=sector)

    assert demo_defect(item("浴室除垢剂 500ml", "light_industry"))[0].startswith("GB 38508")
    assert demo_defect(item("儿童积木玩具", "light_industry"))[0].startswith("GB 6675.2")
    assert demo_defect(item("电热水壶 1.7L", "electrical"))[0].startswith("GB 4706.1")
    assert not demo_defect(item("不锈钢除垢剂", "other"))[0].startswith("GB 6675")
