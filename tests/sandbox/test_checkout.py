"""Covert purchase over plain HTTP on every style; orders are queryable."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox import Sandbox

from .conftest import Pick


@pytest.mark.parametrize("platform", ["mall", "spa", "shop"])
def test_purchase_flow_records_the_order(sb: Sandbox, pick: Pick, platform: str) -> None:
    row = pick(platform=platform, flag_page_quirk=None, flag_hostile_title=False)
    before = len(sb.orders())
    with httpx.Client(base_url=sb.urls[platform], follow_redirects=True, timeout=10) as http:
        r = http.get("/checkout")
        assert r.url.path == "/login"  # must sign in first
        r = http.post("/login", data={"account": "buyer-x", "password": "wrong", "next": "/"})
        assert "error=1" in str(r.url)
        r = http.post("/login", data={"account": f"buyer-{platform}", "password": "sandbox", "next": "/cart"})
        assert r.url.path == "/cart" and "buyer-" in r.text
        http.post("/cart/add", data={"item_id": row["external_id"], "qty": "2"})
        r = http.post("/checkout", data={"name": "李四", "phone": "13900000000", "address": "北京市朝阳区1号",
                                         "payment_ref": "PAY-42"})
        assert r.status_code == 200 and r.url.path.startswith("/orders/SBX-0-")
        order_no = r.url.path.rsplit("/", 1)[1]
        assert order_no in r.text and row["seller_name"] in r.text
    orders: list[dict[str, Any]] = sb.orders()
    assert len(orders) == before + 1
    o = orders[-1]
    assert o["order_no"] == order_no and o["platform"] == platform
    assert o["external_id"] == row["external_id"] and o["seller_id"] == row["seller_id"]
    assert o["currency"] == row["currency"] and o["quantity"] == 2
    from decimal import Decimal

    assert Decimal(o["price_paid"]) == 2 * Decimal(row["price"])
    assert o["payment_ref"] == "PAY-42" and o["shipping"]["address"] == "北京市朝阳区1号"
    admin = httpx.get(f"{sb.urls[platform]}/admin/orders").json()
    assert order_no in {a["order_no"] for a in admin}


def test_orders_are_private_to_their_account(sb: Sandbox, pick: Pick) -> None:
    row = pick(platform="mall", flag_page_quirk=None)
    with httpx.Client(base_url=sb.urls["mall"], follow_redirects=True) as a, \
            httpx.Client(base_url=sb.urls["mall"], follow_redirects=True) as b:
        a.post("/login", data={"account": "alice", "password": "sandbox"})
        a.post("/cart/add", data={"item_id": row["external_id"]})
        r = a.post("/checkout", data={"name": "A", "phone": "1", "address": "X", "payment_ref": "P"})
        path = r.url.path
        b.post("/login", data={"account": "bob", "password": "sandbox"})
        assert b.get(path).status_code == 404
        assert a.get(path).status_code == 200


def test_a_removed_listing_cannot_be_bought() -> None:
    with Sandbox(seed=7, listings=600, obstacles=False) as sb:
        t = sb.truth(day=40)
        row = next(r for r in t["listings"] if r["platform"] == "mall" and r["status"] == "removed")
        sb.set_day(40)
        with httpx.Client(base_url=sb.urls["mall"]) as http:
            r = http.post("/cart/add", data={"item_id": row["external_id"]})
            assert r.status_code == 409
