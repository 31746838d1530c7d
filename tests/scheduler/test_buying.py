"""Covert purchases through Chromium on the sandbox: ordered once, captured, secrets kept."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text

from sandbox import Sandbox
from scheduler import buying, personas, purchases
from store.db import Database
from store.errors import Conflict
from store.models import Capture, CaptureStatus, JobRun, Purchase, PurchaseStatus
from store.settings import Settings
from tests.conftest import page_handler, serve_http
from tests.factory.shop import pick, sandbox_plan

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET_ACCOUNT = "covert.buyer.0451"
SECRETS = {"name": "王秘密", "phone": "13912345678", "address": "上海市黄浦区秘密路 88 号 1201 室"}
PAYMENT = "PAY-SECRET-99172"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=11, listings=300, obstacles=False) as sb:
        yield sb


@pytest.fixture()
def world(sqlite_db: Database, settings: Settings, sandbox: Sandbox,
          chromium_path: str | None) -> tuple[Settings, list[int]]:
    return make_world(sqlite_db, settings, sandbox)


def make_world(db: Database, settings: Settings, sandbox: Sandbox,
               ) -> tuple[Settings, list[int]]:
    """An approved plan of three sandbox listings, two personas, three purchase tasks: the
    settings to buy with (captures allowed on localhost) and the purchase ids."""
    s2 = settings.model_copy(update={"capture_allow_networks": ["127.0.0.0/8"]})
    chosen = pick(sandbox.truth(platform="mall"), "mall", 3)
    with db.session() as s:
        platform_id, plan_id, _ = sandbox_plan(s, sandbox.urls, chosen)
        personas.create_persona(s, platform_id, "buyer-1", SECRET_ACCOUNT, "sandbox",
                                SECRETS, PAYMENT, s2)
        personas.create_persona(s, platform_id, "buyer-2", "covert.buyer.0452", "sandbox",
                                SECRETS | {"name": "李秘密"}, PAYMENT + "-2", s2)
        report = purchases.create_purchase_tasks(s, plan_id, now=dt.datetime.now(dt.UTC))
        assert len(report.assigned) == 3
    return s2, sorted(report.created)


def secret_strings() -> list[str]:
    return [SECRET_ACCOUNT, PAYMENT, *SECRETS.values()]


def test_buy_orders_once_captures_and_keeps_secrets(
        sqlite_db: Database, world: tuple[Settings, list[int]], sandbox: Sandbox,
        caplog: pytest.LogCaptureFixture) -> None:
    settings, ids = world
    before = len(sandbox.orders())
    caplog.set_level(logging.DEBUG)
    result = buying.buy(sqlite_db, ids[0], settings, actor="amy")
    assert result.status == "ordered", result
    orders = sandbox.orders()[before:]
    assert len(orders) == 1
    order = orders[0]
    with sqlite_db.session() as s:
        p = s.get(Purchase, ids[0])
        assert p is not None
        persona_account = personas.secrets_of(s, p.persona_id or 0, settings).account
        listing_ext = p.plan_item.listing.external_id
        assert p.status == PurchaseStatus.ORDERED and p.order_number == order["order_no"]
        assert p.price_paid == Decimal(order["price_paid"]) and p.currency == order["currency"]
        caps = {c.kind: c for c in s.scalars(select(Capture).where(Capture.purchase_id == p.id))}
    assert order["account"] == persona_account and order["external_id"] == listing_ext
    assert order["payment_ref"].startswith(PAYMENT)
    assert set(caps) == {"listing", "order"}
    assert all(c.status == CaptureStatus.OK and c.manifest_sha256 for c in caps.values())
    assert caps["order"].url.endswith(f"/orders/{order['order_no']}")

    # buying again finds the order: no second order on the platform
    again = buying.buy(sqlite_db, ids[0], settings, actor="amy")
    assert again.order_number == result.order_number
    assert len(sandbox.orders()) == before + 1

    # persona secrets never reach the logs, the job records or the audit log
    with sqlite_db.engine.connect() as conn:
        records = repr(conn.execute(text("SELECT * FROM job_run")).all()) + \
            repr(conn.execute(text("SELECT * FROM audit_event")).all()) + \
            repr(conn.execute(text("SELECT history FROM purchase")).all())
    for secret in secret_strings():
        assert secret not in caplog.text, secret
        assert secret not in records, secret


def test_two_buyers_racing_place_one_order(
        sqlite_db: Database, world: tuple[Settings, list[int]], sandbox: Sandbox) -> None:
    settings, ids = world
    before = len(sandbox.orders())
    outcomes: list[Any] = []
    barrier = threading.Barrier(2)

    def go(i: int) -> None:
        barrier.wait()
        try:
            outcomes.append(buying.buy(sqlite_db, ids[1], settings, holder=f"sched-{i}"))
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sandbox.orders()) == before + 1
    assert sorted(type(o).__name__ for o in outcomes) == ["BuyResult", "Conflict"]


def test_a_batch_shares_one_browser_and_keeps_each_persona_in_its_own_context(
        sqlite_db: Database, world: tuple[Settings, list[int]], sandbox: Sandbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Three orders by two personas in one batch: one Chromium launch, and each order in a
    fresh context: the sandbox sees a new session per order (cart and login of its own),
    logged in as that order's persona only; with one context for the batch the second
    order would have run in the first persona's session."""
    from store import chromium

    settings, ids = world
    launches: list[int] = []
    real_launch = chromium.launch

    async def counted(*args: Any, **kwargs: Any) -> Any:
        launches.append(1)
        return await real_launch(*args, **kwargs)

    monkeypatch.setattr(chromium, "launch", counted)
    before_orders = len(sandbox.orders())
    before_sessions = list(sandbox.state.sessions)
    # ids[0] twice: the second time it is reported as ordered, not bought again
    outcomes = buying.buy_many(sqlite_db, [*ids, ids[0]], settings, actor="amy",
                               capture=False)
    assert launches == [1]
    results = [o for o in outcomes if isinstance(o, buying.BuyResult)]
    assert len(results) == 4, outcomes
    assert [r.status for r in results] == ["ordered"] * 4
    assert results[3].notes == ["already ordered"]
    assert results[3].order_number == results[0].order_number
    orders = {o["order_no"]: o for o in sandbox.orders()[before_orders:]}
    assert len(orders) == 3
    with sqlite_db.session() as s:
        accounts = []
        for r in results[:3]:
            p = s.get(Purchase, r.purchase_id)
            assert p is not None
            account = personas.secrets_of(s, p.persona_id or 0, settings).account
            assert orders[r.order_number or ""]["account"] == account
            accounts.append(account)
    assert len(set(accounts)) == 2  # both personas bought in the batch
    new = [sandbox.state.sessions[t] for t in sandbox.state.sessions
           if t not in before_sessions]
    assert [sess.account for sess in new] == accounts  # a session of its own per order
    assert all(sess.cart == [] for sess in new)


def test_unavailable_listing_fails_cleanly_and_may_be_retried(
        sqlite_db: Database, world: tuple[Settings, list[int]], sandbox: Sandbox) -> None:
    settings, ids = world
    with sqlite_db.session() as s:
        p = s.get(Purchase, ids[2])
        assert p is not None
        p.plan_item.listing.url = p.plan_item.listing.url.replace("/item/", "/item/gone-")
    before = len(sandbox.orders())
    result = buying.buy(sqlite_db, ids[2], settings, capture=False)
    assert result.status == "failed" and result.error
    assert len(sandbox.orders()) == before
    with sqlite_db.session() as s:
        p = s.get(Purchase, ids[2])
        assert p is not None and p.status == PurchaseStatus.FAILED
        runs = list(s.scalars(select(JobRun).where(JobRun.job == "buy",
                                                   JobRun.key.like(f"buy:{p.idempotency_key}:%"))))
        assert [(r.outcome, r.result.get("safe_to_retry")) for r in runs] == [("error", True)]
        purchases.replan(s, p.id)
    # an attempt that died after "place order" blocks retries until a person releases it
    with sqlite_db.engine.begin() as conn:
        conn.execute(text("UPDATE job_run SET outcome='running' WHERE job='buy' AND key LIKE "
                          ":k"), {"k": "buy:plan:%:item:%:1"})
    with pytest.raises(Conflict, match="has not finished"):
        buying.buy(sqlite_db, ids[2], settings, capture=False)
    released = buying.release_attempt(sqlite_db, ids[2], "checked the orders page: none",
                                      actor="amy")
    assert len(released) >= 1
    again = buying.buy(sqlite_db, ids[2], settings, capture=False)
    assert again.status == "failed" and again.attempt and again.attempt.endswith(":2")


def test_a_listing_shown_sold_out_at_purchase_is_a_non_response_with_its_reason(
        sqlite_db: Database, world: tuple[Settings, list[int]], sandbox: Sandbox) -> None:
    # The listing's page now shows it sold out (no markup: a stock note and a disabled buy
    # button, as the crawl reads them): nothing is ordered, the plan item is a non-response
    # with the reason, and no other listing takes its place.
    settings, ids = world
    sold_out = ('<html lang="zh-CN"><body><h1>电热水壶 1.7L</h1><span class="price">¥99.00</span>'
                '<p class="stock">已售罄</p><button disabled>加入购物车</button></body></html>')
    before = len(sandbox.orders())
    with serve_http(page_handler(sold_out)) as url:
        with sqlite_db.session() as s:
            p = s.get(Purchase, ids[1])
            assert p is not None
            p.plan_item.listing.url = url + "item/sold-out"
        result = buying.buy(sqlite_db, ids[1], settings, capture=False)
    assert result.status == "cancelled" and result.notes == ["non-response"], result
    assert len(sandbox.orders()) == before
    with sqlite_db.session() as s:
        p = s.get(Purchase, ids[1])
        assert p is not None and p.status == PurchaseStatus.CANCELLED
        reason = p.history[-1]["nonresponse"]
        assert reason == result.error and reason
        assert s.scalar(select(func.count()).select_from(Purchase).where(
            Purchase.plan_item_id == p.plan_item_id)) == 1
